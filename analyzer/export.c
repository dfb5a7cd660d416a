/* export.c: what the exports and the plot share (see exports.h): sample types, the frames
 * of an address, frame names, and which snapshot "N" or "peak" means. */
#include "exports.h"
#include "reports.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const sample_names[] = {
#define X(e, name, unit) name,
	EXPORT_SAMPLE_LIST(X)
#undef X
};
static const char *const sample_units[] = {
#define X(e, name, unit) unit,
	EXPORT_SAMPLE_LIST(X)
#undef X
};

const char *export_sample_name(export_sample_t s)
{
	return s < EXPORT_NSAMPLE ? sample_names[s] : "?";
}

const char *export_sample_unit(export_sample_t s)
{
	return s < EXPORT_NSAMPLE ? sample_units[s] : "?";
}

int export_sample_parse(const char *name, export_sample_t *out)
{
	for (int i = 0; i < EXPORT_NSAMPLE; i++)
		if (strcmp(name, sample_names[i]) == 0) {
			*out = (export_sample_t)i;
			return 0;
		}
	return EINVAL;
}

uint64_t export_sample_value(const ag_stackval_t *v, export_sample_t s)
{
	switch (s) {
	case EXPORT_ALLOC_OBJECTS: return v->total_count;
	case EXPORT_ALLOC_SPACE: return v->total_bytes;
	case EXPORT_INUSE_OBJECTS: return v->live_count;
	case EXPORT_INUSE_SPACE: return v->live_bytes;
	default: return 0;
	}
}

size_t export_frames(symbols_t *sym, uint64_t addr, const ag_frame_t **out, size_t max)
{
	size_t n = 0;
	for (const ag_frame_t *f = symbols_lookup(sym, addr); f && n < max; f = f->outer)
		out[n++] = f;   /* the inlined calls first, then the function they are in */
	return n;
}

void export_frame_name(const ag_frame_t *f, char *buf, size_t len)
{
	if (f->function)
		snprintf(buf, len, "%s", f->function);
	else if (f->module) {
		const char *b = strrchr(f->module, '/');
		snprintf(buf, len, "%s+0x%" PRIx64, b ? b + 1 : f->module, f->offset);
	} else
		snprintf(buf, len, "0x%" PRIx64, f->address);
}

uint64_t export_peak(const ag_log_t *log, size_t *snap)
{
	uint64_t most = 0;
	size_t at = 0;
	for (size_t i = 0; i < log->nsnaps; i++) {
		const ag_snap_t *s = &log->snaps[i];
		if (s->tracked > most || i == 0) {
			most = s->tracked;
			at = i;
		}
	}
	if (snap)
		*snap = at;
	return report_peak(log).bytes;
}

int export_pick_snapshot(const ag_log_t *log, const char *spec, size_t *snap, char *msg,
			 size_t msglen)
{
	if (!spec) {
		*snap = log->nsnaps - 1;
		return 0;
	}
	if (strcmp(spec, "peak") == 0) {
		export_peak(log, snap);
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long n = strtoull(spec, &end, 10);
	if (*spec && *end && spec[0] != '-' && spec[0] != '+') {   /* a label */
		*snap = log_snap_by_label(log, spec);
		if (*snap != (size_t)-1)
			return 0;
		snprintf(msg, msglen, "%s has no snapshot labeled '%s'", log->path, spec);
		return EINVAL;
	}
	if (!*spec || *end || errno || spec[0] == '-') {
		snprintf(msg, msglen, "--snapshot='%s': expected a snapshot number, a label or 'peak'",
			 spec);
		return EINVAL;
	}
	*snap = log_snap_by_seq(log, n);
	if (*snap == (size_t)-1) {
		snprintf(msg, msglen, "%s has no snapshot %llu (it has 0 to %zu)", log->path, n,
			 log->nsnaps - 1);
		return EINVAL;
	}
	return 0;
}
