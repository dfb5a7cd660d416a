/* export_collapsed.c: `allocguard export --format collapsed`: one line per stack of one
 * snapshot, "root;caller;...;leaf VALUE" (Brendan Gregg's folded stacks, which
 * flamegraph.pl, speedscope and inferno read).  Stacks of mappings and swapped files get a
 * "[mmap]"/"[swap]" root so they stand apart from the heap. */
#include "exports.h"
#include "logfmt.h"
#include "sites.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ';' separates frames and a trailing space number ends the line: keep both out of names. */
static void put_name(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc(*s == ';' ? ':' : *s == '\n' ? ' ' : *s, out);
}

int export_collapsed(const ag_log_t *log, symbols_t *sym, size_t snap, export_sample_t s,
		     FILE *out)
{
	ag_stackval_t *st = log_state_at(log, snap);
	if (!st)
		return ENOMEM;
	for (size_t i = 0; i < log->nstacks; i++) {
		uint64_t v = export_sample_value(&st[i], s);
		if (!v)
			continue;
		const ag_stack_t *sk = &log->stacks[i];
		int first = 1;
		if (sk->kind != AG_KIND_HEAP) {
			fprintf(out, "[%s]", site_kind_name(sk->kind));
			first = 0;
		}
		for (uint32_t k = sk->nframes; k-- > 0;) {
			const ag_frame_t *fr[EXPORT_MAX_INLINE];
			size_t nf = export_frames(sym, sk->frames[k], fr, EXPORT_MAX_INLINE);
			/* the outermost of an address's inline frames is the caller: root first */
			for (size_t j = nf; j-- > 0;) {
				char name[1024];
				export_frame_name(fr[j], name, sizeof name);
				if (!first)
					fputc(';', out);
				put_name(out, name);
				first = 0;
			}
		}
		if (first)
			fputs("(no frames)", out);
		fprintf(out, " %" PRIu64 "\n", v);
	}
	free(st);
	return ferror(out) ? EIO : 0;
}
