/* export_json.c: `allocguard export --format json`: the whole log as one JSON document for
 * scripts: the process, its options, modules, cap events, swapped files, every call site
 * with its frames (inlined calls as frames of their own), and every snapshot with its
 * totals and the sites whose figures changed since the previous one (the log's own delta
 * encoding: a site absent from a snapshot keeps its figures).  Every figure of `report`,
 * `leaks` and `growth` can be recomputed from it. */
#include "exports.h"
#include "json.h"
#include "reports.h"
#include "sites.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The shape's version: bump when a field changes meaning; new fields keep it. */
#define EXPORT_JSON_VERSION 1

static void hex(json_t *j, const char *key, uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof buf, "0x%" PRIx64, v);
	json_key(j, key);
	json_str(j, buf);
}

static void put_frames(json_t *j, symbols_t *sym, const ag_stack_t *st)
{
	json_key(j, "frames");
	json_arr(j);
	for (uint32_t i = 0; i < st->nframes; i++) {
		const ag_frame_t *fr[EXPORT_MAX_INLINE];
		size_t nf = export_frames(sym, st->frames[i], fr, EXPORT_MAX_INLINE);
		for (size_t k = 0; k < nf; k++) {
			const ag_frame_t *f = fr[k];
			json_obj(j);
			site_json_frame_fields(j, f);
			json_key(j, "jit");
			json_bool(j, f->jit);
			/* all but the last of an address's frames were inlined into it */
			json_key(j, "inlined");
			json_bool(j, k + 1 < nf);
			json_obj_end(j);
		}
	}
	json_arr_end(j);
}

static void put_process(json_t *j, const ag_log_t *log)
{
	char *cmd = report_command(log);
	json_key(j, "process");
	json_obj(j);
	json_key(j, "pid");
	json_u64(j, log->pid);
	json_key(j, "ppid");
	json_u64(j, log->ppid);
	json_key(j, "start_unix_ns");
	json_u64(j, log->start_ns);
	json_key(j, "exe");
	json_str(j, log->exe);
	json_key(j, "command");
	json_str(j, cmd);
	json_key(j, "argv");
	json_arr(j);
	for (size_t i = 0; i < log->argc; i++)
		json_str(j, log->argv[i]);
	json_arr_end(j);
	json_obj_end(j);
	free(cmd);
}

static void put_options(json_t *j, const ag_log_t *log)
{
	json_key(j, "options");
	json_obj(j);
	/* a later O line overrides an earlier one, as log_option reads them */
	for (size_t i = 0; i < log->nopts; i++) {
		size_t k = i + 1;
		while (k < log->nopts && strcmp(log->opts[k].name, log->opts[i].name) != 0)
			k++;
		if (k < log->nopts)
			continue;
		json_key(j, log->opts[i].name);
		json_str(j, log->opts[i].value);
	}
	json_obj_end(j);
	json_key(j, "sampled");
	json_bool(j, log_sampled(log));
}

static void put_modules(json_t *j, const ag_log_t *log)
{
	json_key(j, "modules");
	json_arr(j);
	for (size_t i = 0; i < log->nmodules; i++) {
		const ag_module_t *m = &log->modules[i];
		json_obj(j);
		json_key(j, "path");
		json_str(j, m->path);
		json_key(j, "build_id");
		json_str(j, m->build_id);
		hex(j, "bias", m->bias);
		hex(j, "lo", m->lo);
		hex(j, "hi", m->hi);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_key(j, "jit_maps");
	json_arr(j);
	for (size_t i = 0; i < log->njitmaps; i++)
		json_str(j, log->jitmaps[i]);
	json_arr_end(j);
}

static void put_events(json_t *j, const ag_log_t *log)
{
	json_key(j, "events");
	json_arr(j);
	for (size_t i = 0; i < log->nevents; i++) {
		json_obj(j);
		json_key(j, "kind");
		json_str(j, ag_cap_event_name(log->events[i].kind));
		json_key(j, "t_ns");
		json_u64(j, log->events[i].t_ns);
		json_key(j, "bytes");
		json_u64(j, log->events[i].bytes);
		json_key(j, "request");
		json_u64(j, log->events[i].request);
		if (log->events[i].have_stack) {
			/* the index into the top-level "sites" */
			json_key(j, "site");
			json_u64(j, log->events[i].stack);
		}
		json_obj_end(j);
	}
	json_arr_end(j);
	json_key(j, "swapped");
	json_arr(j);
	for (size_t i = 0; i < log->nswaps; i++) {
		json_obj(j);
		json_key(j, "path");
		json_str(j, log->swaps[i].path);
		json_key(j, "bytes");
		json_u64(j, log->swaps[i].bytes);
		json_key(j, "mode");
		json_str(j, log->swaps[i].mode);
		json_key(j, "t_ns");
		json_u64(j, log->swaps[i].t_ns);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* Each stack with its frames, and "group": the index of the first stack of its site (the
 * reports' sites add up their groups: sites.h). */
static void put_sites(json_t *j, const ag_log_t *log, symbols_t *sym)
{
	uint32_t *group = sites_of(log, sym);
	json_key(j, "sites");
	json_arr(j);
	for (size_t i = 0; i < log->nstacks; i++) {
		json_obj(j);
		json_key(j, "stack");
		json_u64(j, log->stacks[i].id);
		json_key(j, "group");
		json_u64(j, group ? group[i] : i);
		json_key(j, "kind");
		json_str(j, site_kind_name(log->stacks[i].kind));
		put_frames(j, sym, &log->stacks[i]);
		/* the stack's requested sizes over the run (its H line as of the last snapshot):
		 * [] for a stack that made no malloc-family call, null for a log without H lines */
		if (log_has_stack_sizes(log)) {
			const ag_sizehist_t *h = log_stack_sizes(log, (uint32_t)i);
			sizes_json(j, h ? h->bins : NULL, h ? h->nbins : 0);
		} else {
			json_key(j, "sizes");
			json_null(j);
		}
		json_obj_end(j);
	}
	json_arr_end(j);
	free(group);
}

static void u64_field(json_t *j, const char *k, uint64_t v)
{
	json_key(j, k);
	json_u64(j, v);
}

static void put_snapshots(json_t *j, const ag_log_t *log)
{
	json_key(j, "snapshots");
	json_arr(j);
	for (size_t i = 0; i < log->nsnaps; i++) {
		const ag_snap_t *s = &log->snaps[i];
		json_obj(j);
		u64_field(j, "seq", s->seq);
		u64_field(j, "t_ns", s->t_ns);
		json_key(j, "reason");
		json_str(j, s->reason);
		u64_field(j, "tracked", s->tracked);
		u64_field(j, "heap", s->heap);
		u64_field(j, "mapped", s->mapped);
		u64_field(j, "swapped", s->swapped);
		u64_field(j, "peak_tracked", s->peak_tracked);
		u64_field(j, "peak_heap", s->peak_heap);
		u64_field(j, "peak_mapped", s->peak_mapped);
		/* "site" is the index into the top-level "sites" */
		json_key(j, "changes");
		json_arr(j);
		for (size_t k = 0; k < s->nl; k++) {
			json_obj(j);
			u64_field(j, "site", s->l[k].stack);
			u64_field(j, "live_bytes", s->l[k].live_bytes);
			u64_field(j, "live_count", s->l[k].live_count);
			u64_field(j, "total_bytes", s->l[k].total_bytes);
			u64_field(j, "total_count", s->l[k].total_count);
			u64_field(j, "temporary", s->l[k].temp_count);
			json_obj_end(j);
		}
		json_arr_end(j);
		json_key(j, "lost");
		json_arr(j);
		for (size_t k = 0; k < s->nr; k++) {
			json_obj(j);
			u64_field(j, "site", s->r[k].stack);
			u64_field(j, "bytes", s->r[k].lost_bytes);
			u64_field(j, "count", s->r[k].lost_count);
			json_obj_end(j);
		}
		json_arr_end(j);
		/* the peak so far split by kind (K), and what each site had then (T, delta
		 * encoded like "changes") */
		json_key(j, "peak");
		if (s->have_peak) {
			json_obj(j);
			u64_field(j, "tracked", s->at_peak_tracked);
			u64_field(j, "heap", s->at_peak_heap);
			u64_field(j, "mapped", s->at_peak_mapped);
			u64_field(j, "swapped", s->at_peak_swapped);
			json_obj_end(j);
		} else {
			json_null(j);
		}
		json_key(j, "at_peak");
		json_arr(j);
		for (size_t k = 0; k < s->nt; k++) {
			json_obj(j);
			u64_field(j, "site", s->t[k].stack);
			u64_field(j, "bytes", s->t[k].bytes);
			u64_field(j, "count", s->t[k].count);
			json_obj_end(j);
		}
		json_arr_end(j);
		/* requested sizes so far (Z), by power-of-two bucket; null without */
		json_key(j, "sizes");
		if (s->have_sizes) {
			json_arr(j);
			for (unsigned b = 0; b < AG_SIZE_BUCKETS; b++)
				json_u64(j, s->sizes[b]);
			json_arr_end(j);
		} else {
			json_null(j);
		}
		json_obj_end(j);
	}
	json_arr_end(j);
}

int export_json(const ag_log_t *log, symbols_t *sym, FILE *out)
{
	json_t j;
	json_init(&j, out);
	json_obj(&j);
	json_key(&j, "allocguard_export");
	json_u64(&j, EXPORT_JSON_VERSION);
	json_key(&j, "log");
	json_str(&j, log->path);
	json_key(&j, "log_version");
	json_u64(&j, log->version);
	json_key(&j, "damage");
	if (log->damage_line) {
		json_obj(&j);
		u64_field(&j, "line", log->damage_line);
		json_key(&j, "what");
		json_str(&j, log->damage);
		json_obj_end(&j);
	} else {
		json_null(&j);
	}
	put_process(&j, log);
	put_options(&j, log);
	put_modules(&j, log);
	put_events(&j, log);
	put_sites(&j, log, sym);
	put_snapshots(&j, log);
	json_obj_end(&j);
	json_done(&j);
	return ferror(out) ? EIO : 0;
}
