/* model.c: queries on a parsed log and the replay of delta-encoded snapshots into
 * per-stack state, and the growable arrays the reader and symbolizer fill.  Parsing is
 * logread.c's; what the state means is the reports'. */
#include "model.h"
#include "options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *log_option(const ag_log_t *log, const char *name)
{
	for (size_t i = log->nopts; i-- > 0;)
		if (strcmp(log->opts[i].name, name) == 0)
			return log->opts[i].value;
	return NULL;
}

uint64_t log_option_u64(const ag_log_t *log, const char *name, uint64_t def)
{
	const char *v = log_option(log, name);
	if (!v || !*v)
		return def;
	uint64_t x;
	return opt_parse_u64(v, &x) ? def : x;
}

uint64_t log_setting(const ag_log_t *log, const char *name)
{
	ag_config_t d;
	uint64_t def = 0;
	opt_defaults(&d);
	for (size_t i = 0; i < opt_count; i++)
		if (strcmp(opt_table[i].field, name) == 0 && opt_table[i].type != OPT_STR)
			memcpy(&def, (const char *)&d + opt_table[i].offset, sizeof def);
	return log_option_u64(log, name, def);
}

int log_sampled(const ag_log_t *log)
{
	return log_option_u64(log, "sample", 0) > 0;
}

int log_judged(const ag_log_t *log)
{
	return !log->has_verdict || log->verdict == AG_VERDICT_JUDGED;
}

size_t log_final_snap(const ag_log_t *log, int *is_exit)
{
	for (size_t i = log->nsnaps; i-- > 0;) {
		if (log->snaps[i].why == AG_REASON_EXIT) {
			if (is_exit)
				*is_exit = 1;
			return i;
		}
	}
	if (is_exit)
		*is_exit = 0;
	return log->nsnaps ? log->nsnaps - 1 : 0;
}

size_t log_snap_by_seq(const ag_log_t *log, uint64_t seq)
{
	/* seqs are 0, 1, 2, ... in order (the reader enforces it) */
	if (seq < log->nsnaps && log->snaps[seq].seq == seq)
		return (size_t)seq;
	return (size_t)-1;
}

size_t log_snap_by_label(const ag_log_t *log, const char *label)
{
	for (size_t k = log->nsnaps; k-- > 0;)
		if (log->snaps[k].why == AG_REASON_LABEL && strcmp(log->snaps[k].label, label) == 0)
			return k;
	return (size_t)-1;
}

size_t log_snap_by_name(const ag_log_t *log, const char *which)
{
	if (!which)
		return log->nsnaps ? log->nsnaps - 1 : (size_t)-1;
	size_t i = 0;
	while (which[i] >= '0' && which[i] <= '9')
		i++;
	if (i == 0 || which[i])
		return log_snap_by_label(log, which);
	errno = 0;
	unsigned long long n = strtoull(which, NULL, 10);
	return errno ? (size_t)-1 : log_snap_by_seq(log, n);
}

void log_apply(const ag_log_t *log, size_t k, ag_stackval_t *state)
{
	const ag_snap_t *s = &log->snaps[k];
	for (size_t i = 0; i < s->nl; i++) {
		ag_stackval_t *v = &state[s->l[i].stack];
		v->live_bytes = s->l[i].live_bytes;
		v->live_count = s->l[i].live_count;
		v->total_bytes = s->l[i].total_bytes;
		v->total_count = s->l[i].total_count;
		v->temp_count = s->l[i].temp_count;
	}
	for (size_t i = 0; i < s->nt; i++) {
		ag_stackval_t *v = &state[s->t[i].stack];
		v->peak_bytes = s->t[i].bytes;
		v->peak_count = s->t[i].count;
	}
	/* lost figures describe one exit snapshot only */
	for (size_t i = 0; i < log->nstacks; i++)
		state[i].lost_bytes = state[i].lost_count = state[i].indirect_bytes =
			state[i].indirect_count = 0;
	for (size_t i = 0; i < s->nr; i++) {
		ag_stackval_t *v = &state[s->r[i].stack];
		v->lost_bytes = ag_sat_add(v->lost_bytes, s->r[i].lost_bytes);
		v->lost_count = ag_sat_add(v->lost_count, s->r[i].lost_count);
		v->indirect_bytes = ag_sat_add(v->indirect_bytes, s->r[i].indirect_bytes);
		v->indirect_count = ag_sat_add(v->indirect_count, s->r[i].indirect_count);
	}
}

ag_stackval_t *log_state_at(const ag_log_t *log, size_t k)
{
	ag_stackval_t *st = calloc(log->nstacks ? log->nstacks : 1, sizeof *st);
	if (!st)
		return NULL;
	for (size_t i = 0; i <= k && i < log->nsnaps; i++)
		log_apply(log, i, st);
	return st;
}

void log_warn_damage(const ag_log_t *log, FILE *err)
{
	if (log->nclamped)
		fprintf(err, "allocguard: %s: the figures of %zu snapshot%s disagreed (first: snapshot "
			"%llu, %s); their peaks were raised to agree, every snapshot is used\n",
			log->path, log->nclamped, log->nclamped == 1 ? "" : "s",
			(unsigned long long)log->clamped_seq, log->clamped);
	if (!log->damage_line)
		return;
	fprintf(err, "allocguard: %s:%zu: %s; using the %zu complete snapshot%s before it\n",
		log->path, log->damage_line, log->damage, log->nsnaps,
		log->nsnaps == 1 ? "" : "s");
}

int ag_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	while (nc < need)
		nc *= 2;
	void *p = realloc(*arr, nc * elem);
	if (!p)
		return ENOMEM;
	*arr = p;
	*cap = nc;
	return 0;
}
