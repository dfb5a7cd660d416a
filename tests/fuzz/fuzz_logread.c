/* fuzz_logread.c: libFuzzer harness for the log reader and everything that reads the
 * model (replay, leaks, growth, report, diff, symbolization).  Built apart from the CLI and
 * the test suite:
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ipreload -Ianalyzer \
 *     tests/fuzz/fuzz_logread.c analyzer/{logread,model,symbols,json,table,sites}.c \
 *     analyzer/{leaks,growth,diff,report}.c preload/fmt.c \
 *     preload/options.c -ldw -lelf -lm -o build/fuzz_logread
 *   mkdir -p build/fuzz-corpus && build/fuzz_logread -max_len=8192 build/fuzz-corpus tests/data
 * (`make fuzz` does both; FUZZ_SECONDS bounds the run). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "model.h"
#include "reports.h"

static FILE *sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!sink)
		sink = fopen("/dev/null", "w");
	ag_log_t *log = NULL;
	char msg[512];
	if (log_parse("fuzz.log", (const char *)data, size, &log, msg, sizeof msg))
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
