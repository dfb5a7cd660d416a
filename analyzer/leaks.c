/* leaks.c: `allocguard leaks`: blocks live at exit, by stack, split into lost (the R
 * lines of the exit snapshot; directly, or indirectly through other lost blocks) and still
 * reachable (the rest).  JSON lists sites largest first; people read lost sites first,
 * direct before indirect (the direct ones are where the bug is), then reachable ones. */
#include "reports.h"
#include "sites.h"
#include "suppress.h"
#include "table.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int site_cmp(const void *a, const void *b)
{
	const leak_site_t *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	if (x->reachable != y->reachable)
		return x->reachable - y->reachable;
	return x->indirect - y->indirect;
}

static int row_cmp(const void *a, const void *b)
{
	const leak_row_t *x = a, *y = b;
	const site_t *p = x->site, *q = y->site;
	if (p->fig.bytes != q->fig.bytes)
		return p->fig.bytes > q->fig.bytes ? -1 : 1;
	if (p->fig.count != q->fig.count)
		return p->fig.count > q->fig.count ? -1 : 1;
	if (p->id != q->id)
		return p->id < q->id ? -1 : 1;
	return (int)x->status - (int)y->status;
}

static int human_cmp(const void *a, const void *b)
{
	const leak_row_t *x = a, *y = b;
	return x->status != y->status ? (int)x->status - (int)y->status : row_cmp(a, b);
}

int leaks_group(const ag_log_t *log, symbols_t *sym, leaks_t *out)
{
	site_fig_t *fig = calloc(3 * (log->nstacks + 1), sizeof *fig);
	if (!fig)
		return ENOMEM;
	for (size_t i = 0; i < out->nsites; i++) {
		const leak_site_t *x = &out->sites[i];
		if (x->suppressed)
			continue;
		leak_status_t k = x->reachable ? LEAK_REACHABLE : x->indirect ? LEAK_INDIRECT
									    : LEAK_LOST;
		fig[k * (log->nstacks + 1) + x->stack] = (site_fig_t){ x->bytes, x->count, 0, 0 };
	}
	int rc = 0;
	size_t n = 0;
	for (int k = 0; k < 3 && !rc; k++) {
		rc = sites_collect(log, sym, fig + k * (log->nstacks + 1), SITES_BY_BYTES,
				   &out->set[k]);
		n += out->set[k].nsites;
	}
	free(fig);
	out->rows = rc ? NULL : calloc(n + 1, sizeof *out->rows);
	if (!out->rows)
		return ENOMEM;
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; i < out->set[k].nsites; i++)
			out->rows[out->nrows++] = (leak_row_t){ &out->set[k].sites[i], k };
	qsort(out->rows, out->nrows, sizeof *out->rows, row_cmp);
	return 0;
}

int leaks_collect(const ag_log_t *log, leaks_t *out)
{
	memset(out, 0, sizeof *out);
	out->snap = log_final_snap(log, &out->at_exit);
	const ag_snap_t *s = &log->snaps[out->snap];
	const char *check = log_option(log, "leak_check");
	out->unchecked = check && strcmp(check, "no") == 0;
	out->known = !out->unchecked && ((out->at_exit && log_judged(log)) ||
					 (s->why == AG_REASON_ABORT && s->nr > 0));
	ag_stackval_t *st = log_state_at(log, out->snap);
	out->sites = calloc(3 * log->nstacks + 1, sizeof *out->sites);
	if (!st || !out->sites) {
		free(st);
		free(out->sites);
		out->sites = NULL;
		return ENOMEM;
	}
	for (size_t i = 0; i < log->nstacks; i++) {
		const ag_stackval_t *v = &st[i];
		uint64_t lb = v->lost_bytes < v->live_bytes ? v->lost_bytes : v->live_bytes;
		uint64_t lc = v->lost_count < v->live_count ? v->lost_count : v->live_count;
		uint64_t rb = v->live_bytes - lb, rc = v->live_count - lc;
		uint64_t ib = v->indirect_bytes < lb ? v->indirect_bytes : lb;
		uint64_t ic = v->indirect_count < lc ? v->indirect_count : lc;
		if (lb - ib || lc - ic)
			out->sites[out->nsites++] = (leak_site_t){ (uint32_t)i, lb - ib, lc - ic, 0, 0, 0 };
		if (ib || ic)
			out->sites[out->nsites++] = (leak_site_t){ (uint32_t)i, ib, ic, 0, 1, 0 };
		if (lb || lc) {
			out->lost_bytes = ag_sat_add(out->lost_bytes, lb);
			out->lost_count = ag_sat_add(out->lost_count, lc);
			out->indirect_bytes = ag_sat_add(out->indirect_bytes, ib);
			out->indirect_count = ag_sat_add(out->indirect_count, ic);
		}
		if (rb || rc) {
			out->sites[out->nsites++] = (leak_site_t){ (uint32_t)i, rb, rc, 1, 0, 0 };
			out->reach_bytes = ag_sat_add(out->reach_bytes, rb);
			out->reach_count = ag_sat_add(out->reach_count, rc);
		}
	}
	free(st);
	qsort(out->sites, out->nsites, sizeof *out->sites, site_cmp);
	return 0;
}

void leaks_suppress(const ag_log_t *log, symbols_t *sym, struct supp *s, leaks_t *l, int count)
{
	if (!s || !s->n || !l->known)
		return;
	for (size_t i = 0; i < l->nsites; i++) {
		leak_site_t *x = &l->sites[i];
		if (x->reachable || x->suppressed)
			continue;
		supp_rule_t *r = supp_match(s, sym, &log->stacks[x->stack]);
		if (!r)
			continue;
		x->suppressed = 1;
		l->lost_bytes -= x->bytes;
		l->lost_count -= x->count;
		if (x->indirect) {
			l->indirect_bytes -= x->bytes;
			l->indirect_count -= x->count;
		}
		l->supp_bytes = ag_sat_add(l->supp_bytes, x->bytes);
		l->supp_count = ag_sat_add(l->supp_count, x->count);
		if (count) {
			r->bytes = ag_sat_add(r->bytes, x->bytes);
			r->count = ag_sat_add(r->count, x->count);
		}
	}
}

void leaks_free(leaks_t *l)
{
	free(l->sites);
	for (int k = 0; k < 3; k++)
		sites_free(&l->set[k]);
	free(l->rows);
	memset(l, 0, sizeof *l);
}

static void json_total(json_t *j, const char *key, uint64_t bytes, uint64_t count)
{
	json_key(j, key);
	json_obj(j);
	json_key(j, "bytes");
	json_u64(j, bytes);
	json_key(j, "count");
	json_u64(j, count);
	json_obj_end(j);
}

/* Whether a site is shown: --lost-only keeps the lost ones (none when no scan decided). */
static int shown(const leaks_t *l, const leak_row_t *s, const report_opts_t *o)
{
	return !o->lost_only || (l->known && s->status != LEAK_REACHABLE);
}

/* Only when something was suppressed: reports of logs the rules do not touch keep the
 * shape they always had. */
static void json_suppressed(json_t *j, const leaks_t *l, const supp_t *s)
{
	json_key(j, "suppressed");
	json_obj(j);
	json_key(j, "bytes");
	json_u64(j, l->supp_bytes);
	json_key(j, "count");
	json_u64(j, l->supp_count);
	json_key(j, "rules");
	json_arr(j);
	for (size_t i = 0; s && i < s->n; i++) {
		const supp_rule_t *r = &s->rules[i];
		if (!r->bytes && !r->count)
			continue;
		json_obj(j);
		json_key(j, "file");
		json_str(j, r->file);
		json_key(j, "line");
		json_u64(j, (uint64_t)r->line);
		json_key(j, "pattern");
		json_str(j, r->pattern);
		json_key(j, "bytes");
		json_u64(j, r->bytes);
		json_key(j, "count");
		json_u64(j, r->count);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

static void leaks_json(const ag_log_t *log, symbols_t *sym, const leaks_t *l, size_t top,
		       const report_opts_t *o, FILE *out)
{
	json_t j;
	json_init(&j, out);
	json_obj(&j);
	json_total(&j, "total", l->lost_bytes + l->reach_bytes, l->lost_count + l->reach_count);
	json_total(&j, "lost", l->lost_bytes, l->lost_count);
	json_total(&j, "indirectly_lost", l->indirect_bytes, l->indirect_count);
	if (l->unchecked) {
		json_key(&j, "reachable");
		json_str(&j, NULL);   /* live, but no verdict: the total says how much */
	} else {
		json_total(&j, "reachable", l->reach_bytes, l->reach_count);
	}
	json_key(&j, "snapshot");
	json_u64(&j, log->snaps[l->snap].seq);
	json_key(&j, "at_exit");
	json_bool(&j, l->at_exit);
	json_key(&j, "reachability_known");
	json_bool(&j, l->known);
	json_key(&j, "leak_check");
	json_bool(&j, !l->unchecked);
	if (log->has_verdict) {
		/* the exit scan's own word, and the threads it could not stop */
		json_key(&j, "scan");
		json_obj(&j);
		json_key(&j, "verdict");
		json_str(&j, ag_verdict_name(log->verdict));
		json_key(&j, "threads_stopped");
		json_u64(&j, log->threads_stopped);
		json_key(&j, "threads_not_stopped");
		json_u64(&j, log->threads_not_stopped);
		json_obj_end(&j);
	}
	json_key(&j, "estimated");
	json_bool(&j, log_sampled(log));
	if (l->supp_bytes || l->supp_count)
		json_suppressed(&j, l, o->supp);
	json_key(&j, "sites");
	json_arr(&j);
	for (size_t i = 0, n = 0; i < l->nrows && (!top || n < top); i++) {
		const leak_row_t *r = &l->rows[i];
		if (!shown(l, r, o))
			continue;
		n++;
		const ag_stack_t *st = &log->stacks[r->site->stack];
		json_obj(&j);
		json_key(&j, "bytes");
		json_u64(&j, r->site->fig.bytes);
		json_key(&j, "count");
		json_u64(&j, r->site->fig.count);
		json_key(&j, "reachable");
		if (l->known)
			json_bool(&j, r->status == LEAK_REACHABLE);
		else
			json_null(&j);   /* not judged: unknown, never "reachable" */
		if (r->status != LEAK_REACHABLE) {
			json_key(&j, "indirect");
			json_bool(&j, r->status == LEAK_INDIRECT);
		}
		if (r->status != LEAK_REACHABLE && o->print_supp) {
			char e[600];
			supp_entry(sym, st, e, sizeof e);
			json_key(&j, "suppression");
			json_str(&j, e);
		}
		json_key(&j, "stack");
		json_u64(&j, st->id);
		if (!st->nframes) {
			/* no frames: blocks allocated before the guard's constructor ran */
			json_key(&j, "before_start");
			json_bool(&j, 1);
		}
		site_json(&j, log, sym, r->site, 0);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_done(&j);
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* Why an exit scan did not judge, for people. */
static const char *verdict_text(int verdict)
{
	switch (verdict) {
	case AG_VERDICT_SECCOMP:
		return "a seccomp filter was in force: the guard made no call it could punish";
	case AG_VERDICT_UNREADABLE:
		return "process_vm_readv was refused: memory could not be read";
	case AG_VERDICT_NESTED:
		return "the program exited from inside the guard's own code";
	case AG_VERDICT_BUSY:
		return "another scan did not end in time";
	case AG_VERDICT_NO_MEMORY:
		return "no memory for the scan";
	default:
		return "no scan was asked for";
	}
}

/* "lost: ...; still reachable: ..." for a log whose exit scan decided. */
static void print_totals(FILE *out, const leaks_t *l, const char *a, const char *b,
			 size_t nlost, size_t nreach, const report_opts_t *o)
{
	fputs("lost: ", out);
	table_put(out, o->color, l->lost_bytes ? TONE_BAD : TONE_GOOD, a);
	fprintf(out, " in %" PRIu64 " %s (%zu %s", l->lost_count,
		plural(l->lost_count, "block", "blocks"), nlost, plural(nlost, "site", "sites"));
	if (l->indirect_count) {
		char c[40];
		size_str(l->indirect_bytes, c, sizeof c);
		fprintf(out, "; %s in %" PRIu64 " %s only through other lost blocks", c,
			l->indirect_count, plural(l->indirect_count, "block", "blocks"));
	}
	fprintf(out, "); still reachable: %s in %" PRIu64 " %s (%zu %s)\n", b, l->reach_count,
		plural(l->reach_count, "block", "blocks"), nreach, plural(nreach, "site", "sites"));
}

/* The table's rows: the first top rows shown, each with its paths; returns how many
 * more there were. */
static size_t leaks_rows(table_t *t, const ag_log_t *log, symbols_t *sym, const leaks_t *l,
			 size_t top, const report_opts_t *o)
{
	size_t rows = 0, hidden = 0, n = 0;
	const site_t **pick = malloc((l->nrows + 1) * sizeof *pick);
	const leak_row_t **row = malloc((l->nrows + 1) * sizeof *row);
	char *labels = malloc((top < l->nrows ? top : l->nrows) * 640 + 1);
	for (size_t i = 0; pick && row && labels && i < l->nrows; i++) {
		if (!shown(l, &l->rows[i], o))
			continue;
		if (rows++ >= top) {
			hidden++;
			continue;
		}
		row[n] = &l->rows[i];
		pick[n++] = l->rows[i].site;
	}
	if (pick && row && labels)
		sites_labels(log, sym, pick, n, labels, 640);
	for (size_t i = 0; pick && row && labels && i < n; i++) {
		const site_t *x = pick[i];
		char bytes[40], count[24];
		size_str(x->fig.bytes, bytes, sizeof bytes);
		snprintf(count, sizeof count, "%" PRIu64, x->fig.count);
		leak_status_t k = row[i]->status;
		const char *status = !l->known ? "live" : k == LEAK_REACHABLE ? "reachable" :
				     k == LEAK_INDIRECT ? "lost (indirect)" : "lost";
		const char *cells[] = { bytes, count, status, labels + i * 640 };
		tone_t tones[] = { TONE_NONE, TONE_NONE, k == LEAK_REACHABLE ? TONE_WARN : TONE_BAD,
				   TONE_NONE };
		table_add(t, cells, tones);
		site_more_paths(t, log, sym, x, sites_paths(), SITES_BY_BYTES);
	}
	free(pick);
	free(row);
	free(labels);
	return hidden;
}

/* --print-suppressions: a ready entry per lost site, as valgrind's --gen-suppressions. */
static void print_entries(const ag_log_t *log, symbols_t *sym, const leaks_t *l, FILE *out)
{
	fputs("\nsuppressions for the lost sites (put the lines you want in a file given to "
	      "--suppressions):\n", out);
	for (size_t i = 0; i < l->nsites; i++) {
		const leak_site_t *x = &l->sites[i];
		if (x->reachable || x->suppressed)
			continue;
		char e[600], label[600], b[40];
		const ag_stack_t *st = &log->stacks[x->stack];
		supp_entry(sym, st, e, sizeof e);
		site_label(sym, st, label, sizeof label);
		size_str(x->bytes, b, sizeof b);
		fprintf(out, "# %s in %" PRIu64 " %s lost%s at %s\n%s\n", b, x->count,
			plural(x->count, "block", "blocks"), x->indirect ? " (indirectly)" : "", label, e);
	}
}

static void leaks_human(const ag_log_t *log, symbols_t *sym, const leaks_t *l, size_t top,
			const report_opts_t *o, FILE *out)
{
	const ag_snap_t *s = &log->snaps[l->snap];
	char a[40], b[40];
	const char *exe = log->exe ? log->exe : "?";
	if (strrchr(exe, '/'))
		exe = strrchr(exe, '/') + 1;
	fprintf(out, "leaks in %s (pid %" PRIu64 ", %s), snapshot %" PRIu64 " (%s) at %.3f s\n",
		log->path, log->pid, exe, s->seq, s->reason, (double)s->t_ns / 1e9);
	if (l->unchecked)
		fprintf(out, "note: the leak check was off (--leak-check no): no verdict on lost or "
			"reachable blocks was made; showing what was live%s\n",
			l->at_exit ? " at exit" : " at the last snapshot");
	else if (!l->at_exit && s->why == AG_REASON_EXEC)
		fprintf(out, "note: the process replaced its image (exec) after this snapshot, so the "
			"log has no exit snapshot; showing what was live then%s\n",
			l->known ? "" : ", reachability unknown");
	else if (!l->at_exit)
		fprintf(out, "note: the log has no exit snapshot (the process did not exit normally?); "
			"showing what was live at its last snapshot%s\n",
			l->known ? "" : ", reachability unknown");
	else if (!log_judged(log))
		fprintf(out, "note: the exit scan did not judge (%s), so lost and reachable are "
			"unknown\n", verdict_text(log->verdict));
	if (l->at_exit && log->threads_not_stopped)
		fprintf(out, "note: %" PRIu64 " %s not stopped for the exit scan (%s): %s whole "
			"stack was scanned, %s registers not\n", log->threads_not_stopped,
			plural(log->threads_not_stopped, "thread was", "threads were"),
			log->threads_why, plural(log->threads_not_stopped, "its", "their"),
			plural(log->threads_not_stopped, "its", "their"));
	if (log_sampled(log))
		fprintf(out, "note: sampled every %s bytes on average: byte and block figures are "
			"estimates\n", log_option(log, "sample"));
	size_str(l->lost_bytes, a, sizeof a);
	size_str(l->reach_bytes, b, sizeof b);
	size_t nlost = 0, nreach = 0;
	for (size_t i = 0; i < l->nrows; i++)
		*(l->rows[i].status == LEAK_REACHABLE ? &nreach : &nlost) += 1;
	if (!l->known) {
		/* no scan ran: nothing can be called lost or reachable */
		fprintf(out, "live: %s in %" PRIu64 " %s (%zu %s); lost or reachable: unknown\n", b,
			l->reach_count, plural(l->reach_count, "block", "blocks"), nreach,
			plural(nreach, "site", "sites"));
	} else {
		print_totals(out, l, a, b, nlost, nreach, o);
		supp_print_used(o->supp, out, "");
	}
	if (!l->nrows) {
		fputs("nothing was live\n", out);
		return;
	}
	if (o->lost_only && (!l->known || !nlost)) {
		fputs(l->known ? "nothing was lost\n" : l->unchecked ? "no site can be called lost: "
		      "the leak check was off\n" : "no site can be called lost without an exit "
		      "snapshot\n", out);
		return;
	}
	fputc('\n', out);
	static const char *const head[] = { "BYTES", "BLOCKS", "STATUS", "SITE" };
	static const col_align_t al[] = { COL_RIGHT, COL_RIGHT, COL_LEFT, COL_LEFT };
	table_t t;
	table_init(&t, 4, head, al);
	size_t hidden = leaks_rows(&t, log, sym, l, top, o);
	table_print(&t, out, o->color);
	table_free(&t);
	if (hidden)
		fprintf(out, "... and %zu more %s (--top N shows more)\n", hidden,
			plural(hidden, "site", "sites"));
	if (o->print_supp && l->known && nlost)
		print_entries(log, sym, l, out);
}

int leaks_print(const ag_log_t *log, symbols_t *sym, const report_opts_t *o, FILE *out,
		uint64_t *lost_bytes)
{
	leaks_t l;
	int rc = leaks_collect(log, &l);
	if (rc)
		return rc;
	if (o->supp) {
		supp_reset_counts(o->supp);
		leaks_suppress(log, sym, o->supp, &l, 1);
	}
	if ((rc = leaks_group(log, sym, &l))) {
		leaks_free(&l);
		return rc;
	}
	if (o->json) {
		leaks_json(log, sym, &l, o->top, o, out);
	} else {
		qsort(l.rows, l.nrows, sizeof *l.rows, human_cmp);
		leaks_human(log, sym, &l, o->top ? o->top : REPORT_DEFAULT_TOP, o, out);
	}
	if (lost_bytes)
		*lost_bytes = l.lost_bytes;
	leaks_free(&l);
	return 0;
}
