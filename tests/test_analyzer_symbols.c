/* test_analyzer_symbols.c: symbolization (analyzer/symbols.c) of real addresses: a tiny
 * program compiled with -g at test time prints its own module line and a call-site
 * address, and the symbolizer must name the function and file:line; a build-id mismatch
 * and a missing file fall back to module+offset; a perf map names JIT frames. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "model.h"
#include "json.h"
#include "sites.h"
#include "symbols.h"
#include "table.h"

#define MODULE_PRINTER \
"#define _GNU_SOURCE\n" \
"#include <link.h>\n" \
"#include <stdio.h>\n" \
"#include <string.h>\n" \
"#include <elf.h>\n" \
"static int cb(struct dl_phdr_info *i, size_t n, void *d) {\n" \
"  if (i->dlpi_name[0]) return 0;\n" \
"  unsigned long lo = ~0ul, hi = 0; const unsigned char *id = 0; size_t idn = 0;\n" \
"  for (int k = 0; k < i->dlpi_phnum; k++) {\n" \
"    const ElfW(Phdr) *p = &i->dlpi_phdr[k];\n" \
"    if (p->p_type == PT_LOAD) { unsigned long a = i->dlpi_addr + p->p_vaddr;\n" \
"      if (a < lo) lo = a; if (a + p->p_memsz > hi) hi = a + p->p_memsz; }\n" \
"    if (p->p_type == PT_NOTE) { const char *q = (const char *)(i->dlpi_addr + p->p_vaddr);\n" \
"      const char *e = q + p->p_memsz;\n" \
"      while (q + 12 <= e) { const ElfW(Nhdr) *h = (const ElfW(Nhdr) *)q;\n" \
"        const char *name = q + 12, *desc = name + ((h->n_namesz + 3) & ~3u);\n" \
"        if (h->n_type == NT_GNU_BUILD_ID && h->n_namesz == 4 && !memcmp(name, \"GNU\", 4)) {\n" \
"          id = (const unsigned char *)desc; idn = h->n_descsz; }\n" \
"        q = desc + ((h->n_descsz + 3) & ~3u); } } }\n" \
"  printf(\"M %lx %lx %lx \", (unsigned long)i->dlpi_addr, lo, hi);\n" \
"  for (size_t k = 0; k < idn; k++) printf(\"%02x\", id[k]);\n" \
"  printf(\" %s\\n\", (const char *)d);\n" \
"  return 1;\n" \
"}\n" \

static const char prog[] = MODULE_PRINTER
"__attribute__((noinline)) static void callee(void) {\n"
"  printf(\"S 1 h %lx\\n\", (unsigned long)__builtin_return_address(0) - 1);\n"
"}\n"
"__attribute__((noinline)) void planted_caller(void) {\n"
"  callee(); /* LINE-MARK */\n"
"}\n"
"int main(int argc, char **argv) {\n"
"  dl_iterate_phdr(cb, argv[1]);\n"
"  planted_caller();\n"
"  return 0;\n"
"}\n";

/* C++ at -O2: two always_inline levels between the recorded call and the function that
 * holds them, so one address is three frames. */
static const char prog_inl[] = MODULE_PRINTER
"__attribute__((noinline)) void probe(int n) {\n"
"  printf(\"S 1 h %lx\\n\", (unsigned long)__builtin_return_address(0) - 1);\n"
"}\n"
"namespace ns {\n"
"__attribute__((always_inline)) static inline int inner_step(int n) {\n"
"  probe(n); /* MARK-INNER */\n"
"  return n + 1;\n"
"}\n"
"__attribute__((always_inline)) inline int middle_step(int n) {\n"
"  return inner_step(n * 3) * 2; /* MARK-MIDDLE */\n"
"}\n"
"}\n"
"__attribute__((noinline)) int outer_fn(int n) {\n"
"  return ns::middle_step(n) + 7; /* MARK-OUTER */\n"
"}\n"
"int main(int argc, char **argv) {\n"
"  dl_iterate_phdr(cb, argv[1]);\n"
"  return outer_fn(argc) == 0;\n"
"}\n";

static char dir[256];
static char exe[300];

static void build_with(const char *text, const char *cc, const char *ext, const char *opt)
{
	if (!th_have_cmd(cc))
		cr_skip_test("no %s", cc);
	snprintf(dir, sizeof dir, "%s", th_tmpdir("sym"));
	char src[300];
	snprintf(src, sizeof src, "%s/planted.%s", dir, ext);
	snprintf(exe, sizeof exe, "%s/planted", dir);
	FILE *f = fopen(src, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	const char *argv[] = { cc, "-g", opt, "-fPIE", "-pie", "-Wl,--build-id", "-o", exe,
			       src, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 60), 0);
	cr_assert_eq(r.code, 0, "%s failed: %s", cc, r.err);
	th_run_free(&r);
}

static void build_prog(void)
{
	build_with(prog, "cc", "c", "-O0");
}

/* Run the program and wrap what it prints into a log. */
static ag_log_t *log_of_run(const char *path_in_log, const char *jit)
{
	const char *argv[] = { exe, path_in_log, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 30), 0);
	cr_assert_eq(r.code, 0, "%s", r.err);
	char text[4096], msg[300];
	snprintf(text, sizeof text, "AGLOG 1\nP 1 1 1 %s\n%s%s%sB 0 1 exit\nL 1 8 1 8 1\n"
		 "E 0 8 8 0 0 8 8 0 1\n", exe, r.out, jit ? "J " : "", jit ? jit : "");
	th_run_free(&r);
	ag_log_t *log;
	cr_assert_eq(log_parse("sym.log", text, strlen(text), &log, msg, sizeof msg), 0, "%s\n%s",
		     msg, text);
	return log;
}

static int line_of(const char *text, const char *mark)
{
	int n = 1;
	for (const char *p = text; *p; p++) {
		if (strncmp(p, mark, strlen(mark)) == 0)
			return n;
		if (*p == '\n')
			n++;
	}
	return -1;
}

static int mark_line(void)
{
	return line_of(prog, "LINE-MARK");
}

Test(symbols, names_function_and_line_of_a_debug_build)
{
	build_prog();
	ag_log_t *log = log_of_run(exe, NULL);
	symbols_t *s = symbols_open(log, stderr);
	const ag_frame_t *f = symbols_lookup(s, log->stacks[0].frames[0]);
	cr_assert_not_null(f);
	cr_assert_str_eq(f->function, "planted_caller");
	cr_assert_str_eq(f->file, "planted.c");
	cr_assert_eq(f->line, mark_line());
	cr_assert_str_eq(f->module, exe);
	cr_assert_eq(f->offset, f->address - log->modules[0].bias);
	/* cached: the same frame object comes back */
	cr_assert_eq(symbols_lookup(s, log->stacks[0].frames[0]), f);
	char key[256], human[256];
	frame_key(f, key, sizeof key);
	frame_human(f, human, sizeof human);
	char want[64];
	snprintf(want, sizeof want, "planted_caller|planted.c|%d", mark_line());
	cr_assert_str_eq(key, want);
	cr_assert(strstr(human, "planted_caller (planted.c:"), "%s", human);
	symbols_close(s);
	log_free(log);
	th_rmtree(dir);
}

Test(symbols, build_id_mismatch_falls_back_to_module_offset)
{
	build_prog();
	ag_log_t *log = log_of_run(exe, NULL);
	/* the recorded build-id no longer matches the file on disk */
	cr_assert_not_null(log->modules[0].build_id);
	char *b = log->modules[0].build_id;
	b[0] = b[0] == '0' ? '1' : '0';
	char *notes;
	size_t nlen;
	FILE *err = open_memstream(&notes, &nlen);
	symbols_t *s = symbols_open(log, err);
	const ag_frame_t *f = symbols_lookup(s, log->stacks[0].frames[0]);
	symbols_lookup(s, log->stacks[0].frames[0] + 1);
	fclose(err);
	cr_assert_null(f->function);
	cr_assert_null(f->file);
	cr_assert_eq(f->line, 0);
	char human[256];
	frame_human(f, human, sizeof human);
	cr_assert(strncmp(human, "planted+0x", 10) == 0, "%s", human);
	cr_assert(strstr(notes, "build-id differs"), "%s", notes);
	cr_assert_eq(th_count_lines(notes, "allocguard: "), 1, "said once: %s", notes);
	free(notes);
	symbols_close(s);
	log_free(log);
	th_rmtree(dir);
}

Test(symbols, missing_file_and_stray_address)
{
	build_prog();
	ag_log_t *log = log_of_run("/nonexistent/planted", NULL);
	symbols_t *s = symbols_open(log, NULL);
	const ag_frame_t *f = symbols_lookup(s, log->stacks[0].frames[0]);
	cr_assert_null(f->function);
	cr_assert_str_eq(f->module, "/nonexistent/planted");
	const ag_frame_t *g = symbols_lookup(s, 0x10);
	cr_assert_null(g->module);
	char human[64];
	frame_human(g, human, sizeof human);
	cr_assert_str_eq(human, "0x10");
	symbols_close(s);
	log_free(log);
	th_rmtree(dir);
}

Test(symbols, perf_map_names_jit_frames)
{
	build_prog();
	char map[300];
	snprintf(map, sizeof map, "%s/perf-1.map", dir);
	FILE *f = fopen(map, "w");
	fprintf(f, "7f0000001000 100 LazyCompile:~leakyHandler /app/server.js:12\n");
	fprintf(f, "garbage line\n");
	fprintf(f, "0x7f0000002000 0x40 Builtin:ArrayPush\n");
	fprintf(f, "7f0000001000 80 LazyCompile:*leakyHandler /app/server.js:13:5\n");
	/* node 20's names: JS:<tier><name> file://<script>:<line>:<column> */
	fprintf(f, "7f0000003000 40 JS:*handler file:///srv/x.js:3:10\n");
	fprintf(f, "7f0000003040 40 JS:^get size file:///srv/x.js:30:7\n");
	fprintf(f, "7f0000003080 40 JS:~ node:internal/main/run_main_module:23:47\n");
	fprintf(f, "7f00000030c0 40 JS:+handler file:///srv/x.js:3:10\n");
	fprintf(f, "7f0000003100 40 Function:~onData /srv/y.js:77:20\n");
	fprintf(f, "7f0000003140 40 Stub:CEntry stub\n");
	fclose(f);
	char j[320];
	snprintf(j, sizeof j, "%s\n", map);
	ag_log_t *log = log_of_run(exe, j);
	symbols_t *s = symbols_open(log, NULL);
	char human[256], key[256];

	const ag_frame_t *a = symbols_lookup(s, 0x7f0000001010);
	cr_assert_str_eq(a->function, "leakyHandler", "later map lines win, tier dropped");
	cr_assert_str_eq(a->file, "server.js");
	cr_assert_str_eq(a->path, "/app/server.js");
	cr_assert_eq(a->line, 13);
	cr_assert(a->jit);
	frame_human(a, human, sizeof human);
	cr_assert_str_eq(human, "leakyHandler (server.js:13)");
	const ag_frame_t *a2 = symbols_lookup(s, 0x7f00000010f0);
	cr_assert_str_eq(a2->function, "leakyHandler");
	cr_assert_eq(a2->line, 12, "script:line without a column");

	const ag_frame_t *b = symbols_lookup(s, 0x7f000000203f);
	cr_assert_str_eq(b->function, "Builtin:ArrayPush", "not JS: as written");
	cr_assert_null(b->file);
	cr_assert_eq(b->line, 0);
	const ag_frame_t *c = symbols_lookup(s, 0x7f0000002040);
	cr_assert_null(c->function);

	const ag_frame_t *h = symbols_lookup(s, 0x7f0000003000);
	cr_assert_str_eq(h->function, "handler");
	cr_assert_str_eq(h->path, "/srv/x.js");
	cr_assert_str_eq(h->file, "x.js");
	cr_assert_eq(h->line, 3);
	const ag_frame_t *h2 = symbols_lookup(s, 0x7f00000030c0);
	char key2[256];
	frame_key(h, key, sizeof key);
	frame_key(h2, key2, sizeof key2);
	cr_assert_str_eq(key, key2, "one JS function, one key in every tier");
	cr_assert_str_eq(key, "handler|x.js|3");

	const ag_frame_t *g = symbols_lookup(s, 0x7f0000003050);
	cr_assert_str_eq(g->function, "get size", "a name with a space");
	cr_assert_eq(g->line, 30);
	const ag_frame_t *m = symbols_lookup(s, 0x7f0000003080);
	cr_assert_str_eq(m->function, "(anonymous)");
	cr_assert_str_eq(m->path, "node:internal/main/run_main_module");
	cr_assert_str_eq(m->file, "node:internal/main/run_main_module");
	cr_assert_eq(m->line, 23);
	const ag_frame_t *d = symbols_lookup(s, 0x7f0000003100);
	cr_assert_str_eq(d->function, "onData");
	cr_assert_str_eq(d->file, "y.js");
	cr_assert_eq(d->line, 77);
	const ag_frame_t *st = symbols_lookup(s, 0x7f0000003140);
	cr_assert_str_eq(st->function, "Stub:CEntry stub");
	cr_assert_null(st->file);
	frame_human(st, human, sizeof human);
	cr_assert_str_eq(human, "Stub:CEntry stub [JIT]");
	symbols_close(s);
	log_free(log);
	th_rmtree(dir);
}

Test(symbols, inlined_calls_are_frames_of_their_own)
{
	build_with(prog_inl, "g++", "cc", "-O2");
	ag_log_t *log = log_of_run(exe, NULL);
	symbols_t *s = symbols_open(log, stderr);
	const ag_stack_t *st = &log->stacks[0];
	const ag_frame_t *f[8];
	size_t n = 0;
	frame_iter_t it = { 0 };
	for (const ag_frame_t *x; n < 8 && (x = symbols_next(s, st, &it));) {
		cr_assert_eq(it.index, 0, "one address");
		f[n++] = x;
	}
	cr_assert_eq(n, 3, "inner, middle, outer: got %zu", n);
	cr_assert_str_eq(f[0]->function, "inner_step");
	cr_assert_eq(f[0]->line, line_of(prog_inl, "MARK-INNER"));
	cr_assert(strstr(f[1]->function, "middle_step"), "%s", f[1]->function);
	cr_assert_eq(f[1]->line, line_of(prog_inl, "MARK-MIDDLE"));
	cr_assert_str_eq(f[2]->function, "outer_fn(int)");
	cr_assert_eq(f[2]->line, line_of(prog_inl, "MARK-OUTER"));
	for (size_t i = 0; i < n; i++) {
		cr_assert_str_eq(f[i]->file, "planted.cc");
		cr_assert_eq(f[i]->address, st->frames[0]);
		cr_assert_eq(f[i]->inlined, i < 2);
	}
	/* the reports' view of the same stack: three JSON frames, keys that differ */
	char *text;
	size_t len;
	FILE *out = open_memstream(&text, &len);
	json_t j;
	json_init(&j, out);
	site_json_frames(&j, s, st);
	json_done(&j);
	fclose(out);
	const char *p = text;
	int frames = 0;
	while ((p = strstr(p, "\"function\":"))) {
		frames++;
		p++;
	}
	cr_assert_eq(frames, 3, "%s", text);
	cr_assert(strstr(text, "\"function\": \"inner_step\"") ||
		  strstr(text, "\"function\":\"inner_step\""), "%s", text);
	free(text);
	char *key = site_key(s, st);
	cr_assert(strstr(key, "inner_step|planted.cc|") && strstr(key, "outer_fn(int)|planted.cc|"),
		  "%s", key);
	free(key);
	/* and the human view: the label is the innermost, the callers follow in order */
	char label[600], want[200];
	const site_view_t view = SITE_VIEW_DEFAULT;
	site_label(s, &view, st, label, sizeof label);
	snprintf(want, sizeof want, "inner_step (planted.cc:%d)", line_of(prog_inl, "MARK-INNER"));
	cr_assert_str_eq(label, want);
	table_t t;
	const char *head[] = { "SITE" };
	col_align_t al[] = { COL_LEFT };
	table_init(&t, 1, head, al);
	const char *cell[] = { label };
	table_add(&t, cell, NULL);
	site_more(&t, s, &view, st);
	cr_assert_geq(t.nrows, 3);
	snprintf(want, sizeof want, "from ns::middle_step(int) (planted.cc:%d)",
		 line_of(prog_inl, "MARK-MIDDLE"));
	cr_assert_str_eq(t.rows[1].cell[0], want);
	snprintf(want, sizeof want, "from outer_fn(int) (planted.cc:%d)",
		 line_of(prog_inl, "MARK-OUTER"));
	cr_assert_str_eq(t.rows[2].cell[0], want);
	table_free(&t);
	/* the view is the caller's: --frames 1 in the same process shows the label alone */
	const site_view_t one = { .fold = { .frames = 1 } };
	table_init(&t, 1, head, al);
	table_add(&t, cell, NULL);
	site_more(&t, s, &one, st);
	cr_assert_eq(t.nrows, 1);
	table_free(&t);
	symbols_close(s);
	log_free(log);
	th_rmtree(dir);
}

/* C at -O2: the same inline chain, and the caller's own return address as a second frame. */
static const char prog_inl_c[] = MODULE_PRINTER
"__attribute__((noinline)) void probe(int n, void *outer_ret) {\n"
"  printf(\"S 1 h %lx %lx\\n\", (unsigned long)__builtin_return_address(0) - 1,\n"
"         (unsigned long)outer_ret - 1);\n"
"}\n"
"struct holder { int a; struct { int b; } in; };\n"
"__attribute__((always_inline)) static inline int inner_step(int n) {\n"
"  probe(n, __builtin_return_address(0)); /* MARK-INNER */\n"
"  return n + 1;\n"
"}\n"
"__attribute__((always_inline)) static inline int middle_step(int n) {\n"
"  return inner_step(n * 3) * 2; /* MARK-MIDDLE */\n"
"}\n"
"__attribute__((noinline)) int outer_fn(int n) {\n"
"  struct holder h = { n, { n } };\n"
"  return middle_step(h.a + h.in.b) + 7; /* MARK-OUTER */\n"
"}\n"
"int main(int argc, char **argv) {\n"
"  dl_iterate_phdr(cb, argv[1]);\n"
"  return outer_fn(argc) == 0; /* MARK-MAIN */\n"
"}\n";

static char *frames_json(symbols_t *s, const ag_stack_t *st)
{
	char *text;
	size_t len;
	FILE *out = open_memstream(&text, &len);
	json_t *j = malloc(sizeof *j);
	cr_assert_not_null(j);
	json_init(j, out);
	json_obj(j);
	site_json_frames(j, s, st);
	json_obj_end(j);
	json_done(j);
	fclose(out);
	free(j);
	return text;
}

/* Human views resolve a stack only up to its last shown frame, and a subprogram's inlined
 * calls are indexed when an address first lands in it: what is resolved later (the JSON of
 * every frame) must be what a symbolizer resolving everything at once gives. */
Test(symbols, frames_resolved_late_match_frames_resolved_at_once)
{
	build_with(prog_inl_c, "cc", "c", "-O2");
	ag_log_t *log = log_of_run(exe, NULL);
	const ag_stack_t *st = &log->stacks[0];
	cr_assert_eq(st->nframes, 2);
	symbols_t *lazy = symbols_open(log, stderr);
	fold_opts_t one = { .frames = 1 };
	char *key = fold_site_key(lazy, st, &one), want[200];
	snprintf(want, sizeof want, "h;inner_step|planted.c|%d", line_of(prog_inl_c, "MARK-INNER"));
	cr_assert_str_eq(key, want);
	free(key);
	char *late = frames_json(lazy, st);
	symbols_t *full = symbols_open(log, stderr);
	char *once = frames_json(full, st);
	cr_assert_str_eq(late, once);
	const char *order[] = { "inner_step", "middle_step", "outer_fn", "main" };
	const char *marks[] = { "MARK-INNER", "MARK-MIDDLE", "MARK-OUTER", "MARK-MAIN" };
	const char *p = late;
	for (size_t i = 0; i < 4; i++) {
		char fn[100], line[100];
		snprintf(fn, sizeof fn, "\"function\": \"%s\"", order[i]);
		snprintf(line, sizeof line, "\"line\": %d", line_of(prog_inl_c, marks[i]));
		const char *q = strstr(p, fn);
		cr_assert_not_null(q, "%s missing after the previous frame:\n%s", order[i], late);
		const char *l = strstr(q, line);
		cr_assert(l && (!strstr(q + 1, "\"function\"") || l < strstr(q + 1, "\"function\"")),
			  "%s not at line %d:\n%s", order[i], line_of(prog_inl_c, marks[i]), late);
		p = q + 1;
	}
	free(late);
	free(once);
	symbols_close(full);
	symbols_close(lazy);
	log_free(log);
	th_rmtree(dir);
}

/* Two libraries opened, used and dlclose'd in turn before any snapshot; the second is
 * usually placed where the first was.  Each allocation is still named by its own library's
 * function, file and line: the preload remembers a module when a stack first meets it, and
 * the analyzer picks, for a reused range, the module that was loaded when the stack was
 * interned. */
static const char lib_a[] =
"#include <stdlib.h>\n"
"__attribute__((noinline)) static void *a_alloc(size_t n) {\n"
"  void *p = malloc(n); /* A-MARK */\n"
"  if (p) *(char *)p = 1;\n"
"  return p;\n"
"}\n"
"void *make(size_t n) { void *p = a_alloc(n); return p; }\n";
static const char lib_b[] =
"#include <stdlib.h>\n"
"#include <string.h>\n"
"int pad(char *s) { int n = 0; for (int i = 0; i < 9; i++) n += (int)strlen(s + i) * i; return n; }\n"
"__attribute__((noinline)) static void *b_alloc(size_t n) {\n"
"  void *p = malloc(n); /* B-MARK */\n"
"  if (p) *(char *)p = 1;\n"
"  return p;\n"
"}\n"
"void *make(size_t n) { void *p = b_alloc(n); return p; }\n";

static void build_lib(const char *text, const char *name, char *out, size_t len)
{
	char src[300];
	snprintf(src, sizeof src, "%s/%s.c", dir, name);
	snprintf(out, len, "%s/%s.so", dir, name);
	FILE *f = fopen(src, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	const char *argv[] = { "cc", "-g", "-O0", "-shared", "-fPIC", "-Wl,--build-id", "-o", out,
			       src, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 60), 0);
	cr_assert_eq(r.code, 0, "cc failed: %s", r.err);
	th_run_free(&r);
}

Test(symbols, dlclosed_libraries_keep_their_names)
{
	if (!th_have_preload() || !th_have_cmd("cc"))
		cr_skip_test("no preload or cc");
	snprintf(dir, sizeof dir, "%s", th_tmpdir("symdl"));
	char a[300], b[300], logenv[400], logpath[320];
	build_lib(lib_a, "liba", a, sizeof a);
	build_lib(lib_b, "libb", b, sizeof b);
	snprintf(logpath, sizeof logpath, "%s/dl.log", dir);
	snprintf(logenv, sizeof logenv, "ALLOCGUARD_LOG=%s", logpath);
	const char *argv[] = { th_build("examples/dlclosed"), a, b, NULL };
	const char *env[] = { logenv, "ALLOCGUARD_INTERVAL=0", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 0, "%s\n%s", th_run_desc(&r), r.err);
	const char *ba = th_line_from(r.out, "lib=");
	cr_assert_not_null(ba);
	char base_a[64] = "", base_b[64] = "";
	sscanf(strstr(r.out, "base="), "base=%63s", base_a);
	sscanf(strstr(strstr(r.out, "base=") + 5, "base="), "base=%63s", base_b);
	cr_log_info("liba at %s, libb at %s%s", base_a, base_b,
		    strcmp(base_a, base_b) == 0 ? " (the same range)" : "");
	th_run_free(&r);

	ag_log_t *log;
	char msg[400];
	cr_assert_eq(log_load(logpath, &log, msg, sizeof msg), 0, "%s", msg);
	symbols_t *s = symbols_open(log, stderr);
	ag_stackval_t *v = log_state_at(log, log->nsnaps - 1);
	cr_assert_not_null(v);
	uint64_t bytes_a = 0, bytes_b = 0;
	for (size_t i = 0; i < log->nstacks; i++) {
		if (!v[i].live_bytes)
			continue;
		frame_iter_t it = { 0 };
		for (const ag_frame_t *f; (f = symbols_next(s, &log->stacks[i], &it));) {
			if (!f->function)
				continue;
			if (strcmp(f->function, "a_alloc") == 0) {
				cr_expect_str_eq(f->file, "liba.c");
				cr_expect_eq(f->line, line_of(lib_a, "A-MARK"));
				bytes_a += v[i].live_bytes;
			} else if (strcmp(f->function, "b_alloc") == 0) {
				cr_expect_str_eq(f->file, "libb.c");
				cr_expect_eq(f->line, line_of(lib_b, "B-MARK"));
				bytes_b += v[i].live_bytes;
			} else {
				continue;
			}
			break;
		}
	}
	cr_expect_eq(bytes_a, 1024, "liba's block: %llu bytes", (unsigned long long)bytes_a);
	cr_expect_eq(bytes_b, 2024, "libb's block: %llu bytes", (unsigned long long)bytes_b);
	free(v);
	symbols_close(s);
	log_free(log);
	th_rmtree(dir);
}

/* The analyzer's side of a reused range, on a crafted log: module A (gone before stack 3)
 * and module B at the same place; stack 1 resolves in A, stack 5 in B, and an address
 * with no stack in the module still loaded. */
Test(symbols, reused_range_resolves_by_stack_age)
{
	build_prog();
	char exe2[320], cmd[700];
	snprintf(exe2, sizeof exe2, "%s/planted2", dir);
	snprintf(cmd, sizeof cmd, "cp %s %s", exe, exe2);
	cr_assert_eq(system(cmd), 0);
	const char *argv[] = { exe, exe, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 30), 0);
	char m[600], s1[100];
	cr_assert_eq(sscanf(r.out, "%599[^\n]\n%99[^\n]", m, s1), 2, "%s", r.out);
	th_run_free(&r);
	/* m is "M bias lo hi id path": the same line for the copy, then U for the first */
	char mb[600];
	snprintf(mb, sizeof mb, "%.*s%s", (int)(strrchr(m, ' ') + 1 - m), m, exe2);
	char u[700];
	snprintf(u, sizeof u, "U %.*s 3 %s", (int)(strchr(strchr(strchr(m + 2, ' ') + 1, ' ') + 1,
							      ' ') - (m + 2)), m + 2, exe);
	const char *addr = strrchr(s1, ' ') + 1;
	char text[4096], msg[300];
	snprintf(text, sizeof text, "AGLOG 1\nP 1 1 1 %s\n%s\n%s\n%s\nS 1 h %s\nS 5 h %s\n"
		 "B 0 1 exit\nL 1 8 1 8 1\nL 5 8 1 8 1\nE 0 16 16 0 0 16 16 0 2\n", exe, m, u, mb,
		 addr, addr);
	ag_log_t *log;
	cr_assert_eq(log_parse("sym.log", text, strlen(text), &log, msg, sizeof msg), 0, "%s\n%s",
		     msg, text);
	cr_assert_eq(log->nmodules, 2, "%s", text);
	symbols_t *s = symbols_open(log, stderr);
	frame_iter_t i1 = { 0 }, i5 = { 0 };
	const ag_frame_t *f1 = symbols_next(s, &log->stacks[0], &i1);
	const ag_frame_t *f5 = symbols_next(s, &log->stacks[1], &i5);
	cr_assert_str_eq(f1->module, exe, "stack 1 was interned while the first was loaded");
	cr_assert_str_eq(f5->module, exe2, "stack 5 came after it was gone");
	cr_assert_str_eq(f1->function, "planted_caller");
	cr_assert_str_eq(f5->function, "planted_caller", "both layers are symbolized");
	cr_assert_str_eq(symbols_lookup(s, f1->address)->module, exe2);
	symbols_close(s);
	log_free(log);
	th_rmtree(dir);
}
