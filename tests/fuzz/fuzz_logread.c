/* fuzz_logread.c: libFuzzer harness for the log reader and everything that reads the
 * model (replay, leaks, growth, report, diff, symbolization).  Built apart from the CLI and
 * the test suite:
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ipreload -Ianalyzer \
 *     tests/fuzz/fuzz_logread.c analyzer/{logread*,model,symbols*,json,table,sites}.c \
 *     analyzer/{leaks,growth,diff,report}.c preload/fmt.c \
 *     preload/options.c -ldw -lelf -lm -o build/fuzz_logread
 *   mkdir -p build/fuzz-corpus && build/fuzz_logread -max_len=8192 build/fuzz-corpus tests/data
 * (`make fuzz` does both; FUZZ_SECONDS bounds the run).
 * Inputs that start with the gzip magic go through the reader's inflate path as they are;
 * every other input is also gzipped here (a sync flush midway, as the preload writes) and
 * read again, whole and cut at a point the input picks: the whole stream must read exactly
 * as the text did, the cut one to no more snapshots. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "model.h"
#include "reports.h"

static FILE *sink;

/* The input as the preload would write it: gzip, a sync flush at its middle. */
static uint8_t *gzip_of(const uint8_t *data, size_t size, size_t *out_len)
{
	z_stream zs = { 0 };
	size_t cap = size + size / 8 + 256;
	uint8_t *out = malloc(cap);
	if (!out || deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	zs.next_in = (Bytef *)data;
	zs.avail_in = (uInt)(size / 2);
	deflate(&zs, Z_SYNC_FLUSH);
	zs.avail_in = (uInt)(size - size / 2);
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		abort();
	*out_len = cap - zs.avail_out;
	deflateEnd(&zs);
	return out;
}

static void gzip_agrees(const uint8_t *data, size_t size, const ag_log_t *plain)
{
	size_t n;
	uint8_t *gz = gzip_of(data, size, &n);
	char msg[512];
	ag_log_t *log = NULL;
	int rc = log_parse("fuzz.log", (const char *)gz, n, &log, msg, sizeof msg);
	if ((rc == 0) != (plain != NULL) ||
	    (plain && (log->nsnaps != plain->nsnaps || log->damage_line != plain->damage_line)))
		abort();   /* the same text, compressed, must read the same */
	size_t cut = size ? (data[size - 1] * 131u + size) % n : 0;
	ag_log_t *part = NULL;
	if (log_parse("fuzz.log", (const char *)gz, cut, &part, msg, sizeof msg) == 0 &&
	    (!plain || part->nsnaps > plain->nsnaps))
		abort();
	log_free(part);
	log_free(log);
	free(gz);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!sink)
		sink = fopen("/dev/null", "w");
	ag_log_t *log = NULL;
	char msg[512];
	int rc = log_parse("fuzz.log", (const char *)data, size, &log, msg, sizeof msg);
	if (!(size >= 2 && data[0] == 0x1f && data[1] == 0x8b))
		gzip_agrees(data, size, rc ? NULL : log);
	if (rc)
		return 0;
	symbols_t *sym = symbols_open(log, NULL);
	if (sym) {
		report_opts_t o = { 0 };
		for (int json = 0; json < 2; json++) {
			o.json = json;
			leaks_print(log, sym, &o, sink, NULL);
			growth_print(log, sym, &o, sink);
			report_print(log, sym, &o, sink);
			diff_print(log, 0, sym, log, log->nsnaps - 1, sym, &o, sink);
		}
		symbols_close(sym);
	}
	log_warn_damage(log, sink);
	log_free(log);
	return 0;
}
