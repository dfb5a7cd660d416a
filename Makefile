# Makefile: builds build/liballocguard.so (the preload) and build/allocguard (the CLI).
#   make            build both            make test      unit + integration tests
#   make demo       leak + growth demo    make install   PREFIX=/usr/local (uninstall too)
#   make stress     long stress loops
#   make bench      overhead suite        make fuzz      fuzz the log reader (libFuzzer)
#   make bench-instr  instruction counts (callgrind)
# Quiet unless V=1.  Missing Debian packages are installed when root (see .ci/deps.sh).

V ?= 0
Q := $(if $(filter 1,$(V)),,@)
say = $(if $(filter 1,$(V)),,@printf '  %-6s %s\n' $(1) $(2);)

CC ?= cc
PREFIX ?= /usr/local
B := build

BASE_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter -Wshadow \
	-D_GNU_SOURCE -pthread -MMD -MP -Ipreload -Iinclude -I$(B)
# The preload lives in other processes: hidden symbols, initial-exec TLS, and no builtin
# rewriting of our own calls into malloc/calloc.
PRELOAD_CFLAGS := $(BASE_CFLAGS) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	-fno-builtin -fno-omit-frame-pointer -fno-stack-protector
ANALYZER_CFLAGS := $(BASE_CFLAGS) -Ianalyzer
# CHECKS=1 builds the library with its invariants asserted (preload/check.h); use a build
# directory of its own: make CHECKS=1 B=build-checked stress
ifeq ($(CHECKS),1)
PRELOAD_CFLAGS += -DAG_CHECKS
endif
# zlib (the gzip log) linked in statically with its symbols hidden: the program's own zlib,
# of whatever version, is never bound to ours nor ours to it.  Its default allocator's
# malloc and free are sent to logbuf.c (--wrap), not to our own hooks.
PRELOAD_LIBS := -Wl,--exclude-libs,libz.a -l:libz.a -Wl,--wrap=malloc,--wrap=free \
	-lunwind -ldl -lm -pthread
ANALYZER_LIBS := -ldw -lelf -lprotobuf-c -lz -lm -pthread

# Packages: cmd:pkg is satisfied by a command on PATH.
DEPS_BUILD := gcc libc6-dev pkg-config libunwind-dev libdw-dev libelf-dev zlib1g-dev \
	libprotobuf-c-dev protobuf-c-compiler
DEPS_TEST := libcriterion-dev strace heaptrack sqlite3:sqlite3 python3:python3 node:nodejs valgrind \
	libjemalloc2 libtcmalloc-minimal4 go:golang-go chromium:chromium libc6-dbg

PRELOAD_SRC := $(wildcard preload/*.c)
SHARED_SRC := preload/fmt.c preload/options.c preload/memavail.c
ANALYZER_SRC := $(wildcard analyzer/*.c)
# Files that define libc symbols or run constructors stay out of the unit-test binary.
PRELOAD_UNIT_SRC := $(filter-out preload/hooks_%.c preload/unwindshim.c preload/init.c,\
	$(PRELOAD_SRC))
TEST_SRC := $(wildcard tests/*.c)
EXAMPLE_C := $(wildcard examples/*.c)
EXAMPLE_CXX := $(wildcard examples/*.cc)

PB := $(B)/profile.pb-c
PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(B)/%.o)
# The unit-test binary's preload objects assert the invariants (preload/check.h).
PRELOAD_UNIT_OBJ := $(PRELOAD_UNIT_SRC:%.c=$(B)/checked/%.o)
# The page of `plot -o FILE.html`: its CSS, body and scripts (in this order) built in.
PAGE_ASSETS := analyzer/page/page.css analyzer/page/body.html analyzer/page/util.js \
	analyzer/page/chart.js analyzer/page/flame.js analyzer/page/tables.js analyzer/page/main.js
ANALYZER_OBJ := $(ANALYZER_SRC:%.c=$(B)/%.o) $(SHARED_SRC:%.c=$(B)/%.o) $(PB).o \
	$(B)/page_assets.o
ANALYZER_UNIT_OBJ := $(filter-out $(B)/analyzer/main.o $(SHARED_SRC:%.c=$(B)/%.o),$(ANALYZER_OBJ))
TEST_OBJ := $(TEST_SRC:%.c=$(B)/%.o)
EXAMPLES := $(EXAMPLE_C:examples/%.c=$(B)/examples/%) $(EXAMPLE_CXX:examples/%.cc=$(B)/examples/%) \
	$(B)/examples/chain_deep_nocfi

all: $(B)/.deps-build $(B)/liballocguard.so $(B)/allocguard $(B)/allocguard-node.js \
	$(B)/allocguard-node.node

$(B)/.deps-build: .ci/deps.sh
	$(Q)mkdir -p $(B) && sh .ci/deps.sh $(DEPS_BUILD) && touch $@
$(B)/.deps-test: .ci/deps.sh
	$(Q)mkdir -p $(B) && sh .ci/deps.sh $(DEPS_TEST) && touch $@

$(B)/preload/%.o: preload/%.c | $(B)/.deps-build
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D) && $(CC) $(PRELOAD_CFLAGS) -c $< -o $@

$(B)/checked/preload/%.o: preload/%.c | $(B)/.deps-build
	$(call say,CC,$< [checks])
	$(Q)mkdir -p $(@D) && $(CC) $(PRELOAD_CFLAGS) -DAG_CHECKS -c $< -o $@

$(B)/analyzer/%.o: analyzer/%.c $(PB).h | $(B)/.deps-build
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D) && $(CC) $(ANALYZER_CFLAGS) -c $< -o $@

# One protoc-c run makes both files (a grouped target: make -j runs it once).
$(PB).c $(PB).h &: analyzer/profile.proto | $(B)/.deps-build
	$(call say,PROTOC,$<)
	$(Q)protoc-c --c_out=$(B) --proto_path=analyzer $<

$(B)/page_assets.c: analyzer/page/embed.sh $(PAGE_ASSETS)
	$(call say,EMBED,$@)
	$(Q)mkdir -p $(B) && sh analyzer/page/embed.sh $@ $(PAGE_ASSETS)

$(B)/page_assets.o: $(B)/page_assets.c
	$(call say,CC,$<)
	$(Q)$(CC) $(ANALYZER_CFLAGS) -c $< -o $@

$(PB).o: $(PB).c
	$(call say,CC,$<)
	$(Q)$(CC) $(BASE_CFLAGS) -w -c $< -o $@

$(B)/tests/%.o: tests/%.c $(PB).h | $(B)/.deps-build $(B)/.deps-test
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D) && $(CC) $(ANALYZER_CFLAGS) -Itests -c $< -o $@

$(B)/liballocguard.so: $(PRELOAD_OBJ)
	$(call say,LD,$@)
	$(Q)$(CC) -shared -o $@ $^ $(PRELOAD_LIBS) -Wl,-z,nodelete -Wl,--no-undefined

$(B)/allocguard: $(ANALYZER_OBJ)
	$(call say,LD,$@)
	$(Q)$(CC) -o $@ $^ $(ANALYZER_LIBS)

# node's companion: the loader NODE_OPTIONS requires, and the addon it loads (built against
# node's own headers; without them node programs get native memory only, and make says so).
NODE_INC ?= /usr/include/node
NODE_CXXFLAGS := -std=c++17 -O2 -g -Wall -Wextra -Wno-unused-parameter -fPIC -shared \
	-fvisibility=hidden -Iinclude -I$(NODE_INC)
$(B)/allocguard-node.js: nodejs/loader.js | $(B)/.deps-build
	$(call say,CP,$@)
	$(Q)mkdir -p $(B) && cp $< $@
NODE_ADDON_SRC := nodejs/addon.cc nodejs/module.cc nodejs/guard.cc
$(B)/allocguard-node.node: $(NODE_ADDON_SRC) nodejs/addon.h include/allocguard.h | $(B)/.deps-build
	$(call say,CXX,$@)
	$(Q)if [ -f $(NODE_INC)/v8-profiler.h ] && [ -f $(NODE_INC)/node_api.h ]; then \
		g++ $(NODE_CXXFLAGS) -o $@ $(NODE_ADDON_SRC); \
	else echo "  (no node headers in $(NODE_INC): node's JS heap will not be attributed)"; fi

# Examples keep frames and lines honest: no inlining, frame pointers, full debug info.
# include/ gives them allocguard.h (which needs no link flag).
$(B)/examples/%: examples/%.c include/allocguard.h | $(B)/.deps-build
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D) && $(CC) -std=gnu11 -O0 -g -fno-inline -fno-omit-frame-pointer \
		-D_GNU_SOURCE -pthread -Iinclude -o $@ $< -ldl
# chain_deep without unwind information (as JIT code): libunwind steps its frames by their
# frame pointers.
$(B)/examples/chain_deep_nocfi: examples/chain_deep.c | $(B)/.deps-build
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D) && $(CC) -std=gnu11 -O0 -g -fno-inline -fno-omit-frame-pointer \
		-fno-asynchronous-unwind-tables -fno-unwind-tables -D_GNU_SOURCE -o $@ $< && \
		objcopy --remove-section .debug_frame $@
$(B)/examples/%: examples/%.cc | $(B)/.deps-build
	$(call say,CXX,$<)
	$(Q)mkdir -p $(@D) && g++ -O0 -g -fno-inline -fno-omit-frame-pointer -pthread -o $@ $<

$(B)/test_suite: $(TEST_OBJ) $(PRELOAD_UNIT_OBJ) $(ANALYZER_UNIT_OBJ)
	$(call say,LD,$@)
	$(Q)$(CC) -o $@ $^ -lcriterion -lunwind $(ANALYZER_LIBS)

examples: $(EXAMPLES)

# node-llama-cpp and two random-weight GGUFs for the model-swap tests, from the npm registry.
# Best effort: without them those tests skip and say why.
$(B)/nlc/.ready: examples/node_llama_setup.sh examples/gguf_tiny.js | $(B)/.deps-test
	$(Q)if command -v npm >/dev/null 2>&1 && sh examples/node_llama_setup.sh $(abspath $(B)) \
		>$(B)/nlc-setup.log 2>&1; then touch $@; \
	else echo "  (node-llama-cpp setup failed, see $(B)/nlc-setup.log: its tests will skip)"; fi

# onnxruntime-node and two external-data ONNX models for the model-swap tests, from the npm
# registry.  Best effort, as above.
$(B)/ort/.ready: examples/onnx_setup.sh examples/onnx_tiny.js examples/onnx_run.js | $(B)/.deps-test
	$(Q)if command -v npm >/dev/null 2>&1 && sh examples/onnx_setup.sh $(abspath $(B)) \
		>$(B)/ort-setup.log 2>&1; then touch $@; \
	else echo "  (onnxruntime-node setup failed, see $(B)/ort-setup.log: its tests will skip)"; fi

# speedscope (a flame graph viewer) for the collapsed-export test in headless Chromium, from
# the npm registry.  Best effort, as above.
$(B)/speedscope/.ready: | $(B)/.deps-test
	$(Q)mkdir -p $(B)/speedscope && if command -v npm >/dev/null 2>&1 && npm install --no-audit \
		--no-fund --prefix $(B)/speedscope speedscope >$(B)/speedscope-setup.log 2>&1; then \
		touch $@; \
	else echo "  (speedscope setup failed, see $(B)/speedscope-setup.log: its test will skip)"; fi

# puppeteer-core 24 (drives headless Chromium; node 20 runs it) for the page's browser test, from the npm
# registry.  Best effort, as above.
$(B)/puppeteer/.ready: | $(B)/.deps-test
	$(Q)mkdir -p $(B)/puppeteer && if command -v npm >/dev/null 2>&1 && npm install --no-audit \
		--no-fund --prefix $(B)/puppeteer puppeteer-core@24 >$(B)/puppeteer-setup.log 2>&1; then \
		touch $@; \
	else echo "  (puppeteer-core setup failed, see $(B)/puppeteer-setup.log: its test will skip)"; fi

# Tests run from the top directory; they find the build through AG_BUILD.
test: all examples $(B)/.deps-test $(B)/test_suite $(B)/nlc/.ready $(B)/ort/.ready \
	$(B)/speedscope/.ready $(B)/puppeteer/.ready
	$(Q)AG_BUILD=$(abspath $(B)) AG_ROOT=$(CURDIR) $(B)/test_suite --jobs 2 $(TEST_ARGS)

# The long forms of the stress tests (races, hosts): STRESS=1 makes each loop many times.
stress: all examples $(B)/.deps-test $(B)/test_suite
	$(Q)STRESS=1 AG_BUILD=$(abspath $(B)) AG_ROOT=$(CURDIR) $(B)/test_suite --jobs 2 \
		--timeout 1800 $(TEST_ARGS)

demo: all examples
	$(Q)sh examples/demo.sh $(B)

DEPS_BENCH := time:time heaptrack valgrind sqlite3:sqlite3 python3:python3 node:nodejs
$(B)/.deps-bench: .ci/deps.sh
	$(Q)mkdir -p $(B) && sh .ci/deps.sh $(DEPS_BENCH) && touch $@

# The overhead suite (README's table): RUNS=5 by default; bench/run.sh is the quick one.
bench: all examples $(B)/.deps-bench
	$(Q)sh bench/suite.sh $(B)

# The instruction counts (docs/performance.md): callgrind, stable on a busy machine.
bench-instr: all examples $(B)/.deps-bench
	$(Q)sh bench/instr.sh $(B)

install: all
	$(Q)install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include
	$(Q)install -m 0755 $(B)/allocguard $(DESTDIR)$(PREFIX)/bin/allocguard
	$(Q)install -m 0755 $(B)/liballocguard.so $(DESTDIR)$(PREFIX)/lib/liballocguard.so
	$(Q)install -m 0644 include/allocguard.h $(DESTDIR)$(PREFIX)/include/allocguard.h
	$(Q)install -m 0644 $(B)/allocguard-node.js $(DESTDIR)$(PREFIX)/lib/allocguard-node.js
	$(Q)if [ -f $(B)/allocguard-node.node ]; then install -m 0755 $(B)/allocguard-node.node \
		$(DESTDIR)$(PREFIX)/lib/allocguard-node.node; fi
	$(Q)install -d $(DESTDIR)$(PREFIX)/share/allocguard
	$(Q)install -m 0644 share/allocguard/default.supp $(DESTDIR)$(PREFIX)/share/allocguard/default.supp
	@echo "installed $(DESTDIR)$(PREFIX)/bin/allocguard, $(DESTDIR)$(PREFIX)/lib/liballocguard.so and $(DESTDIR)$(PREFIX)/include/allocguard.h"

uninstall:
	$(Q)rm -f $(DESTDIR)$(PREFIX)/bin/allocguard $(DESTDIR)$(PREFIX)/lib/liballocguard.so \
		$(DESTDIR)$(PREFIX)/include/allocguard.h $(DESTDIR)$(PREFIX)/lib/allocguard-node.js \
		$(DESTDIR)$(PREFIX)/lib/allocguard-node.node \
		$(DESTDIR)$(PREFIX)/share/allocguard/default.supp
	-$(Q)rmdir $(DESTDIR)$(PREFIX)/share/allocguard 2>/dev/null
	@echo "removed $(DESTDIR)$(PREFIX)/bin/allocguard, $(DESTDIR)$(PREFIX)/lib/liballocguard.so and $(DESTDIR)$(PREFIX)/include/allocguard.h"

# The README's options table, generated from preload/options.def.
options-table: $(B)/allocguard
	$(Q)$(B)/allocguard run --options-table

# libFuzzer on the log reader, every report and symbolization (FUZZ_SECONDS, default 300).
# The newest clang on PATH (clang, or clang-N), unless FUZZ_CC names one.
FUZZ_CC ?= $(or $(shell command -v clang 2>/dev/null),$(shell ls /usr/bin/clang-[0-9]* \
	2>/dev/null | sort -V | tail -n 1),clang)
FUZZ_SRC := $(filter-out analyzer/main.c analyzer/run.c analyzer/summary.c analyzer/commands.c \
	analyzer/commands_export.c analyzer/help.c,$(ANALYZER_SRC)) $(SHARED_SRC)
$(B)/fuzz_logread: tests/fuzz/fuzz_logread.c $(FUZZ_SRC) $(PB).c $(B)/page_assets.c
	$(call say,FUZZ,$@)
	$(Q)$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE \
		-Ipreload -Ianalyzer -I$(B) $^ -ldw -lelf -lprotobuf-c -lz -lm -o $@
fuzz: $(B)/fuzz_logread
	$(Q)mkdir -p $(B)/fuzz-corpus && $(B)/fuzz_logread -max_len=8192 \
		-max_total_time=$${FUZZ_SECONDS:-300} $(B)/fuzz-corpus tests/data

clean:
	rm -rf $(B)

.PHONY: all examples test stress demo bench bench-instr fuzz install uninstall options-table clean
-include $(shell find $(B) -name '*.d' 2>/dev/null)
