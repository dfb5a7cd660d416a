/* export_pprof.c: `allocguard export --format pprof`: one snapshot as a gzip'd
 * profile.proto (github.com/google/pprof/proto/profile.proto) with pprof's heap sample
 * types, mappings with build-ids, and locations already symbolized (an address with
 * inlined calls is one location with several lines, innermost first).  First the profile
 * is collected into plain tables, then packed with protobuf-c and gzip'd with zlib. */
#include "exports.h"
#include "htab.h"
#include "profile.pb-c.h"
#include "sites.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef Perftools__Profiles__Profile pb_profile_t;
typedef Perftools__Profiles__ValueType pb_vtype_t;
typedef Perftools__Profiles__Sample pb_sample_t;
typedef Perftools__Profiles__Label pb_label_t;
typedef Perftools__Profiles__Mapping pb_mapping_t;
typedef Perftools__Profiles__Location pb_location_t;
typedef Perftools__Profiles__Line pb_line_t;
typedef Perftools__Profiles__Function pb_function_t;

/* A growable array of pointers; the profile's repeated fields are exactly this. */
typedef struct {
	void **v;
	size_t n, cap;
} vec_t;

static int vec_push(vec_t *a, void *p)
{
	if (!p)
		return ENOMEM;
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 64;
		void **nv = realloc(a->v, nc * sizeof *nv);
		if (!nv) {
			free(p);
			return ENOMEM;
		}
		a->v = nv;
		a->cap = nc;
	}
	a->v[a->n++] = p;
	return 0;
}

typedef struct {
	pb_profile_t p;
	vec_t strings, functions, locations, mappings, samples, vtypes;
	htab_t str_map, fn_map, loc_map;   /* by hash: string index; function index; location id */
	symbols_t *sym;
	const ag_log_t *log;
	uint64_t *mod_ids;           /* per log module: its mapping id (duplicates share) */
	uint64_t jit_mapping;
} pp_t;

/* Index of s in the string table, adding it. -1 on ENOMEM. */
static int64_t str_id(pp_t *c, const char *s)
{
	if (!s)
		s = "";
	uint64_t h = htab_str(s, 0), v;
	for (size_t pos = HTAB_START; htab_find(&c->str_map, h, &pos, &v);)
		if (strcmp(c->strings.v[v], s) == 0)
			return (int64_t)v;
	if (vec_push(&c->strings, strdup(s)) || htab_put(&c->str_map, h, c->strings.n - 1))
		return -1;
	return (int64_t)c->strings.n - 1;
}

/* Function id for (name, file); 0 on ENOMEM. */
static uint64_t fn_id(pp_t *c, const char *name, const char *file)
{
	int64_t ni = str_id(c, name), fi = str_id(c, file);
	if (ni < 0 || fi < 0)
		return 0;
	uint64_t h = htab_mix((uint64_t)ni * 0x9e3779b97f4a7c15ULL + (uint64_t)fi), v;
	for (size_t pos = HTAB_START; htab_find(&c->fn_map, h, &pos, &v);) {
		pb_function_t *f = c->functions.v[v];
		if (f->name == ni && f->filename == fi)
			return f->id;
	}
	pb_function_t *f = malloc(sizeof *f);
	if (f) {
		perftools__profiles__function__init(f);
		f->id = c->functions.n + 1;
		f->name = f->system_name = ni;
		f->filename = fi;
	}
	if (vec_push(&c->functions, f) || htab_put(&c->fn_map, h, c->functions.n - 1))
		return 0;
	return f->id;
}

static uint64_t mapping_of(pp_t *c, const ag_frame_t *f)
{
	if (!f->module)
		return 0;
	for (size_t i = 0; i < c->log->nmodules; i++)
		if (c->log->modules[i].path == f->module)
			return c->mod_ids[i];
	if (!f->jit)
		return 0;
	if (!c->jit_mapping) {
		/* node's JIT code: no file to symbolize from, the names are already here */
		pb_mapping_t *m = malloc(sizeof *m);
		if (m) {
			perftools__profiles__mapping__init(m);
			m->id = c->mappings.n + 1;
			m->filename = str_id(c, "[jit]");
			m->has_functions = 1;
		}
		if (vec_push(&c->mappings, m))
			return 0;
		c->jit_mapping = m->id;
	}
	return c->jit_mapping;
}

/* Location id of a recorded address; 0 on ENOMEM. */
static uint64_t loc_id(pp_t *c, uint64_t addr)
{
	uint64_t id;
	if (htab_get(&c->loc_map, addr, &id))
		return id;
	const ag_frame_t *fr[EXPORT_MAX_INLINE];
	size_t nf = export_frames(c->sym, addr, fr, EXPORT_MAX_INLINE);
	if (!nf)
		return 0;
	pb_location_t *l = calloc(1, sizeof *l);
	pb_line_t **lines = calloc(nf, sizeof *lines);
	if (!l || !lines) {
		free(l);
		free(lines);
		return 0;
	}
	perftools__profiles__location__init(l);
	l->line = lines;
	l->id = c->locations.n + 1;
	l->address = addr;
	l->mapping_id = mapping_of(c, fr[0]);
	for (size_t k = 0; k < nf; k++) {
		char name[1024];
		export_frame_name(fr[k], name, sizeof name);
		pb_line_t *ln = malloc(sizeof *ln);
		if (!ln)
			break;
		perftools__profiles__line__init(ln);
		ln->function_id = fn_id(c, name, fr[k]->path ? fr[k]->path : fr[k]->file);
		ln->line = fr[k]->line;
		lines[l->n_line++] = ln;
		if (!ln->function_id)
			break;
	}
	if (vec_push(&c->locations, l) || htab_put(&c->loc_map, addr, l->id))
		return 0;
	return l->id;
}

static int add_mappings(pp_t *c)
{
	const ag_log_t *log = c->log;
	c->mod_ids = calloc(log->nmodules + 1, sizeof *c->mod_ids);
	if (!c->mod_ids)
		return ENOMEM;
	for (size_t i = 0; i < log->nmodules; i++) {
		const ag_module_t *md = &log->modules[i];
		/* a module re-sent after a dlopen is the same mapping */
		for (size_t k = 0; k < i && !c->mod_ids[i]; k++)
			if (log->modules[k].lo == md->lo && strcmp(log->modules[k].path, md->path) == 0)
				c->mod_ids[i] = c->mod_ids[k];
		if (c->mod_ids[i])
			continue;
		pb_mapping_t *m = malloc(sizeof *m);
		if (m) {
			perftools__profiles__mapping__init(m);
			m->id = c->mappings.n + 1;
			m->memory_start = md->lo;
			m->memory_limit = md->hi;
			m->file_offset = md->lo - md->bias;
			m->filename = str_id(c, md->path);
			m->build_id = str_id(c, md->build_id);
			m->has_functions = m->has_filenames = m->has_line_numbers = 1;
		}
		if (vec_push(&c->mappings, m))
			return ENOMEM;
		c->mod_ids[i] = m->id;
	}
	return 0;
}

static int add_samples(pp_t *c, const ag_stackval_t *st)
{
	const ag_log_t *log = c->log;
	int64_t kind_key = str_id(c, "kind");
	for (size_t i = 0; i < log->nstacks; i++) {
		const ag_stack_t *s = &log->stacks[i];
		int64_t v[EXPORT_NSAMPLE];
		int any = 0;
		for (int k = 0; k < EXPORT_NSAMPLE; k++) {
			v[k] = (int64_t)export_sample_value(&st[i], (export_sample_t)k);
			any |= v[k] != 0;
		}
		if (!any)
			continue;
		pb_sample_t *sm = calloc(1, sizeof *sm);
		if (vec_push(&c->samples, sm))
			return ENOMEM;
		perftools__profiles__sample__init(sm);
		sm->value = malloc(sizeof v);
		sm->location_id = calloc(s->nframes + 1, sizeof *sm->location_id);
		sm->label = calloc(1, sizeof *sm->label);
		sm->label[0] = malloc(sizeof *sm->label[0]);
		if (!sm->value || !sm->location_id || !sm->label || !sm->label[0])
			return ENOMEM;
		memcpy(sm->value, v, sizeof v);
		sm->n_value = EXPORT_NSAMPLE;
		for (uint32_t k = 0; k < s->nframes; k++) {
			uint64_t id = loc_id(c, s->frames[k]);
			if (!id)
				return ENOMEM;
			sm->location_id[sm->n_location_id++] = id;
		}
		/* heap, mmap or swap: lets `pprof -tagfocus kind=mmap` pick one kind */
		perftools__profiles__label__init(sm->label[0]);
		sm->label[0]->key = kind_key;
		sm->label[0]->str = str_id(c, site_kind_name(s->kind));
		sm->n_label = 1;
	}
	return 0;
}

static void pp_free(pp_t *c)
{
	for (size_t i = 0; i < c->strings.n; i++)
		free(c->strings.v[i]);
	for (size_t i = 0; i < c->functions.n; i++)
		free(c->functions.v[i]);
	for (size_t i = 0; i < c->mappings.n; i++)
		free(c->mappings.v[i]);
	for (size_t i = 0; i < c->vtypes.n; i++)
		free(c->vtypes.v[i]);
	for (size_t i = 0; i < c->locations.n; i++) {
		pb_location_t *l = c->locations.v[i];
		for (size_t k = 0; k < l->n_line; k++)
			free(l->line[k]);
		free(l->line);
		free(l);
	}
	for (size_t i = 0; i < c->samples.n; i++) {
		pb_sample_t *s = c->samples.v[i];
		free(s->value);
		free(s->location_id);
		if (s->label)
			free(s->label[0]);
		free(s->label);
		free(s);
	}
	free(c->strings.v);
	free(c->functions.v);
	free(c->mappings.v);
	free(c->vtypes.v);
	free(c->locations.v);
	free(c->samples.v);
	htab_free(&c->str_map);
	htab_free(&c->fn_map);
	htab_free(&c->loc_map);
	free(c->mod_ids);
	free(c->p.period_type);
	free(c->p.comment);
}

static pb_vtype_t *vtype(pp_t *c, const char *type, const char *unit)
{
	pb_vtype_t *t = malloc(sizeof *t);
	if (!t)
		return NULL;
	perftools__profiles__value_type__init(t);
	t->type = str_id(c, type);
	t->unit = str_id(c, unit);
	return t;
}

static int collect(pp_t *c, size_t snap, export_sample_t def)
{
	const ag_log_t *log = c->log;
	pb_profile_t *p = &c->p;
	if (str_id(c, "") != 0)
		return ENOMEM;
	for (int k = 0; k < EXPORT_NSAMPLE; k++)
		if (vec_push(&c->vtypes, vtype(c, export_sample_name((export_sample_t)k),
					       export_sample_unit((export_sample_t)k))))
			return ENOMEM;
	p->period_type = vtype(c, "space", "bytes");
	if (!p->period_type)
		return ENOMEM;
	/* sampled logs already carry unbiased estimates, so every sample stands for itself */
	uint64_t rate = log_option_u64(log, "sample", 0);
	p->period = rate ? (int64_t)rate : 1;
	p->default_sample_type = str_id(c, export_sample_name(def));
	const ag_snap_t *s = &log->snaps[snap];
	p->time_nanos = (int64_t)(log->start_ns + s->t_ns);
	p->duration_nanos = (int64_t)s->t_ns;
	char note[512];
	snprintf(note, sizeof note, "allocguard snapshot %llu (%s) of %s",
		 (unsigned long long)s->seq, s->reason, log->path);
	p->comment = malloc(sizeof *p->comment);
	if (!p->comment)
		return ENOMEM;
	p->comment[0] = str_id(c, note);
	p->n_comment = 1;
	int rc = add_mappings(c);
	if (rc)
		return rc;
	ag_stackval_t *st = log_state_at(log, snap);
	if (!st)
		return ENOMEM;
	rc = add_samples(c, st);
	free(st);
	if (rc)
		return rc;
	p->sample_type = (pb_vtype_t **)c->vtypes.v;
	p->n_sample_type = c->vtypes.n;
	p->sample = (pb_sample_t **)c->samples.v;
	p->n_sample = c->samples.n;
	p->mapping = (pb_mapping_t **)c->mappings.v;
	p->n_mapping = c->mappings.n;
	p->location = (pb_location_t **)c->locations.v;
	p->n_location = c->locations.n;
	p->function = (pb_function_t **)c->functions.v;
	p->n_function = c->functions.n;
	p->string_table = (char **)c->strings.v;
	p->n_string_table = c->strings.n;
	return 0;
}

/* gzip (not raw deflate): what pprof and the profile stores expect on the wire.  The
 * fastest level: on a profile of a million sites level 9 took 90% of the export (30x level
 * 1's time) for an output 3% smaller (none at all than level 6's). */
static int write_gzip(const uint8_t *buf, size_t len, FILE *out)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return ENOMEM;
	unsigned char chunk[65536];
	z.next_in = (unsigned char *)buf;
	z.avail_in = (uInt)len;
	int zr, rc = 0;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof chunk;
		zr = deflate(&z, Z_FINISH);
		size_t n = sizeof chunk - z.avail_out;
		if (n && fwrite(chunk, 1, n, out) != n) {
			rc = EIO;
			break;
		}
	} while (zr == Z_OK);
	if (!rc && zr != Z_STREAM_END)
		rc = EIO;
	deflateEnd(&z);
	return rc;
}

int export_pprof(const ag_log_t *log, symbols_t *sym, size_t snap, export_sample_t def,
		 FILE *out)
{
	pp_t c;
	memset(&c, 0, sizeof c);
	perftools__profiles__profile__init(&c.p);
	c.sym = sym;
	c.log = log;
	int rc = collect(&c, snap, def);
	if (!rc) {
		size_t len = perftools__profiles__profile__get_packed_size(&c.p);
		uint8_t *buf = malloc(len ? len : 1);
		if (!buf)
			rc = ENOMEM;
		else {
			perftools__profiles__profile__pack(&c.p, buf);
			rc = write_gzip(buf, len, out);
			free(buf);
		}
	}
	pp_free(&c);
	return rc;
}
