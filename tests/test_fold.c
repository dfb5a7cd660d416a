/* test_fold.c: folding runtime frames (analyzer/fold.c) on the stacks users meet: CPython's
 * pymalloc under a C extension call, node's V8/Buffer internals under a JS handler (JIT
 * tiers and perf-map spellings of one function key alike), C++ operator new and the
 * standard library, libffi trampolines; --frames N and --all-frames. */
#include <criterion/criterion.h>
#include <string.h>

#include "fold.h"

static ag_frame_t fn(const char *function, const char *module)
{
	return (ag_frame_t){ .function = function, .module = module };
}

static ag_frame_t js(const char *perf_name)
{
	return (ag_frame_t){ .function = perf_name, .module = "/tmp/perf-1.map", .jit = 1 };
}

/* The names of the frames fold_shown shows, joined by " / ". */
static const char *shown(const ag_frame_t *st, uint32_t n, fold_opts_t o)
{
	static char out[1024];
	fold_frame_t p[64];
	uint32_t idx[64];
	for (uint32_t i = 0; i < n; i++)
		p[i] = (fold_frame_t){ &st[i], 0x1000 + i };
	size_t k = fold_shown(p, n, &o, idx, 64);
	out[0] = '\0';
	for (size_t i = 0; i < k; i++) {
		char buf[256];
		fold_frame_human(&st[idx[i]], buf, sizeof buf);
		if (i)
			strcat(out, " / ");
		strcat(out, buf);
	}
	return out;
}

Test(fold, python_pymalloc_folded_to_the_interpreter_caller)
{
	const ag_frame_t st[] = {
		fn("malloc", "/lib/x86_64-linux-gnu/libc.so.6"),
		fn("_PyObject_ArenaMmap", "/usr/bin/python3.11"),
		fn("new_arena", "/usr/bin/python3.11"),
		fn("allocate_from_new_pool", "/usr/bin/python3.11"),
		fn("pymalloc_alloc", "/usr/bin/python3.11"),
		fn("_PyObject_Malloc", "/usr/bin/python3.11"),
		fn("PyUnicode_New", "/usr/bin/python3.11"),
		fn("unicode_repeat", "/usr/bin/python3.11"),
		fn("_PyEval_EvalFrameDefault", "/usr/bin/python3.11"),
		fn("__libc_start_call_main", "/lib/x86_64-linux-gnu/libc.so.6"),
	};
	cr_assert_str_eq(shown(st, 10, (fold_opts_t){ 0 }),
			 "PyUnicode_New (python3.11+0x0) / unicode_repeat (python3.11+0x0) / "
			 "_PyEval_EvalFrameDefault (python3.11+0x0)");
	cr_assert_str_eq(shown(st, 10, (fold_opts_t){ .frames = 1 }), "PyUnicode_New (python3.11+0x0)");
	/* --all-frames: exactly as recorded */
	cr_assert_str_eq(shown(st, 10, (fold_opts_t){ .all = 1, .frames = 2 }),
			 "malloc (libc.so.6+0x0) / _PyObject_ArenaMmap (python3.11+0x0)");
}

Test(fold, cxx_operator_new_and_std_folded)
{
	const ag_frame_t st[] = {
		fn("malloc", "/lib/libc.so.6"),
		fn("operator new(unsigned long)", "/lib/libstdc++.so.6"),
		fn("std::__new_allocator<int>::allocate(unsigned long, void const*)", "/app"),
		fn("void std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>("
		   "__gnu_cxx::__normal_iterator<int*, std::vector<int, std::allocator<int> > >, "
		   "int const&)", "/app"),
		fn("Table::add(int)", "/app"),
		fn("main", "/app"),
		fn("__libc_start_call_main", "/lib/libc.so.6"),
		fn("_start", "/app"),
	};
	cr_assert_str_eq(shown(st, 8, (fold_opts_t){ 0 }), "Table::add(int) (app+0x0) / main (app+0x0)");
	/* mangled spellings too */
	ag_frame_t m = fn("_Znwm", "/lib/libstdc++.so.6");
	cr_assert(fold_is_runtime(&m));
	ag_frame_t v = fn("_IO_file_doallocate", "/lib/libc.so.6");
	cr_assert_not(fold_is_runtime(&v), "only the listed names fold");
	ag_frame_t u = fn("mallocx_user", "/app");
	cr_assert_not(fold_is_runtime(&u), "a list entry without a trailing _ or : is a whole name");
}

Test(fold, node_handler_first_and_tiers_merge)
{
	const ag_frame_t st[] = {
		fn("calloc", "/lib/libc.so.6"),
		fn("node::NodeArrayBufferAllocator::Allocate(unsigned long)", "/usr/bin/node"),
		fn("v8::internal::Heap::AllocateExternalBackingStore(std::function<void* (unsigned long)> const&, unsigned long)", "/usr/bin/node"),
		fn(NULL, "/usr/bin/node"),
		js("Builtin:TypedArrayConstructor"),
		js("JS:~FastBuffer node:internal/buffer:958:14"),
		js("JS:^alloc node:buffer:389:30"),
		js("JS:*handleRequest /srv/app/server.js:12:23"),
		js("JS:~emit node:events:460:44"),
		js("Builtin:InterpreterEntryTrampoline"),
		fn("Builtins_JSEntryTrampoline", "/usr/bin/node"),
		fn("uv_run", "/usr/bin/node"),
		js("JS:~ /srv/app/server.js:1:1"),
	};
	cr_assert_str_eq(shown(st, 13, (fold_opts_t){ 0 }),
			 "handleRequest (server.js:12) / (anonymous) (server.js:1)");

	/* one JS function is one site whatever its tier or the perf map's spelling */
	const char *same[] = { "JS:~handleRequest /srv/app/server.js:12:23",
			       "JS:^handleRequest /srv/app/server.js:12:23",
			       "JS:*handleRequest /srv/app/server.js:12:23",
			       "LazyCompile:~handleRequest /srv/app/server.js:12",
			       "LazyCompile:*handleRequest /srv/app/server.js:12" };
	char k0[512], k[512];
	ag_frame_t f0 = js(same[0]);
	fold_frame_key(&f0, k0, sizeof k0);
	for (size_t i = 1; i < sizeof same / sizeof same[0]; i++) {
		ag_frame_t f = js(same[i]);
		fold_frame_key(&f, k, sizeof k);
		cr_assert_str_eq(k, k0, "%s", same[i]);
	}
	ag_frame_t other = js("JS:~handleRequest /srv/app/other.js:12:23");
	fold_frame_key(&other, k, sizeof k);
	cr_assert_str_neq(k, k0, "same name in another script is another site");

	/* a symbolizer that already split the name: function, file and line */
	ag_frame_t split = { .function = "handleRequest", .file = "server.js",
			     .path = "/srv/app/server.js", .line = 12, .jit = 1 };
	fold_frame_key(&split, k, sizeof k);
	cr_assert_str_eq(k, k0);
	split.function = "*handleRequest";
	fold_frame_key(&split, k, sizeof k);
	cr_assert_str_eq(k, k0, "a tier mark left on a split name");
	char human[256];
	fold_frame_human(&split, human, sizeof human);
	cr_assert_str_eq(human, "handleRequest (server.js:12)");
}

Test(fold, libffi_and_unknown_node_frames_fold)
{
	const ag_frame_t st[] = {
		fn("malloc", "/lib/libc.so.6"),
		fn("make_buffer", "/usr/lib/python3/dist-packages/_native.so"),
		fn("ffi_call_unix64", "/lib/libffi.so.8"),
		fn("ffi_call_int", "/lib/libffi.so.8"),
		fn("_ctypes_callproc", "/usr/lib/python3.11/lib-dynload/_ctypes.so"),
	};
	cr_assert_str_eq(shown(st, 5, (fold_opts_t){ 0 }),
			 "make_buffer (_native.so+0x0) / _ctypes_callproc (_ctypes.so+0x0)");
	/* every frame runtime: the innermost ones are shown rather than nothing */
	const ag_frame_t rt[] = { fn("malloc", "/lib/libc.so.6"), fn("uv_run", "/usr/bin/node") };
	cr_assert_str_eq(shown(rt, 2, (fold_opts_t){ 0 }), "malloc (libc.so.6+0x0) / uv_run (node+0x0)");
	/* shown runtime frames drop their C++ parameter lists */
	const ag_frame_t v8[] = {
		fn("v8::base::OS::SetPermissions(void*, unsigned long, v8::base::OS::MemoryPermission)",
		   "/usr/bin/node"),
		fn("v8::internal::(anonymous namespace)::Grow(int)", "/usr/bin/node"),
	};
	cr_assert_str_eq(shown(v8, 2, (fold_opts_t){ 0 }),
			 "v8::base::OS::SetPermissions (node+0x0) / "
			 "v8::internal::(anonymous namespace)::Grow (node+0x0)");
}
