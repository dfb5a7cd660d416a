/* report.c: `allocguard report`: the process summary: who ran, peak by kind, final, the
 * cap and its events with times, swapped model files, and the sites live at the end. */
#include "reports.h"
#include "sites.h"
#include "table.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *event_name(int kind)
{
	return kind == AG_EV_WARN ? "warn" : kind == AG_EV_CRITICAL ? "critical" : "cap";
}

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

typedef struct {
	uint64_t bytes, heap, mapped;
} peak_t;

static peak_t peak_of(const ag_log_t *log)
{
	peak_t p = { 0 };
	for (size_t i = 0; i < log->nsnaps; i++) {
		const ag_snap_t *s = &log->snaps[i];
		if (s->peak_tracked > p.bytes)
			p.bytes = s->peak_tracked;
		if (s->peak_heap > p.heap)
			p.heap = s->peak_heap;
		if (s->peak_mapped > p.mapped)
			p.mapped = s->peak_mapped;
	}
	return p;
}

typedef struct {
	uint32_t stack;
	uint64_t bytes, count;
} live_t;

static int live_cmp(const void *a, const void *b)
{
	const live_t *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

int report_print(const ag_log_t *log, symbols_t *sym, const report_opts_t *o, FILE *out)
{
	const ag_snap_t *last = &log->snaps[log->nsnaps - 1];
	peak_t pk = peak_of(log);
	char *cmd = report_command(log);
	ag_stackval_t *st = log_state_at(log, log->nsnaps - 1);
	live_t *live = calloc(log->nstacks + 1, sizeof *live);
	if (!cmd || !st || !live) {
		free(cmd);
		free(st);
		free(live);
		return ENOMEM;
	}
	size_t nl = 0;
	for (size_t i = 0; i < log->nstacks; i++)
		if (st[i].live_bytes || st[i].live_count)
			live[nl++] = (live_t){ (uint32_t)i, st[i].live_bytes, st[i].live_count };
	qsort(live, nl, sizeof *live, live_cmp);
	uint64_t cap = log_option_u64(log, "cap", 0);
	uint64_t warn = log_option_u64(log, "warn", 80), crit = log_option_u64(log, "critical", 90);
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
		json_obj_end(&j);
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
			json_str(&j, event_name(log->events[i].kind));
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
		json_arr(&j);
		for (size_t i = 0; i < nl && (!top || i < top); i++) {
			json_obj(&j);
			json_key(&j, "bytes");
			json_u64(&j, live[i].bytes);
			json_key(&j, "count");
			json_u64(&j, live[i].count);
			json_key(&j, "kind");
			json_str(&j, site_kind_name(log->stacks[live[i].stack].kind));
			site_json_frames(&j, sym, &log->stacks[live[i].stack]);
			json_obj_end(&j);
		}
		json_arr_end(&j);
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
		fprintf(out, "  peak       %s tracked (heap %s, mapped %s)\n", a, b, c);
		size_str(last->tracked, a, sizeof a);
		size_str(last->heap, b, sizeof b);
		size_str(last->mapped, c, sizeof c);
		size_str(last->swapped, d, sizeof d);
		fprintf(out, "  final      %s tracked (heap %s, mapped %s, swapped %s)\n", a, b, c, d);
		if (cap) {
			size_str(cap, a, sizeof a);
			fprintf(out, "  cap        %s, warn at %" PRIu64 "%%, critical at %" PRIu64
				"%%, at the cap: %s\n", a, warn, crit, on_cap ? on_cap : "fail");
		} else {
			fprintf(out, "  cap        none\n");
		}
		if (!log->nevents)
			fprintf(out, "  events     none\n");
		for (size_t i = 0; i < log->nevents; i++) {
			size_str(log->events[i].bytes, a, sizeof a);
			fprintf(out, "  %-10s ", i ? "" : "events");
			table_put(out, o->color, log->events[i].kind == AG_EV_WARN ? TONE_WARN : TONE_BAD,
				  event_name(log->events[i].kind));
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
		if (nl) {
			fprintf(out, "\nlive at the last snapshot, by site:\n");
			static const char *const head[] = { "BYTES", "BLOCKS", "SITE" };
			static const col_align_t al[] = { COL_RIGHT, COL_RIGHT, COL_LEFT };
			table_t t;
			table_init(&t, 3, head, al);
			for (size_t i = 0; i < nl && i < top; i++) {
				const ag_stack_t *s = &log->stacks[live[i].stack];
				char bytes[40], count[24], label[600], full[640];
				size_str(live[i].bytes, bytes, sizeof bytes);
				snprintf(count, sizeof count, "%" PRIu64, live[i].count);
				site_label(sym, s, label, sizeof label);
				if (s->kind != 'h')
					snprintf(full, sizeof full, "[%s] %s", site_kind_name(s->kind), label);
				else
					snprintf(full, sizeof full, "%s", label);
				const char *cells[] = { bytes, count, full };
				table_add(&t, cells, NULL);
				site_more(&t, sym, s);
			}
			table_print(&t, out, o->color);
			table_free(&t);
			if (nl > top)
				fprintf(out, "... and %zu more sites (--top N shows more)\n", nl - top);
		}
	}
	free(cmd);
	free(st);
	free(live);
	return 0;
}
