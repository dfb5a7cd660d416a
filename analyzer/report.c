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

/* The requested sizes at the last snapshot that records them. */
static report_sizes_t report_sizes(const ag_log_t *log)
{
	report_sizes_t z = { { 0 }, 0 };
	for (size_t i = log->nsnaps; i-- > 0;)
		if (log->snaps[i].have_sizes) {
			memcpy(z.count, log->snaps[i].sizes, sizeof z.count);
			z.known = 1;
			break;
		}
	return z;
}

/* Sites at the snapshot of state st: at_peak, what was live at the peak; else what was
 * live then, with each stack's allocation calls and temporary allocations. */
static int report_sites(const ag_log_t *log, symbols_t *sym, const ag_stackval_t *st,
			int at_peak, site_set_t *out)
{
	site_fig_t *fig = calloc(log->nstacks + 1, sizeof *fig);
	if (!fig)
		return ENOMEM;
	for (size_t i = 0; i < log->nstacks; i++)
		fig[i] = at_peak ? (site_fig_t){ st[i].peak_bytes, st[i].peak_count, 0, 0 }
			 : (site_fig_t){ st[i].live_bytes, st[i].live_count, st[i].total_count,
					 st[i].temp_count };
	int rc = sites_collect(log, sym, fig, SITES_BY_BYTES, out);
	free(fig);
	return rc;
}

void report_free(report_t *r)
{
	free(r->command);
	sites_free(&r->peak_sites);
	sites_free(&r->sites);
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
	out->allocs_known = log->version >= 2;
	out->sizes = report_sizes(log);
	if (!sym)
		return 0;
	ag_stackval_t *st = log_state_at(log, log->nsnaps - 1);
	int rc = st ? report_sites(log, sym, st, 1, &out->peak_sites) : ENOMEM;
	if (!rc)
		rc = report_sites(log, sym, st, 0, &out->sites);
	if (!rc)
		rc = sites_sizes(log, &out->peak_sites);
	if (!rc)
		rc = sites_sizes(log, &out->sites);
	for (size_t i = 0; !rc && i < log->nstacks; i++)
		if (log->stacks[i].kind == AG_KIND_HEAP) {
			out->heap_allocs.calls += st[i].total_count;
			out->heap_allocs.temporary += st[i].temp_count;
		}
	free(st);
	if (rc)
		report_free(out);
	return rc;
}

static void json_sites(json_t *j, const ag_log_t *log, symbols_t *sym, const site_set_t *set,
		       size_t top, int allocs)
{
	json_arr(j);
	for (size_t i = 0; i < set->nsites && (!top || i < top); i++) {
		const site_t *s = &set->sites[i];
		json_obj(j);
		json_key(j, "bytes");
		json_u64(j, s->fig.bytes);
		json_key(j, "count");
		json_u64(j, s->fig.count);
		if (allocs) {
			json_key(j, "allocations");
			json_u64(j, s->fig.calls);
			json_key(j, "temporary");
			json_u64(j, s->fig.temporary);
		}
		if (set->have_sizes) {
			sizes_json(j, s->sizes, s->nsizes);
		} else {
			json_key(j, "sizes");
			json_null(j);   /* not recorded */
		}
		site_json(j, log, sym, s, 0);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* "allocations": {"calls", "temporary"} and "sizes": [{"min", "max", "count"}]. */
static void json_allocs(json_t *j, const report_t *r)
{
	json_key(j, "allocations");
	json_obj(j);
	json_key(j, "calls");
	json_u64(j, r->heap_allocs.calls);
	json_key(j, "temporary");
	if (r->allocs_known)
		json_u64(j, r->heap_allocs.temporary);
	else
		json_null(j);
	json_obj_end(j);
	sizes_json_dense(j, r->sizes.count);
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

/* "cap": {"bytes", "warn_pct", "critical_pct", "on_cap", "events": [...]}. */
static void json_cap(json_t *jw, const ag_log_t *log, symbols_t *sym, const report_t *r)
{
	json_key(jw, "cap");
	json_obj(jw);
	json_key(jw, "bytes");
	json_u64(jw, r->cap.bytes);
	json_key(jw, "warn_pct");
	json_u64(jw, r->cap.warn_pct);
	json_key(jw, "critical_pct");
	json_u64(jw, r->cap.critical_pct);
	json_key(jw, "on_cap");
	json_str(jw, r->cap.on_cap);
	json_key(jw, "events");
	json_arr(jw);
	for (size_t i = 0; i < r->nevents; i++) {
		json_obj(jw);
		json_key(jw, "kind");
		json_str(jw, ag_cap_event_name(r->events[i].kind));
		json_key(jw, "t_s");
		json_num(jw, (double)r->events[i].t_ns / 1e9, 3);
		json_key(jw, "bytes");
		json_u64(jw, r->events[i].bytes);
		json_key(jw, "request");
		if (log->version >= 2)
			json_u64(jw, r->events[i].request);
		else
			json_null(jw);   /* not recorded */
		if (r->events[i].have_stack && sym) {
			const ag_stack_t *st = &log->stacks[r->events[i].stack];
			json_key(jw, "site");
			site_json_site(jw, sym, st);
			site_json_frames(jw, sym, st);
		}
		json_obj_end(jw);
	}
	json_arr_end(jw);
	json_obj_end(jw);
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
	json_sites(&j, log, sym, &r->peak_sites, top, 0);
	json_split(&j, "final", r->final.bytes, r->final.heap, r->final.mapped, r->final.swapped);
	json_key(&j, "reason");
	json_str(&j, r->final.reason);
	json_obj_end(&j);
	json_cap(&j, log, sym, r);
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
	json_allocs(&j, r);
	json_key(&j, "sites");
	json_sites(&j, log, sym, &r->sites, top, 1);
	json_obj_end(&j);
	json_done(&j);
}

/* "cap at 1.2 s, 63.9 MiB tracked; refused: malloc of 1.0 MiB at grow (a.c:9) from main
 * (a.c:20)": a refusal names its request and where it came from. */
static void human_event(FILE *out, const report_opts_t *o, const ag_log_t *log,
			symbols_t *sym, const ag_event_t *e, int first)
{
	char a[40], b[40];
	size_str(e->bytes, a, sizeof a);
	fprintf(out, "  %-10s ", first ? "events" : "");
	table_put(out, o->color, e->kind == AG_CAP_EV_WARN ? TONE_WARN : TONE_BAD,
		  ag_cap_event_name(e->kind));
	fprintf(out, " at %.3f s, %s tracked", (double)e->t_ns / 1e9, a);
	if (e->kind == AG_CAP_EV_CAP && e->request) {
		size_str(e->request, b, sizeof b);
		fprintf(out, "; request of %s", b);
	}
	if (e->have_stack && sym) {
		char label[600];
		site_label(sym, &o->view, &log->stacks[e->stack], label, sizeof label);
		fprintf(out, " at %s\n", label);
		table_t t;
		static const char *const head[] = { "" };
		static const col_align_t al[] = { COL_LEFT };
		table_init(&t, 1, head, al);
		site_more(&t, sym, &o->view, &log->stacks[e->stack]);
		for (size_t k = 0; k < t.nrows; k++)
			fprintf(out, "%13s%s\n", "", t.rows[k].cell[0]);
		table_free(&t);
		return;
	}
	fputc('\n', out);
}

/* The churn view: who hammers the allocator.  The live set is sorted again, by calls and
 * then by temporary allocations. */
static void report_churn(FILE *out, const report_opts_t *o, const ag_log_t *log,
			 symbols_t *sym, const report_t *r, size_t top)
{
	site_set_t *set = (site_set_t *)&r->sites;
	if (!r->heap_allocs.calls)
		return;
	char a[24], b[24];
	snprintf(a, sizeof a, "%" PRIu64, r->heap_allocs.calls);
	snprintf(b, sizeof b, "%" PRIu64, r->heap_allocs.temporary);
	fprintf(out, "\nallocation calls: %s (malloc family, realloc included)", a);
	if (r->allocs_known)
		fprintf(out, ", %s temporary (freed by the same thread before its next "
			"allocation)", b);
	fprintf(out, "%s\n", r->sampled ? "; estimates" : "");
	sites_sort(set, SITES_BY_CALLS);
	sites_table(out, o->color, log, sym, &o->view, set, top, SITES_BY_CALLS, "most allocation calls");
	if (r->allocs_known) {
		sites_sort(set, SITES_BY_TEMPORARY);
		sites_table(out, o->color, log, sym, &o->view, set, top, SITES_BY_TEMPORARY,
			    "most temporary allocations");
	}
	sites_sort(set, SITES_BY_BYTES);
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
	for (size_t i = 0; i < r->nevents; i++)
		human_event(out, o, log, sym, &r->events[i], i == 0);
	for (size_t i = 0; i < r->nswaps; i++) {
		size_str(r->swaps[i].bytes, a, sizeof a);
		fprintf(out, "  %-10s %s (%s, %s)\n", i ? "" : "swapped", r->swaps[i].path, a,
			r->swaps[i].mode);
	}
	if (r->sampled)
		fprintf(out, "note: sampled every %s bytes on average: per-site figures are "
			"estimates (totals are exact)\n", log_option(log, "sample"));
	if (!r->peak_by_site)
		fprintf(out, "\n(this log predates per-site figures at the peak)\n");
	sites_table(out, o->color, log, sym, &o->view, &r->peak_sites, top, SITES_BY_BYTES,
		    "live at the peak, by site");
	sites_table(out, o->color, log, sym, &o->view, &r->sites, top, SITES_BY_BYTES,
		    "live at the last snapshot, by site");
	report_churn(out, o, log, sym, r, top);
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
