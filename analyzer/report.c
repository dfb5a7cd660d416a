/* report.c: `allocguard report`: the process summary: who ran, peak by kind and what was
 * live at it by site, final, the cap and its events with times, swapped model files, and
 * the sites live at the end.  Sites are merged as sites.c groups them (the frames shown). */
#include "reports.h"
#include "sites.h"
#include "table.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

char *report_command(const ag_log_t *log)
{
	size_t len = 1;
	for (size_t i = 0; i < log->argc; i++)
		len += strlen(log->argv[i]) + 1;
	if (!log->argc && log->exe)
		return strdup(log->exe);
	char *s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0, p = 0; i < log->argc; i++) {
		size_t n = strlen(log->argv[i]);
		if (i)
			s[p++] = ' ';
		memcpy(s + p, log->argv[i], n + 1);
		p += n;
	}
	return s;
}

report_peak_t report_peak(const ag_log_t *log)
{
	report_peak_t p = { 0 };
	for (size_t i = 0; i < log->nsnaps; i++) {
		const ag_snap_t *s = &log->snaps[i];
		if (s->peak_tracked > p.bytes)
			p.bytes = s->peak_tracked;
		if (s->peak_heap > p.heap)
			p.heap = s->peak_heap;
		if (s->peak_mapped > p.mapped)
			p.mapped = s->peak_mapped;
		if (s->swapped > p.swapped)
			p.swapped = s->swapped;
	}
	/* the K line splits the peak itself; without one, each kind's own highest */
	const ag_snap_t *last = log->nsnaps ? &log->snaps[log->nsnaps - 1] : NULL;
	if (last && last->have_peak && last->at_peak_tracked == p.bytes) {
		p.split = 1;
		p.heap = last->at_peak_heap;
		p.mapped = last->at_peak_mapped;
		p.swapped = last->at_peak_swapped;
	}
	return p;
}

static int live_cmp(const void *a, const void *b)
{
	const report_site_t *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

int report_sites(const ag_log_t *log, symbols_t *sym, const ag_stackval_t *st, int at_peak,
		 report_site_t **out, size_t *n)
{
	uint32_t *rep = site_groups(log, sym);
	report_site_t *s = calloc(log->nstacks + 1, sizeof *s);
	size_t *slot = malloc((log->nstacks + 1) * sizeof *slot);
	if (!rep || !s || !slot) {
		free(rep);
		free(s);
		free(slot);
		return ENOMEM;
	}
	size_t ns = 0;
	for (size_t i = 0; i < log->nstacks; i++) {
		uint64_t b = at_peak ? st[i].peak_bytes : st[i].live_bytes;
		uint64_t c = at_peak ? st[i].peak_count : st[i].live_count;
		slot[i] = (size_t)-1;
		if (!b && !c)
			continue;
		size_t g = slot[rep[i]];
		if (g == (size_t)-1) {
			g = slot[rep[i]] = ns++;
			s[g].stack = (uint32_t)i;
			s[g].top = b;
		} else if (b > s[g].top) {
			s[g].stack = (uint32_t)i;   /* the largest stack shows the group's frames */
			s[g].top = b;
		}
		s[g].bytes += b;
		s[g].count += c;
		s[g].stacks++;
	}
	qsort(s, ns, sizeof *s, live_cmp);
	free(rep);
	free(slot);
	*out = s;
	*n = ns;
	return 0;
}

void report_free(report_t *r)
{
	free(r->command);
	free(r->peak_sites);
	free(r->sites);
	memset(r, 0, sizeof *r);
}

int report_collect(const ag_log_t *log, symbols_t *sym, report_t *out)
{
	memset(out, 0, sizeof *out);
	const ag_snap_t *last = &log->snaps[log->nsnaps - 1];
	out->command = report_command(log);
	if (!out->command)
		return ENOMEM;
	out->snapshots = log->nsnaps;
	out->duration_s = (double)last->t_ns / 1e9;
	out->peak = report_peak(log);
	out->peak_by_site = last->have_peak;
	out->final = (report_final_t){ last->tracked, last->heap, last->mapped, last->swapped,
				       last->reason };
	out->cap.bytes = log_option_u64(log, "cap", 0);
	out->cap.warn_pct = log_setting(log, "warn");
	out->cap.critical_pct = log_setting(log, "critical");
	out->cap.on_cap = log_option(log, "on_cap");
	out->events = log->events;
	out->nevents = log->nevents;
	out->swaps = log->swaps;
	out->nswaps = log->nswaps;
	out->sampled = log_sampled(log);
	if (!sym)
		return 0;
	ag_stackval_t *st = log_state_at(log, log->nsnaps - 1);
	int rc = st ? report_sites(log, sym, st, 1, &out->peak_sites, &out->npeak_sites) : ENOMEM;
	if (!rc)
		rc = report_sites(log, sym, st, 0, &out->sites, &out->nsites);
	free(st);
	if (rc)
		report_free(out);
	return rc;
}

static void json_sites(json_t *j, const ag_log_t *log, symbols_t *sym, const report_site_t *s,
		       size_t n, size_t top)
{
	json_arr(j);
	for (size_t i = 0; i < n && (!top || i < top); i++) {
		json_obj(j);
		json_key(j, "bytes");
		json_u64(j, s[i].bytes);
		json_key(j, "count");
		json_u64(j, s[i].count);
		json_key(j, "kind");
		json_str(j, site_kind_name(log->stacks[s[i].stack].kind));
		json_key(j, "stacks");
		json_u64(j, s[i].stacks);
		site_json_frames(j, sym, &log->stacks[s[i].stack]);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* {"bytes", "heap_bytes", "mapped_bytes", "swapped_bytes"}, left open for more keys. */
static void json_split(json_t *j, const char *key, uint64_t bytes, uint64_t heap,
		       uint64_t mapped, uint64_t swapped)
{
	json_key(j, key);
	json_obj(j);
	json_key(j, "bytes");
	json_u64(j, bytes);
	json_key(j, "heap_bytes");
	json_u64(j, heap);
	json_key(j, "mapped_bytes");
	json_u64(j, mapped);
	json_key(j, "swapped_bytes");
	json_u64(j, swapped);
}

static void report_json(const ag_log_t *log, symbols_t *sym, const report_t *r, size_t top, FILE *out)
{
	json_t j;
	json_init(&j, out);
	json_obj(&j);
	json_key(&j, "pid");
	json_u64(&j, log->pid);
	json_key(&j, "ppid");
	json_u64(&j, log->ppid);
	json_key(&j, "command");
	json_str(&j, r->command);
	json_key(&j, "exe");
	json_str(&j, log->exe);
	json_key(&j, "snapshots");
	json_u64(&j, r->snapshots);
	json_key(&j, "duration_s");
	json_num(&j, r->duration_s, 3);
	json_split(&j, "peak", r->peak.bytes, r->peak.heap, r->peak.mapped, r->peak.swapped);
	json_obj_end(&j);
	json_key(&j, "peak_sites");
	json_sites(&j, log, sym, r->peak_sites, r->npeak_sites, top);
	json_split(&j, "final", r->final.bytes, r->final.heap, r->final.mapped, r->final.swapped);
	json_key(&j, "reason");
	json_str(&j, r->final.reason);
	json_obj_end(&j);
	json_key(&j, "cap");
	json_obj(&j);
	json_key(&j, "bytes");
	json_u64(&j, r->cap.bytes);
	json_key(&j, "warn_pct");
	json_u64(&j, r->cap.warn_pct);
	json_key(&j, "critical_pct");
	json_u64(&j, r->cap.critical_pct);
	json_key(&j, "on_cap");
	json_str(&j, r->cap.on_cap);
	json_key(&j, "events");
	json_arr(&j);
	for (size_t i = 0; i < r->nevents; i++) {
		json_obj(&j);
		json_key(&j, "kind");
		json_str(&j, ag_cap_event_name(r->events[i].kind));
		json_key(&j, "t_s");
		json_num(&j, (double)r->events[i].t_ns / 1e9, 3);
		json_key(&j, "bytes");
		json_u64(&j, r->events[i].bytes);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_key(&j, "swapped");
	json_arr(&j);
	for (size_t i = 0; i < r->nswaps; i++) {
		json_obj(&j);
		json_key(&j, "path");
		json_str(&j, r->swaps[i].path);
		json_key(&j, "bytes");
		json_u64(&j, r->swaps[i].bytes);
		json_key(&j, "mode");
		json_str(&j, r->swaps[i].mode);
		json_key(&j, "t_s");
		json_num(&j, (double)r->swaps[i].t_ns / 1e9, 3);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_key(&j, "estimated");
	json_bool(&j, r->sampled);
	json_key(&j, "sites");
	json_sites(&j, log, sym, r->sites, r->nsites, top);
	json_obj_end(&j);
	json_done(&j);
}

static void human_sites(FILE *out, const report_opts_t *o, const ag_log_t *log, symbols_t *sym,
			const report_site_t *s, size_t n, size_t top, const char *title)
{
	fprintf(out, "\n%s, by site:\n", title);
	static const char *const head[] = { "BYTES", "BLOCKS", "SITE" };
	static const col_align_t al[] = { COL_RIGHT, COL_RIGHT, COL_LEFT };
	table_t t;
	table_init(&t, 3, head, al);
	for (size_t i = 0; i < n && i < top; i++) {
		const ag_stack_t *st = &log->stacks[s[i].stack];
		char bytes[40], count[24], full[640];
		size_str(s[i].bytes, bytes, sizeof bytes);
		snprintf(count, sizeof count, "%" PRIu64, s[i].count);
		site_label_kind(sym, st, full, sizeof full, 600);
		const char *cells[] = { bytes, count, full };
		table_add(&t, cells, NULL);
		site_more(&t, sym, st);
	}
	table_print(&t, out, o->color);
	table_free(&t);
	if (n > top)
		fprintf(out, "... and %zu more sites (--top N shows more)\n", n - top);
}

static void report_human(const ag_log_t *log, symbols_t *sym, const report_t *r, size_t top,
		  const report_opts_t *o, FILE *out)
{
	char a[40], b[40], c[40], d[40];
	fprintf(out, "report for %s\n", log->path);
	fprintf(out, "  process    pid %" PRIu64 " (parent %" PRIu64 "): %s\n", log->pid,
		log->ppid, r->command);
	fprintf(out, "  snapshots  %zu over %.3f s, the last one: %s\n", r->snapshots,
		r->duration_s, r->final.reason);
	size_str(r->peak.bytes, a, sizeof a);
	size_str(r->peak.heap, b, sizeof b);
	size_str(r->peak.mapped, c, sizeof c);
	size_str(r->peak.swapped, d, sizeof d);
	fprintf(out, "  peak       %s tracked (heap %s, mapped %s, swapped %s%s)\n", a, b, c, d,
		r->peak.split ? "" : "; each kind's own highest");
	size_str(r->final.bytes, a, sizeof a);
	size_str(r->final.heap, b, sizeof b);
	size_str(r->final.mapped, c, sizeof c);
	size_str(r->final.swapped, d, sizeof d);
	fprintf(out, "  final      %s tracked (heap %s, mapped %s, swapped %s)\n", a, b, c, d);
	if (r->cap.bytes) {
		size_str(r->cap.bytes, a, sizeof a);
		fprintf(out, "  cap        %s, warn at %" PRIu64 "%%, critical at %" PRIu64
			"%%, at the cap: %s\n", a, r->cap.warn_pct, r->cap.critical_pct,
			r->cap.on_cap ? r->cap.on_cap : "fail");
	} else {
		fprintf(out, "  cap        none\n");
	}
	if (!r->nevents)
		fprintf(out, "  events     none\n");
	for (size_t i = 0; i < r->nevents; i++) {
		size_str(r->events[i].bytes, a, sizeof a);
		fprintf(out, "  %-10s ", i ? "" : "events");
		table_put(out, o->color, r->events[i].kind == AG_CAP_EV_WARN ? TONE_WARN : TONE_BAD,
			  ag_cap_event_name(r->events[i].kind));
		fprintf(out, " at %.3f s, %s tracked\n", (double)r->events[i].t_ns / 1e9, a);
	}
	for (size_t i = 0; i < r->nswaps; i++) {
		size_str(r->swaps[i].bytes, a, sizeof a);
		fprintf(out, "  %-10s %s (%s, %s)\n", i ? "" : "swapped", r->swaps[i].path, a,
			r->swaps[i].mode);
	}
	if (r->sampled)
		fprintf(out, "note: sampled every %s bytes on average: per-site figures are "
			"estimates (totals are exact)\n", log_option(log, "sample"));
	if (r->npeak_sites)
		human_sites(out, o, log, sym, r->peak_sites, r->npeak_sites, top, "live at the peak");
	else if (!r->peak_by_site)
		fprintf(out, "\n(this log predates per-site figures at the peak)\n");
	if (r->nsites)
		human_sites(out, o, log, sym, r->sites, r->nsites, top, "live at the last snapshot");
}

int report_print(const ag_log_t *log, symbols_t *sym, const report_opts_t *o, FILE *out)
{
	report_t r;
	int rc = report_collect(log, sym, &r);
	if (rc)
		return rc;
	if (o->json)
		report_json(log, sym, &r, o->top, out);
	else
		report_human(log, sym, &r, o->top ? o->top : REPORT_DEFAULT_TOP, o, out);
	report_free(&r);
	return 0;
}
