/* growth.c: `allocguard growth`: each stack's live bytes across the snapshots taken while
 * the program ran, a least-squares slope and a verdict that tells a steady leak (growing)
 * from a pool that rose then levelled off (plateau), from churn (flat), and from release
 * (shrinking).  A trend counts only when it is both large (relative to the site's peak)
 * and significant (well above its standard error), so noise never reads as a trend. */
#include "reports.h"
#include "sites.h"
#include "table.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A change counts when it is at least this fraction of the site's peak over the run... */
#define GROWTH_MIN_REL 0.10
/* ...and this many standard errors away from zero. */
#define GROWTH_MIN_T 4.0
/* Bound on stacks x snapshots kept in memory; more snapshots are thinned evenly. */
#define GROWTH_MAX_CELLS (8u << 20)

const char *verdict_name(verdict_t v)
{
	switch (v) {
	case VERDICT_GROWING: return "growing";
	case VERDICT_PLATEAU: return "plateau";
	case VERDICT_FLAT: return "flat";
	case VERDICT_SHRINKING: return "shrinking";
	}
	return "?";
}

typedef struct {
	double slope, se, mean, var;
	size_t n;
} fit_t;

/* Least squares over [i0, i1): slope, its standard error (0 when there are no degrees of
 * freedom left), mean and variance of y. */
static fit_t fit(const double *t, const double *y, size_t i0, size_t i1)
{
	fit_t f = { 0 };
	size_t n = i1 - i0;
	f.n = n;
	if (n == 0)
		return f;
	double mt = 0, my = 0;
	for (size_t i = i0; i < i1; i++) {
		mt += t[i];
		my += y[i];
	}
	mt /= (double)n;
	my /= (double)n;
	double sxx = 0, sxy = 0, syy = 0;
	for (size_t i = i0; i < i1; i++) {
		sxx += (t[i] - mt) * (t[i] - mt);
		sxy += (t[i] - mt) * (y[i] - my);
		syy += (y[i] - my) * (y[i] - my);
	}
	f.mean = my;
	f.var = n > 1 ? syy / (double)(n - 1) : 0;
	if (sxx <= 0)
		return f;
	f.slope = sxy / sxx;
	if (n > 2) {
		double rss = syy - f.slope * sxy;
		if (rss < 0)
			rss = 0;
		f.se = sqrt(rss / (double)(n - 2) / sxx);
	}
	return f;
}

/* The slope is a trend: large relative to the peak over the whole span, and significant. */
static int trend(const fit_t *f, double span, double peak, int sign)
{
	double s = sign * f->slope;
	return s * span / peak > GROWTH_MIN_REL && s > GROWTH_MIN_T * f->se;
}

verdict_t growth_verdict(const double *t, const double *y, size_t n, double *slope)
{
	*slope = 0;
	if (n < 2)
		return VERDICT_FLAT;
	double span = t[n - 1] - t[0], peak = 0;
	for (size_t i = 0; i < n; i++)
		if (y[i] > peak)
			peak = y[i];
	if (!(span > 0) || !(peak > 0))
		return VERDICT_FLAT;
	/* head and tail thirds; the tail keeps 3 points when it can so it has an error */
	size_t k = (n + 2) / 3;
	size_t kt = k < 3 ? (n < 3 ? n : 3) : k;
	size_t kh = k;
	fit_t all = fit(t, y, 0, n);
	fit_t tail = fit(t, y, n - kt, n);
	fit_t head = fit(t, y, 0, kh);
	size_t h0 = n / 2;
	if (n >= 3 && n - h0 < 3)
		h0 = n - 3;
	fit_t half = fit(t, y, h0, n);

	double diff = tail.mean - head.mean;
	double se_diff = sqrt(head.var / (double)kh + tail.var / (double)kt);
	int rose = diff / peak > GROWTH_MIN_REL && diff > GROWTH_MIN_T * se_diff;
	int fell = -diff / peak > GROWTH_MIN_REL && -diff > GROWTH_MIN_T * se_diff;
	int up_all = trend(&all, span, peak, 1), down_all = trend(&all, span, peak, -1);
	int up_tail = trend(&tail, span, peak, 1), down_tail = trend(&tail, span, peak, -1);

	if (n <= 3) {
		/* too few points for a tail of its own: the whole series is the trend */
		*slope = all.slope;
		return up_all ? VERDICT_GROWING : down_all ? VERDICT_SHRINKING : VERDICT_FLAT;
	}
	/* the tail alone is few points: another view of the same trend must agree */
	int up_half = trend(&half, span, peak, 1), down_half = trend(&half, span, peak, -1);
	if (up_tail && (up_all || rose || up_half)) {
		*slope = half.slope;   /* the rate it grows at now */
		return VERDICT_GROWING;
	}
	if (down_tail && (down_all || fell || down_half)) {
		*slope = tail.slope;
		return VERDICT_SHRINKING;
	}
	if (up_all || rose) {
		*slope = tail.slope;   /* levelled off: what it does now */
		return VERDICT_PLATEAU;
	}
	if (down_all || fell) {
		*slope = all.slope;
		return VERDICT_SHRINKING;
	}
	*slope = all.slope;
	return VERDICT_FLAT;
}

/* Stacks are grouped by their chain of function names (module+offset where there is no
 * name): a pool filled at one line and topped up at another of the same function is one
 * pool, and its trend is the sum's. */
static char *chain_key(symbols_t *sym, const ag_stack_t *st)
{
	size_t cap = 32, len = 0;
	char *k = malloc(cap), buf[700];
	if (!k)
		return NULL;
	k[len++] = st->kind;
	k[len] = '\0';
	for (uint32_t i = 0; i < st->nframes; i++) {
		const ag_frame_t *f = symbols_lookup(sym, st->frames[i]);
		if (!f)
			continue;
		if (f->function)
			snprintf(buf, sizeof buf, ";%s", f->function);
		else {
			buf[0] = ';';
			frame_key(f, buf + 1, sizeof buf - 1);
		}
		size_t n = strlen(buf);
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			char *nk = realloc(k, cap);
			if (!nk) {
				free(k);
				return NULL;
			}
			k = nk;
		}
		memcpy(k + len, buf, n + 1);
		len += n;
	}
	return k;
}

typedef struct {
	char *key;
	uint32_t stack;
	double peak;
} group_t;

static int group_cmp(const void *a, const void *b)
{
	const group_t *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	/* the biggest stack of a group represents it */
	if (x->peak != y->peak)
		return x->peak > y->peak ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

typedef struct {
	uint32_t stack;
	verdict_t verdict;
	double slope;
	uint64_t first, last, peak;
} growth_site_t;

static int gsite_cmp(const void *a, const void *b)
{
	const growth_site_t *x = a, *y = b;
	if (x->slope != y->slope)
		return x->slope > y->slope ? -1 : 1;
	if (x->peak != y->peak)
		return x->peak > y->peak ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static int is_final(const ag_snap_t *s)
{
	return strcmp(s->reason, "exit") == 0 || strcmp(s->reason, "abort") == 0;
}

/* The snapshots taken while the program ran: the exit snapshot shows teardown (that is
 * what `leaks` reads), so it is left out when at least 3 others remain.  Thinned evenly
 * to keep stacks x snapshots bounded. */
static size_t pick_snaps(const ag_log_t *log, size_t **out)
{
	size_t running = 0;
	for (size_t i = 0; i < log->nsnaps; i++)
		running += !is_final(&log->snaps[i]);
	int skip_final = running >= 3;
	size_t *idx = malloc((log->nsnaps + 1) * sizeof *idx), n = 0;
	if (!idx)
		return 0;
	for (size_t i = 0; i < log->nsnaps; i++)
		if (!(skip_final && is_final(&log->snaps[i])))
			idx[n++] = i;
	size_t stacks = log->nstacks ? log->nstacks : 1;
	size_t max = GROWTH_MAX_CELLS / stacks;
	if (max < 2)
		max = 2;
	if (n > max) {
		size_t *thin = malloc(max * sizeof *thin);
		if (!thin) {
			free(idx);
			return 0;
		}
		for (size_t i = 0; i < max; i++)
			thin[i] = idx[(size_t)((double)i * (double)(n - 1) / (double)(max - 1) + 0.5)];
		free(idx);
		idx = thin;
		n = max;
	}
	*out = idx;
	return n;
}

int growth_print(const ag_log_t *log, symbols_t *sym, const report_opts_t *o, FILE *out)
{
	size_t *pick = NULL;
	size_t np = pick_snaps(log, &pick);
	if (!np)
		return ENOMEM;
	size_t ns = log->nstacks;
	double *series = calloc(ns * np + 1, sizeof *series);
	double *t = calloc(np, sizeof *t);
	ag_stackval_t *st = calloc(ns + 1, sizeof *st);
	growth_site_t *sites = calloc(ns + 1, sizeof *sites);
	if (!series || !t || !st || !sites) {
		free(series);
		free(t);
		free(st);
		free(sites);
		free(pick);
		return ENOMEM;
	}
	for (size_t i = 0, p = 0; i < log->nsnaps && p < np; i++) {
		log_apply(log, i, st);
		if (pick[p] != i)
			continue;
		t[p] = (double)log->snaps[i].t_ns / 1e9;
		for (size_t s = 0; s < ns; s++)
			series[s * np + p] = (double)st[s].live_bytes;
		p++;
	}
	/* group the stacks that ever held memory, summing each group's series into the row of
	 * its representative */
	group_t *groups = calloc(ns + 1, sizeof *groups);
	size_t ng = 0;
	for (size_t s = 0; groups && s < ns; s++) {
		const double *y = &series[s * np];
		double peak = 0;
		for (size_t p = 0; p < np; p++)
			if (y[p] > peak)
				peak = y[p];
		if (peak <= 0)
			continue;
		char *key = chain_key(sym, &log->stacks[s]);
		if (!key)
			continue;
		groups[ng++] = (group_t){ key, (uint32_t)s, peak };
	}
	if (ng)
		qsort(groups, ng, sizeof *groups, group_cmp);
	size_t nsites = 0;
	for (size_t gi = 0; gi < ng;) {
		size_t s = groups[gi].stack, gj = gi + 1;
		double *y = &series[s * np];
		for (; gj < ng && strcmp(groups[gj].key, groups[gi].key) == 0; gj++)
			for (size_t p = 0; p < np; p++)
				y[p] += series[(size_t)groups[gj].stack * np + p];
		for (size_t k = gi; k < gj; k++)
			free(groups[k].key);
		gi = gj;
		double peak = 0;
		for (size_t p = 0; p < np; p++)
			if (y[p] > peak)
				peak = y[p];
		growth_site_t *g = &sites[nsites++];
		g->stack = (uint32_t)s;
		g->verdict = growth_verdict(t, y, np, &g->slope);
		g->first = (uint64_t)y[0];
		g->last = (uint64_t)y[np - 1];
		g->peak = (uint64_t)peak;
	}
	free(groups);
	qsort(sites, nsites, sizeof *sites, gsite_cmp);
	double duration = np ? t[np - 1] - t[0] : 0;

	if (o->json) {
		json_t j;
		json_init(&j, out);
		json_obj(&j);
		json_key(&j, "snapshots");
		json_u64(&j, np);
		json_key(&j, "duration_s");
		json_num(&j, duration, 3);
		json_key(&j, "estimated");
		json_bool(&j, log_sampled(log));
		json_key(&j, "sites");
		json_arr(&j);
		for (size_t i = 0; i < nsites && (!o->top || i < o->top); i++) {
			const growth_site_t *g = &sites[i];
			json_obj(&j);
			json_key(&j, "verdict");
			json_str(&j, verdict_name(g->verdict));
			json_key(&j, "slope_bytes_per_s");
			json_num(&j, g->slope, 1);
			json_key(&j, "first_bytes");
			json_u64(&j, g->first);
			json_key(&j, "last_bytes");
			json_u64(&j, g->last);
			json_key(&j, "peak_bytes");
			json_u64(&j, g->peak);
			json_key(&j, "kind");
			json_str(&j, site_kind_name(log->stacks[g->stack].kind));
			json_key(&j, "stack");
			json_u64(&j, log->stacks[g->stack].id);
			site_json_frames(&j, sym, &log->stacks[g->stack]);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
		json_done(&j);
	} else {
		size_t top = o->top ? o->top : REPORT_DEFAULT_TOP;
		fprintf(out, "growth in %s (pid %" PRIu64 "): %zu snapshots over %.3f s\n", log->path,
			log->pid, np, duration);
		if (log_sampled(log))
			fprintf(out, "note: sampled every %s bytes on average: live bytes are "
				"estimates\n", log_option(log, "sample"));
		if (np < 4)
			fprintf(out, "note: fewer than 4 snapshots: verdicts rest on very little "
				"(use --interval for more)\n");
		size_t count[4] = { 0 };
		for (size_t i = 0; i < nsites; i++)
			count[sites[i].verdict]++;
		fprintf(out, "%zu growing, %zu plateau, %zu flat, %zu shrinking\n",
			count[VERDICT_GROWING], count[VERDICT_PLATEAU], count[VERDICT_FLAT],
			count[VERDICT_SHRINKING]);
		if (nsites) {
			fputc('\n', out);
			static const char *const head[] = { "SLOPE", "FIRST", "LAST", "PEAK",
							    "VERDICT", "SITE" };
			static const col_align_t al[] = { COL_RIGHT, COL_RIGHT, COL_RIGHT, COL_RIGHT,
							  COL_LEFT, COL_LEFT };
			table_t tb;
			table_init(&tb, 6, head, al);
			for (size_t i = 0; i < nsites && i < top; i++) {
				const growth_site_t *g = &sites[i];
				const ag_stack_t *stk = &log->stacks[g->stack];
				char slope[40], first[40], last[40], peak[40], label[600];
				rate_str(g->slope, slope, sizeof slope);
				size_str(g->first, first, sizeof first);
				size_str(g->last, last, sizeof last);
				size_str(g->peak, peak, sizeof peak);
				site_label(sym, stk, label, sizeof label);
				const char *cells[] = { slope, first, last, peak,
							verdict_name(g->verdict), label };
				tone_t tones[6] = { 0 };
				tones[4] = g->verdict == VERDICT_GROWING ? TONE_BAD
					 : g->verdict == VERDICT_PLATEAU ? TONE_WARN : TONE_GOOD;
				table_add(&tb, cells, tones);
				site_more(&tb, sym, stk);
			}
			table_print(&tb, out, o->color);
			table_free(&tb);
			if (nsites > top)
				fprintf(out, "... and %zu more sites (--top N shows more)\n",
					nsites - top);
		}
	}
	free(series);
	free(t);
	free(st);
	free(sites);
	free(pick);
	return 0;
}
