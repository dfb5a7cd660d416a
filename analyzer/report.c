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
		char bytes[40], count[24], label[600], full[640];
		size_str(s[i].bytes, bytes, sizeof bytes);
		snprintf(count, sizeof count, "%" PRIu64, s[i].count);
		site_label(sym, st, label, sizeof label);
		if (st->kind != AG_KIND_HEAP)
			snprintf(full, sizeof full, "[%s] %s", site_kind_name(st->kind), label);
		else
			snprintf(full, sizeof full, "%s", label);
		const char *cells[] = { bytes, count, full };
		table_add(&t, cells, NULL);
		site_more(&t, sym, st);
	}
	table_print(&t, out, o->color);
	table_free(&t);
	if (n > top)
		fprintf(out, "... and %zu more sites (--top N shows more)\n", n - top);
}

int report_print(const ag_log_t *log, symbols_t *sym, const report_opts_t *o, FILE *out)
{
	const ag_snap_t *last = &log->snaps[log->nsnaps - 1];
	report_peak_t pk = report_peak(log);
	char *cmd = report_command(log);
	ag_stackval_t *st = log_state_at(log, log->nsnaps - 1);
	report_site_t *live = NULL, *peak = NULL;
	size_t nl = 0, np = 0;
	if (!cmd || !st || report_sites(log, sym, st, 0, &live, &nl) ||
	    report_sites(log, sym, st, 1, &peak, &np)) {
		free(cmd);
		free(st);
		free(live);
		free(peak);
		return ENOMEM;
	}
	uint64_t cap = log_option_u64(log, "cap", 0);
	uint64_t warn = log_setting(log, "warn"), crit = log_setting(log, "critical");
	const char *on_cap = log_option(log, "on_cap");
	size_t top = o->top ? o->top : (o->json ? 0 : REPORT_DEFAULT_TOP);

	if (o->json) {
		json_t j;
		json_init(&j, out);
		json_obj(&j);
		json_key(&j, "pid");
		json_u64(&j, log->pid);
		json_key(&j, "ppid");
		json_u64(&j, log->ppid);
		json_key(&j, "command");
		json_str(&j, cmd);
		json_key(&j, "exe");
		json_str(&j, log->exe);
		json_key(&j, "snapshots");
		json_u64(&j, log->nsnaps);
		json_key(&j, "duration_s");
		json_num(&j, (double)last->t_ns / 1e9, 3);
		json_key(&j, "peak");
		json_obj(&j);
		json_key(&j, "bytes");
		json_u64(&j, pk.bytes);
		json_key(&j, "heap_bytes");
		json_u64(&j, pk.heap);
		json_key(&j, "mapped_bytes");
		json_u64(&j, pk.mapped);
		json_key(&j, "swapped_bytes");
		json_u64(&j, pk.swapped);
		json_obj_end(&j);
		json_key(&j, "peak_sites");
		json_sites(&j, log, sym, peak, np, top);
		json_key(&j, "final");
		json_obj(&j);
		json_key(&j, "bytes");
		json_u64(&j, last->tracked);
		json_key(&j, "heap_bytes");
		json_u64(&j, last->heap);
		json_key(&j, "mapped_bytes");
		json_u64(&j, last->mapped);
		json_key(&j, "swapped_bytes");
		json_u64(&j, last->swapped);
		json_key(&j, "reason");
		json_str(&j, last->reason);
		json_obj_end(&j);
		json_key(&j, "cap");
		json_obj(&j);
		json_key(&j, "bytes");
		json_u64(&j, cap);
		json_key(&j, "warn_pct");
		json_u64(&j, warn);
		json_key(&j, "critical_pct");
		json_u64(&j, crit);
		json_key(&j, "on_cap");
		json_str(&j, on_cap);
		json_key(&j, "events");
		json_arr(&j);
		for (size_t i = 0; i < log->nevents; i++) {
			json_obj(&j);
			json_key(&j, "kind");
			json_str(&j, ag_cap_event_name(log->events[i].kind));
			json_key(&j, "t_s");
			json_num(&j, (double)log->events[i].t_ns / 1e9, 3);
			json_key(&j, "bytes");
			json_u64(&j, log->events[i].bytes);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
		json_key(&j, "swapped");
		json_arr(&j);
		for (size_t i = 0; i < log->nswaps; i++) {
			json_obj(&j);
			json_key(&j, "path");
			json_str(&j, log->swaps[i].path);
			json_key(&j, "bytes");
			json_u64(&j, log->swaps[i].bytes);
			json_key(&j, "mode");
			json_str(&j, log->swaps[i].mode);
			json_key(&j, "t_s");
			json_num(&j, (double)log->swaps[i].t_ns / 1e9, 3);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_key(&j, "estimated");
		json_bool(&j, log_sampled(log));
		json_key(&j, "sites");
		json_sites(&j, log, sym, live, nl, top);
		json_obj_end(&j);
		json_done(&j);
	} else {
		char a[40], b[40], c[40], d[40];
		fprintf(out, "report for %s\n", log->path);
		fprintf(out, "  process    pid %" PRIu64 " (parent %" PRIu64 "): %s\n", log->pid,
			log->ppid, cmd);
		fprintf(out, "  snapshots  %zu over %.3f s, the last one: %s\n", log->nsnaps,
			(double)last->t_ns / 1e9, last->reason);
		size_str(pk.bytes, a, sizeof a);
		size_str(pk.heap, b, sizeof b);
		size_str(pk.mapped, c, sizeof c);
		size_str(pk.swapped, d, sizeof d);
		fprintf(out, "  peak       %s tracked (heap %s, mapped %s, swapped %s%s)\n", a, b, c, d,
			pk.split ? "" : "; each kind's own highest");
		size_str(last->tracked, a, sizeof a);
		size_str(last->heap, b, sizeof b);
		size_str(last->mapped, c, sizeof c);
		size_str(last->swapped, d, sizeof d);
		fprintf(out, "  final      %s tracked (heap %s, mapped %s, swapped %s)\n", a, b, c, d);
		if (cap) {
			size_str(cap, a, sizeof a);
			fprintf(out, "  cap        %s, warn at %" PRIu64 "%%, critical at %" PRIu64
				"%%, at the cap: %s\n", a, warn, crit,
				on_cap ? on_cap : ag_on_cap_name(AG_ON_CAP_FAIL));
		} else {
			fprintf(out, "  cap        none\n");
		}
		if (!log->nevents)
			fprintf(out, "  events     none\n");
		for (size_t i = 0; i < log->nevents; i++) {
			size_str(log->events[i].bytes, a, sizeof a);
			fprintf(out, "  %-10s ", i ? "" : "events");
			table_put(out, o->color, log->events[i].kind == AG_CAP_EV_WARN ? TONE_WARN : TONE_BAD,
				  ag_cap_event_name(log->events[i].kind));
			fprintf(out, " at %.3f s, %s tracked\n", (double)log->events[i].t_ns / 1e9, a);
		}
		for (size_t i = 0; i < log->nswaps; i++) {
			size_str(log->swaps[i].bytes, a, sizeof a);
			fprintf(out, "  %-10s %s (%s, %s)\n", i ? "" : "swapped", log->swaps[i].path, a,
				log->swaps[i].mode);
		}
		if (log_sampled(log))
			fprintf(out, "note: sampled every %s bytes on average: per-site figures are "
				"estimates (totals are exact)\n", log_option(log, "sample"));
		if (np)
			human_sites(out, o, log, sym, peak, np, top, "live at the peak");
		else if (!last->have_peak)
			fprintf(out, "\n(this log predates per-site figures at the peak)\n");
		if (nl)
			human_sites(out, o, log, sym, live, nl, top, "live at the last snapshot");
	}
	free(cmd);
	free(st);
	free(live);
	free(peak);
	return 0;
}
