/* logread_snap.c: the parsers of a snapshot's records (B L R K T Z E, preload/logfmt.h)
 * and the durability rule: a snapshot is counted only when its E line is complete and
 * matches; figures that merely disagree are made to agree and noted (agree()). */
#include "logread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int rec_begin(reader_t *r, const fields_t *fl)
{
	uint64_t v[2];
	int rc;
	if (fl->count != 4 && fl->count != 5)
		return lr_damage(r, "B line has %zu fields, expected 4 or 5", fl->count);
	if ((rc = lr_nums(r, fl, 1, 2, v, "B")))
		return rc;
	if (r->open)
		return lr_damage(r, "snapshot %llu begins before snapshot %llu ended",
			      (unsigned long long)v[0], (unsigned long long)r->cur.seq);
	int why = ag_reason_parse(fl->f[3], fl->n[3]);
	if (why < 0)
		return lr_damage(r, "B line: unknown snapshot reason '%.*s'",
			      (int)(fl->n[3] > 20 ? 20 : fl->n[3]), fl->f[3]);
	ag_log_t *log = r->log;
	uint64_t want = log->nsnaps ? log->snaps[log->nsnaps - 1].seq + 1 : 0;
	if (v[0] != want)
		return lr_damage(r, "snapshot %llu where %llu was expected",
			      (unsigned long long)v[0], (unsigned long long)want);
	if (log->nsnaps && v[1] < log->snaps[log->nsnaps - 1].t_ns)
		return lr_damage(r, "snapshot %llu goes back in time", (unsigned long long)v[0]);
	if ((why == AG_REASON_LABEL) != (fl->count == 5))
		return lr_damage(r, "B line: a label goes with reason 'label' and only with it");
	memset(&r->cur, 0, sizeof r->cur);
	if (why == AG_REASON_LABEL) {
		char *label;
		if ((rc = lr_unescape(r, fl->f[4], fl->n[4], &label)))
			return rc;
		size_t n = strlen(label);
		if (n == 0 || n > AG_LABEL_MAX || strchr(label, '@')) {
			free(label);
			return lr_damage(r, "B line: a label is 1..%d bytes without '@'", AG_LABEL_MAX);
		}
		memcpy(r->cur.label, label, n + 1);
		free(label);
	}
	r->cur_cap_l = r->cur_cap_r = r->cur_cap_t = 0;
	r->cur.seq = v[0];
	r->cur.t_ns = v[1];
	memcpy(r->cur.reason, fl->f[3], fl->n[3]);
	r->cur.why = why;
	r->open = 1;
	r->cur_line = r->line;
	return 0;
}

static int stack_ref(reader_t *r, const fields_t *fl, uint32_t *idx, const char *what)
{
	uint64_t id;
	if (!r->open)
		return lr_damage(r, "%s line outside a snapshot", what);
	if (lr_dec(fl->f[1], fl->n[1], &id))
		return lr_damage(r, "%s line: stack id is not a decimal number", what);
	if (lr_idx_find(r->log, id, idx))
		return lr_damage(r, "%s line: stack %llu was never defined by an S line", what,
			      (unsigned long long)id);
	return 0;
}

int rec_live(reader_t *r, const fields_t *fl)
{
	ag_lrec_t l;
	uint64_t v[5] = { 0 };
	int rc;
	size_t want = r->log->version >= 2 ? 7 : 6;
	if ((rc = lr_want(r, fl, want, "L")) || (rc = stack_ref(r, fl, &l.stack, "L")) ||
	    (rc = lr_nums(r, fl, 2, want - 2, v, "L")))
		return rc;
	if (v[0] > v[2] || v[1] > v[3])
		return lr_damage(r, "L line: more live than ever allocated");
	if (v[4] > v[3])
		return lr_damage(r, "L line: more temporary allocations than allocations");
	l.temp_count = v[4];
	l.live_bytes = v[0];
	l.live_count = v[1];
	l.total_bytes = v[2];
	l.total_count = v[3];
	return AG_PUSH(r->cur.l, r->cur.nl, r->cur_cap_l, l);
}

int rec_lost(reader_t *r, const fields_t *fl)
{
	ag_rrec_t x;
	uint64_t v[4] = { 0, 0, 0, 0 };
	int rc;
	if (fl->count != 4 && fl->count != 6)
		return lr_damage(r, "R line has %zu fields, expected 4 or 6", fl->count);
	if ((rc = stack_ref(r, fl, &x.stack, "R")) ||
	    (rc = lr_nums(r, fl, 2, fl->count - 2, v, "R")))
		return rc;
	if (v[2] > v[0] || v[3] > v[1])
		return lr_damage(r, "R line: more lost indirectly than lost");
	if (r->cur.why != AG_REASON_EXIT && r->cur.why != AG_REASON_ABORT)
		return lr_damage(r, "R line in a '%s' snapshot (only exit snapshots have them)",
			      r->cur.reason);
	x.lost_bytes = v[0];
	x.lost_count = v[1];
	x.indirect_bytes = v[2];
	x.indirect_count = v[3];
	return AG_PUSH(r->cur.r, r->cur.nr, r->cur_cap_r, x);
}

/* Raise one figure to a floor it must not be below; names the first disagreement. */
static void floor_to(uint64_t *v, uint64_t floor, const char *what, const char **first)
{
	if (*v >= floor)
		return;
	*v = floor;
	if (!*first)
		*first = what;
}

/* An E line's figures must agree (preload/logfmt.h): tracked is the sum of the kinds, a
 * peak is at least its current value and no lower than in the snapshot before, and the
 * tracked peak at least each kind's.  Figures that disagree (older writers read the totals
 * while a peak was still being raised) are not damage: the line is well formed and the
 * totals are exact, so the snapshot is kept with its peaks raised to agree, and the log
 * notes it once (log_warn_damage). */
static void agree(reader_t *r, ag_snap_t *s)
{
	const char *first = NULL;
	uint64_t sum = s->heap + s->mapped + s->swapped;
	if (s->tracked != sum) {
		s->tracked = sum;
		first = "tracked is not heap + mapped + swapped";
	}
	const ag_log_t *log = r->log;
	if (log->nsnaps) {
		const ag_snap_t *p = &log->snaps[log->nsnaps - 1];
		floor_to(&s->peak_heap, p->peak_heap, "a peak fell since the snapshot before", &first);
		floor_to(&s->peak_mapped, p->peak_mapped, "a peak fell since the snapshot before",
			 &first);
		floor_to(&s->peak_tracked, p->peak_tracked, "a peak fell since the snapshot before",
			 &first);
	}
	floor_to(&s->peak_heap, s->heap, "a peak is below its current value", &first);
	floor_to(&s->peak_mapped, s->mapped, "a peak is below its current value", &first);
	floor_to(&s->peak_tracked, s->tracked, "a peak is below its current value", &first);
	floor_to(&s->peak_tracked, s->peak_heap, "the tracked peak is below the heap peak", &first);
	floor_to(&s->peak_tracked, s->peak_mapped, "the tracked peak is below the mapped peak",
		 &first);
	if (!first)
		return;
	ag_log_t *w = r->log;
	if (!w->nclamped++) {
		w->clamped_seq = s->seq;
		snprintf(w->clamped, sizeof w->clamped, "%s", first);
	}
}

int rec_peak(reader_t *r, const fields_t *fl)
{
	uint64_t v[4];
	int rc;
	if ((rc = lr_want(r, fl, 5, "K")) || (rc = lr_nums(r, fl, 1, 4, v, "K")))
		return rc;
	if (!r->open)
		return lr_damage(r, "K line outside a snapshot");
	if (r->cur.have_peak)
		return lr_damage(r, "snapshot %llu has two K lines", (unsigned long long)r->cur.seq);
	r->cur.have_peak = 1;
	r->cur.at_peak_tracked = v[0];
	r->cur.at_peak_heap = v[1];
	r->cur.at_peak_mapped = v[2];
	r->cur.at_peak_swapped = v[3];
	return 0;
}

int rec_sizes(reader_t *r, const fields_t *fl)
{
	int rc;
	if (!r->open)
		return lr_damage(r, "Z line outside a snapshot");
	if (r->cur.have_sizes)
		return lr_damage(r, "snapshot %llu has two Z lines", (unsigned long long)r->cur.seq);
	if (fl->count < 2 || fl->count > 1 + AG_SIZE_BUCKETS)
		return lr_damage(r, "Z line has %zu fields, expected 2 to %d", fl->count,
			      1 + AG_SIZE_BUCKETS);
	if ((rc = lr_nums(r, fl, 1, fl->count - 1, r->cur.sizes, "Z")))
		return rc;
	r->cur.have_sizes = 1;
	return 0;
}

int rec_at_peak(reader_t *r, const fields_t *fl)
{
	ag_trec_t t;
	uint64_t v[2];
	int rc;
	if ((rc = lr_want(r, fl, 4, "T")) || (rc = stack_ref(r, fl, &t.stack, "T")) ||
	    (rc = lr_nums(r, fl, 2, 2, v, "T")))
		return rc;
	t.bytes = v[0];
	t.count = v[1];
	return AG_PUSH(r->cur.t, r->cur.nt, r->cur_cap_t, t);
}

int rec_end(reader_t *r, const fields_t *fl)
{
	uint64_t v[9];
	int rc;
	if ((rc = lr_want(r, fl, 10, "E")) || (rc = lr_nums(r, fl, 1, 9, v, "E")))
		return rc;
	if (!r->open)
		return lr_damage(r, "E line outside a snapshot");
	if (v[0] != r->cur.seq)
		return lr_damage(r, "E line ends snapshot %llu but snapshot %llu is open",
			      (unsigned long long)v[0], (unsigned long long)r->cur.seq);
	if (v[8] != r->cur.nl + r->cur.nr + r->cur.nt)
		return lr_damage(r, "snapshot %llu: E line counts %llu records, %zu were read",
			      (unsigned long long)v[0], (unsigned long long)v[8],
			      r->cur.nl + r->cur.nr + r->cur.nt);
	ag_snap_t *s = &r->cur;
	s->tracked = v[1];
	s->heap = v[2];
	s->mapped = v[3];
	s->swapped = v[4];
	s->peak_tracked = v[5];
	s->peak_heap = v[6];
	s->peak_mapped = v[7];
	if (s->heap > UINT64_MAX - s->mapped || s->heap + s->mapped > UINT64_MAX - s->swapped)
		return lr_damage(r, "snapshot %llu: E line totals overflow", (unsigned long long)v[0]);
	agree(r, s);
	if ((rc = AG_PUSH(r->log->snaps, r->log->nsnaps, r->cap_snap, r->cur)))
		return rc;
	memset(&r->cur, 0, sizeof r->cur);
	r->open = 0;
	return 0;
}
