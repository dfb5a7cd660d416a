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

int diff_parse_spec(const char *spec, char **path, long long *seq)
{
	*seq = -1;
	const char *at = strrchr(spec, '@');
	if (at && at[1] && access(spec, F_OK) != 0) {
		char *end;
		errno = 0;
		long long v = strtoll(at + 1, &end, 10);
		if (*end || errno || v < 0 || at[1] == '-' || at[1] == '+')
			return EINVAL;
		*seq = v;
		*path = strndup(spec, (size_t)(at - spec));
	} else {
		*path = strdup(spec);
	}
	return *path ? 0 : ENOMEM;
}

typedef struct {
	site_hash_t h;
	uint64_t bytes, count;
	uint32_t stack;      /* a representative stack, for frames */
} keyed_t;

static int keyed_cmp(const void *a, const void *b)
{
	const keyed_t *x = a, *y = b;
	int c = site_hash_cmp(&x->h, &y->h);
	if (c)
		return c;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* Live figures at snapshot k, summed per site and sorted by the site's hash.  Replays only
 * the L records (a stack's last value up to k wins), so time follows the log's records and
 * memory the number of stacks; sites are matched by 128-bit hashes of their keys, not by
 * strings, so a million sites cost a few tens of MB. */
static int collect(const ag_log_t *log, size_t k, symbols_t *sym, keyed_t **out, size_t *n)
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
	if (!v) {
		free(live);
		return ENOMEM;
	}
	m = 0;
	for (size_t i = 0; i < log->nstacks; i++) {
		if (!live[i][0] && !live[i][1])
			continue;
		v[m].bytes = live[i][0];
		v[m].count = live[i][1];
		v[m].stack = (uint32_t)i;
		site_hash(sym, &log->stacks[i], 0, &v[m].h);
		m++;
	}
	free(live);
	qsort(v, m, sizeof *v, keyed_cmp);
	size_t j = 0;
	for (size_t i = 0; i < m; i++) {
		if (j && site_hash_cmp(&v[j - 1].h, &v[i].h) == 0) {
			v[j - 1].bytes = ag_sat_add(v[j - 1].bytes, v[i].bytes);
			v[j - 1].count = ag_sat_add(v[j - 1].count, v[i].count);
			continue;
		}
		v[j++] = v[i];
	}
	*out = v;
	*n = j;
	return 0;
}

typedef struct {
	int64_t dbytes, dcount;
	uint64_t a_bytes, b_bytes;
	const ag_log_t *log;     /* where the frames come from */
	symbols_t *sym;
	uint32_t stack;
} delta_t;

static int delta_cmp(const void *a, const void *b)
{
	const delta_t *x = a, *y = b;
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

int diff_print(const ag_log_t *a, size_t snap_a, symbols_t *sa, const ag_log_t *b,
	       size_t snap_b, symbols_t *sb, const report_opts_t *o, FILE *out)
{
	keyed_t *ka = NULL, *kb = NULL;
	size_t na = 0, nb = 0;
	int rc = collect(a, snap_a, sa, &ka, &na);
	if (!rc)
		rc = collect(b, snap_b, sb, &kb, &nb);
	delta_t *d = rc ? NULL : calloc(na + nb + 1, sizeof *d);
	if (rc || !d) {
		free(ka);
		free(kb);
		return rc ? rc : ENOMEM;
	}
	size_t nd = 0, i = 0, j = 0;
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : site_hash_cmp(&ka[i].h, &kb[j].h);
		delta_t x = { 0 };
		if (c < 0) {
			x = (delta_t){ sub(0, ka[i].bytes), sub(0, ka[i].count), ka[i].bytes, 0, a, sa,
				       ka[i].stack };
			i++;
		} else if (c > 0) {
			x = (delta_t){ sub(kb[j].bytes, 0), sub(kb[j].count, 0), 0, kb[j].bytes, b, sb,
				       kb[j].stack };
			j++;
		} else {
			x = (delta_t){ sub(kb[j].bytes, ka[i].bytes), sub(kb[j].count, ka[i].count),
				       ka[i].bytes, kb[j].bytes, b, sb, kb[j].stack };
			i++;
			j++;
		}
		if (x.dbytes || x.dcount)
			d[nd++] = x;
	}
	qsort(d, nd, sizeof *d, delta_cmp);
	int64_t tb = 0, tc = 0;
	for (size_t k = 0; k < nd; k++) {
		tb = add_sat(tb, d[k].dbytes);
		tc = add_sat(tc, d[k].dcount);
	}
	if (o->json) {
		json_t jw;
		json_init(&jw, out);
		json_obj(&jw);
		json_key(&jw, "a");
		json_obj(&jw);
		json_key(&jw, "log");
		json_str(&jw, a->path);
		json_key(&jw, "snapshot");
		json_u64(&jw, a->snaps[snap_a].seq);
		json_obj_end(&jw);
		json_key(&jw, "b");
		json_obj(&jw);
		json_key(&jw, "log");
		json_str(&jw, b->path);
		json_key(&jw, "snapshot");
		json_u64(&jw, b->snaps[snap_b].seq);
		json_obj_end(&jw);
		json_key(&jw, "total");
		json_obj(&jw);
		json_key(&jw, "delta_bytes");
		json_i64(&jw, tb);
		json_key(&jw, "delta_count");
		json_i64(&jw, tc);
		json_obj_end(&jw);
		json_key(&jw, "sites");
		json_arr(&jw);
		for (size_t k = 0; k < nd && (!o->top || k < o->top); k++) {
			json_obj(&jw);
			json_key(&jw, "delta_bytes");
			json_i64(&jw, d[k].dbytes);
			json_key(&jw, "delta_count");
			json_i64(&jw, d[k].dcount);
			json_key(&jw, "a_bytes");
			json_u64(&jw, d[k].a_bytes);
			json_key(&jw, "b_bytes");
			json_u64(&jw, d[k].b_bytes);
			site_json_frames(&jw, d[k].sym, &d[k].log->stacks[d[k].stack]);
			json_obj_end(&jw);
		}
		json_arr_end(&jw);
		json_obj_end(&jw);
		json_done(&jw);
	} else {
		size_t top = o->top ? o->top : REPORT_DEFAULT_TOP;
		char s1[40];
		fprintf(out, "diff: %s snapshot %" PRIu64 " (%s, %.3f s) -> %s snapshot %" PRIu64
			" (%s, %.3f s)\n", a->path, a->snaps[snap_a].seq, a->snaps[snap_a].reason,
			(double)a->snaps[snap_a].t_ns / 1e9, b->path, b->snaps[snap_b].seq,
			b->snaps[snap_b].reason, (double)b->snaps[snap_b].t_ns / 1e9);
		if (log_sampled(a) || log_sampled(b))
			fprintf(out, "note: sampled log: byte and block figures are estimates\n");
		size_str_signed(tb, s1, sizeof s1);
		fprintf(out, "live bytes %s, blocks %+" PRId64 ", over %zu changed %s\n", s1, tc, nd,
			nd == 1 ? "site" : "sites");
		if (nd) {
			fputc('\n', out);
			static const char *const head[] = { "DELTA", "BLOCKS", "BEFORE", "AFTER", "SITE" };
			static const col_align_t al[] = { COL_RIGHT, COL_RIGHT, COL_RIGHT, COL_RIGHT,
							  COL_LEFT };
			table_t t;
			table_init(&t, 5, head, al);
			for (size_t k = 0; k < nd && k < top; k++) {
				char db[40], dc[24], bb[40], ab[40], label[600];
				size_str_signed(d[k].dbytes, db, sizeof db);
				snprintf(dc, sizeof dc, "%+" PRId64, d[k].dcount);
				size_str(d[k].a_bytes, bb, sizeof bb);
				size_str(d[k].b_bytes, ab, sizeof ab);
				const ag_stack_t *st = &d[k].log->stacks[d[k].stack];
				site_label(d[k].sym, st, label, sizeof label);
				const char *cells[] = { db, dc, bb, ab, label };
				tone_t tones[5] = { d[k].dbytes > 0 ? TONE_BAD : TONE_GOOD };
				table_add(&t, cells, tones);
				site_more(&t, d[k].sym, st);
			}
			table_print(&t, out, o->color);
			table_free(&t);
			if (nd > top)
				fprintf(out, "... and %zu more sites (--top N shows more)\n", nd - top);
		}
	}
	free(ka);
	free(kb);
	free(d);
	return 0;
}
