/* diff.c: `allocguard diff A[@N] B[@M]`: live bytes per call site in one snapshot against
 * another, of the same run or of two runs.  Sites are matched by their symbolized frames
 * (function, file, line; module+offset without symbols), never by raw address, so two
 * runs under ASLR line up. */
#include "reports.h"
#include "sites.h"
#include "table.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int diff_parse_spec(const char *spec, char **path, char **which)
{
	*which = NULL;
	const char *at = strrchr(spec, '@');
	if (at && at[1] && access(spec, F_OK) != 0) {
		for (const char *c = at + 1; *c; c++)
			if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
				return EINVAL;
		*which = strdup(at + 1);
		*path = strndup(spec, (size_t)(at - spec));
		if (!*which) {
			free(*path);
			*path = NULL;
		}
	} else {
		*path = strdup(spec);
	}
	return *path ? 0 : ENOMEM;
}

typedef diff_path_t keyed_t;

/* By site, each site's largest path first. */
static int keyed_cmp(const void *a, const void *b)
{
	const keyed_t *x = a, *y = b;
	int c = site_hash_cmp(&x->h, &y->h);
	if (c)
		return c;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* A site of one side: its paths v[lo..hi) and their sums. */
typedef struct {
	size_t lo, hi;
	uint64_t bytes, count;
} span_t;

/* Live figures at snapshot k, summed per site and sorted by the site's hash.  Replays only
 * the L records (a stack's last value up to k wins), so time follows the log's records and
 * memory the number of stacks; sites are matched by 128-bit hashes of their keys, not by
 * strings, so a million sites cost a few tens of MB. */
static int collect(const ag_log_t *log, size_t k, symbols_t *sym, keyed_t **out,
		   span_t **spans, size_t *n)
{
	uint64_t (*live)[2] = calloc(log->nstacks + 1, sizeof *live);
	keyed_t *v = NULL;
	size_t m = 0;
	if (!live)
		return ENOMEM;
	for (size_t s = 0; s <= k && s < log->nsnaps; s++)
		for (size_t i = 0; i < log->snaps[s].nl; i++) {
			const ag_lrec_t *l = &log->snaps[s].l[i];
			live[l->stack][0] = l->live_bytes;
			live[l->stack][1] = l->live_count;
		}
	for (size_t i = 0; i < log->nstacks; i++)
		m += live[i][0] || live[i][1];
	v = calloc(m + 1, sizeof *v);
	span_t *sp = calloc(m + 1, sizeof *sp);
	if (!v || !sp) {
		free(live);
		free(v);
		free(sp);
		return ENOMEM;
	}
	m = 0;
	for (size_t i = 0; i < log->nstacks; i++) {
		if (!live[i][0] && !live[i][1])
			continue;
		v[m].bytes = live[i][0];
		v[m].count = live[i][1];
		v[m].stack = (uint32_t)i;
		site_identity(sym, &log->stacks[i], &v[m].h);
		m++;
	}
	free(live);
	qsort(v, m, sizeof *v, keyed_cmp);
	size_t j = 0;
	for (size_t i = 0; i < m; i++) {
		if (!j || site_hash_cmp(&v[sp[j - 1].lo].h, &v[i].h) != 0)
			sp[j++] = (span_t){ i, i, 0, 0 };
		span_t *x = &sp[j - 1];
		x->hi = i + 1;
		x->bytes = ag_sat_add(x->bytes, v[i].bytes);
		x->count = ag_sat_add(x->count, v[i].count);
	}
	*out = v;
	*spans = sp;
	*n = j;
	return 0;
}

static int delta_cmp(const void *a, const void *b)
{
	const diff_site_t *x = a, *y = b;
	uint64_t ax = x->dbytes < 0 ? (uint64_t)0 - (uint64_t)x->dbytes : (uint64_t)x->dbytes;
	uint64_t ay = y->dbytes < 0 ? (uint64_t)0 - (uint64_t)y->dbytes : (uint64_t)y->dbytes;
	if (ax != ay)
		return ax > ay ? -1 : 1;
	if (x->dbytes != y->dbytes)
		return x->dbytes > y->dbytes ? -1 : 1;
	if (x->dcount != y->dcount)
		return x->dcount > y->dcount ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* b - a, saturated to the int64 range rather than wrapped. */
static int64_t sub(uint64_t b, uint64_t a)
{
	if (b >= a)
		return b - a > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)(b - a);
	return a - b > (uint64_t)INT64_MAX ? -INT64_MAX : -(int64_t)(a - b);
}

static int64_t add_sat(int64_t x, int64_t y)
{
	if (y > 0 && x > INT64_MAX - y)
		return INT64_MAX;
	if (y < 0 && x < -INT64_MAX - y)
		return -INT64_MAX;
	return x + y;
}

void diff_free(diff_t *d)
{
	free(d->sites);
	free(d->pa);
	free(d->pb);
	memset(d, 0, sizeof *d);
}

int diff_collect(const ag_log_t *a, size_t snap_a, symbols_t *sa, const ag_log_t *b,
		 size_t snap_b, symbols_t *sb, diff_t *out)
{
	memset(out, 0, sizeof *out);
	out->a = (diff_side_t){ a, snap_a, sa };
	out->b = (diff_side_t){ b, snap_b, sb };
	out->sampled = log_sampled(a) || log_sampled(b);
	keyed_t *ka = NULL, *kb = NULL;
	span_t *xa = NULL, *xb = NULL;
	size_t na = 0, nb = 0;
	int rc = collect(a, snap_a, sa, &ka, &xa, &na);
	if (!rc)
		rc = collect(b, snap_b, sb, &kb, &xb, &nb);
	diff_site_t *d = rc ? NULL : calloc(na + nb + 1, sizeof *d);
	if (rc || !d) {
		free(ka);
		free(kb);
		free(xa);
		free(xb);
		return rc ? rc : ENOMEM;
	}
	size_t nd = 0, i = 0, j = 0;
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : site_hash_cmp(&ka[xa[i].lo].h, &kb[xb[j].lo].h);
		const span_t *p = c < 0 ? &xa[i] : &xb[j];
		const keyed_t *pk = c < 0 ? ka : kb;
		uint64_t ab = c <= 0 ? xa[i].bytes : 0, ac = c <= 0 ? xa[i].count : 0;
		uint64_t bb = c >= 0 ? xb[j].bytes : 0, bc = c >= 0 ? xb[j].count : 0;
		diff_site_t x = { sub(bb, ab), sub(bc, ac), ab, bb, c < 0 ? a : b, c < 0 ? sa : sb,
				  pk[p->lo].stack, pk + p->lo, p->hi - p->lo };
		i += c <= 0;
		j += c >= 0;
		if (x.dbytes || x.dcount)
			d[nd++] = x;
	}
	free(xa);
	free(xb);
	out->pa = ka;
	out->pb = kb;
	qsort(d, nd, sizeof *d, delta_cmp);
	for (size_t k = 0; k < nd; k++) {
		out->delta_bytes = add_sat(out->delta_bytes, d[k].dbytes);
		out->delta_count = add_sat(out->delta_count, d[k].dcount);
	}
	out->sites = d;
	out->nsites = nd;
	return 0;
}

static void json_side(json_t *j, const char *key, const diff_side_t *s)
{
	json_key(j, key);
	json_obj(j);
	json_key(j, "log");
	json_str(j, s->log->path);
	json_key(j, "snapshot");
	json_u64(j, s->log->snaps[s->snap].seq);
	if (s->log->snaps[s->snap].label[0]) {
		json_key(j, "label");
		json_str(j, s->log->snaps[s->snap].label);
	}
	json_obj_end(j);
}

static void diff_json(const diff_t *d, size_t top, FILE *out)
{
	json_t jw;
	json_init(&jw, out);
	json_obj(&jw);
	json_side(&jw, "a", &d->a);
	json_side(&jw, "b", &d->b);
	json_key(&jw, "total");
	json_obj(&jw);
	json_key(&jw, "delta_bytes");
	json_i64(&jw, d->delta_bytes);
	json_key(&jw, "delta_count");
	json_i64(&jw, d->delta_count);
	json_obj_end(&jw);
	json_key(&jw, "sites");
	json_arr(&jw);
	for (size_t k = 0; k < d->nsites && (!top || k < top); k++) {
		const diff_site_t *x = &d->sites[k];
		json_obj(&jw);
		json_key(&jw, "delta_bytes");
		json_i64(&jw, x->dbytes);
		json_key(&jw, "delta_count");
		json_i64(&jw, x->dcount);
		json_key(&jw, "a_bytes");
		json_u64(&jw, x->a_bytes);
		json_key(&jw, "b_bytes");
		json_u64(&jw, x->b_bytes);
		json_key(&jw, "kind");
		json_str(&jw, site_kind_name(x->log->stacks[x->stack].kind));
		json_key(&jw, "site");
		site_json_site(&jw, x->sym, &x->log->stacks[x->stack]);
		site_json_frames(&jw, x->sym, &x->log->stacks[x->stack]);
		json_key(&jw, "paths");
		json_arr(&jw);
		for (size_t p = 0; p < x->npaths; p++) {
			json_obj(&jw);
			json_key(&jw, "bytes");
			json_u64(&jw, x->paths[p].bytes);
			json_key(&jw, "count");
			json_u64(&jw, x->paths[p].count);
			site_json_frames(&jw, x->sym, &x->log->stacks[x->paths[p].stack]);
			json_obj_end(&jw);
		}
		json_arr_end(&jw);
		json_obj_end(&jw);
	}
	json_arr_end(&jw);
	json_obj_end(&jw);
	json_done(&jw);
}

static void diff_path(const void *arg, size_t k, uint32_t *stack, char *buf, size_t len)
{
	const diff_site_t *x = arg;
	*stack = x->paths[k].stack;
	size_str(x->paths[k].bytes, buf, len);
}

/* Under a site of several paths: the paths of the side shown, with their live bytes. */
static void diff_paths(table_t *t, const diff_site_t *x, const site_view_t *view)
{
	if (x->npaths < 2)
		site_more(t, x->sym, view, &x->log->stacks[x->stack]);
	else
		site_more_each(t, x->log, x->sym, view, x->npaths, x->npaths, diff_path, x);
}

static void diff_human(const diff_t *d, size_t top, const report_opts_t *o, FILE *out)
{
	const ag_snap_t *sa = &d->a.log->snaps[d->a.snap], *sb = &d->b.log->snaps[d->b.snap];
	char s1[40];
	fprintf(out, "diff: %s snapshot %" PRIu64 " (%s, %.3f s) -> %s snapshot %" PRIu64
		" (%s, %.3f s)\n", d->a.log->path, sa->seq, sa->label[0] ? sa->label : sa->reason,
		(double)sa->t_ns / 1e9, d->b.log->path, sb->seq, sb->label[0] ? sb->label : sb->reason,
		(double)sb->t_ns / 1e9);
	if (d->sampled)
		fprintf(out, "note: sampled log: byte and block figures are estimates\n");
	size_str_signed(d->delta_bytes, s1, sizeof s1);
	fprintf(out, "live bytes %s, blocks %+" PRId64 ", over %zu changed %s\n", s1,
		d->delta_count, d->nsites, d->nsites == 1 ? "site" : "sites");
	if (!d->nsites)
		return;
	fputc('\n', out);
	static const char *const head[] = { "DELTA", "BLOCKS", "BEFORE", "AFTER", "SITE" };
	static const col_align_t al[] = { COL_RIGHT, COL_RIGHT, COL_RIGHT, COL_RIGHT, COL_LEFT };
	table_t t;
	table_init(&t, 5, head, al);
	for (size_t k = 0; k < d->nsites && k < top; k++) {
		const diff_site_t *x = &d->sites[k];
		char db[40], dc[24], bb[40], ab[40], label[600];
		size_str_signed(x->dbytes, db, sizeof db);
		snprintf(dc, sizeof dc, "%+" PRId64, x->dcount);
		size_str(x->a_bytes, bb, sizeof bb);
		size_str(x->b_bytes, ab, sizeof ab);
		const ag_stack_t *st = &x->log->stacks[x->stack];
		site_label_kind(x->sym, &o->view, st, label, sizeof label, sizeof label);
		const char *cells[] = { db, dc, bb, ab, label };
		tone_t tones[5] = { x->dbytes > 0 ? TONE_BAD : TONE_GOOD };
		table_add(&t, cells, tones);
		diff_paths(&t, x, &o->view);
	}
	table_print(&t, out, o->color);
	table_free(&t);
	if (d->nsites > top)
		fprintf(out, "... and %zu more sites (--top N shows more)\n", d->nsites - top);
}

int diff_print(const ag_log_t *a, size_t snap_a, symbols_t *sa, const ag_log_t *b,
	       size_t snap_b, symbols_t *sb, const report_opts_t *o, FILE *out)
{
	diff_t d;
	int rc = diff_collect(a, snap_a, sa, b, snap_b, sb, &d);
	if (rc)
		return rc;
	if (o->json)
		diff_json(&d, o->top, out);
	else
		diff_human(&d, o->top ? o->top : REPORT_DEFAULT_TOP, o, out);
	diff_free(&d);
	return 0;
}
