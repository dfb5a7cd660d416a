/* fold.c: folding runtime frames out of the sites humans read (see fold.h).  The lists are
 * by name: an entry ending in ':' or '_' is a prefix, any other must be the whole name
 * (before its parameter list or symbol version). */
#include "fold.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const runtime_names[] = {
	/* libc's allocator and its wrappers */
	"malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign",
	"aligned_alloc", "memalign", "valloc", "pvalloc", "__libc_malloc", "__libc_calloc",
	"__libc_realloc", "__libc_memalign", "_int_malloc", "_int_realloc", "_int_memalign",
	"sysmalloc", "tcache_init", "strdup", "__strdup", "strndup", "__strndup", "wcsdup",
	"__wcsdup", "asprintf", "__asprintf", "vasprintf", "__vasprintf", "__vasprintf_internal",
	"getdelim", "__getdelim", "getline", "mmap", "mmap64", "__mmap", "__mmap64", "mremap",
	"__mremap", "mprotect", "__mprotect",
	/* program and thread entry */
	"_start", "__libc_start_main", "__libc_start_main_impl", "__libc_start_call_main",
	"start_thread", "clone", "__clone", "clone3", "__clone3",
	/* C++: operator new and the standard library's containers and allocators */
	"operator new", "operator new[]", "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t",
	"_ZnamRKSt9nothrow_t", "_ZnwmSt11align_val_t", "_ZnamSt11align_val_t", "std::",
	"__gnu_cxx::", "__cxxabiv1::",
	/* CPython's object allocator */
	"_PyObject_Malloc", "_PyObject_Calloc", "_PyObject_Realloc", "_PyObject_ArenaMmap",
	"_PyObject_ArenaMalloc", "_PyObject_VirtualAlloc", "_PyObject_New", "_PyObject_NewVar",
	"_PyObject_GC_New", "_PyObject_GC_NewVar", "_PyObject_GC_Link", "_PyObject_GC_Resize",
	"_PyObject_GC_Malloc", "_PyObject_GC_Calloc", "_PyObject_GC_Alloc", "_PyObject_Init",
	"_PyObject_InitVar", "pymalloc_", "allocate_from_new_pool", "new_arena", "PyObject_Malloc",
	"PyObject_Calloc", "PyObject_Realloc", "PyObject_Init", "PyObject_InitVar", "PyObject_GC_",
	"PyMem_", "_PyMem_", "gc_alloc", "_PyType_AllocNoTrack", "PyType_GenericAlloc",
	/* V8 and node: the engine, node's C++, libuv, N-API, embedded builtins and stubs */
	"v8::", "node::", "cppgc::", "heap::base::", "non-virtual thunk to v8::",
	"non-virtual thunk to node::", "uv_", "uv__", "napi_", "Builtins_", "Builtin:",
	"BytecodeHandler:", "Stub:", "Handler:", "RegExp:", "InterpreterEntryTrampoline",
	/* libraries inside node: the HTTP parser, OpenSSL's allocator */
	"llhttp_", "llhttp__", "CRYPTO_malloc", "CRYPTO_zalloc", "CRYPTO_realloc",
	"CRYPTO_clear_realloc", "CRYPTO_strdup", "CRYPTO_strndup",
	/* libffi trampolines */
	"ffi_call", "ffi_call_unix64", "ffi_call_int", "ffi_closure_",
	NULL,
};

/* Wrappers worth naming after the site: "leak (a.c:3) via strdup". */
static const char *const via_names[] = {
	"operator new", "operator new[]", "_Znwm", "_Znam", "strdup", "__strdup", "strndup",
	"__strndup", "wcsdup", "__wcsdup", NULL,
};

static const char *const js_prefixes[] = {
	"JS:", "LazyCompile:", "Function:", "Eval:", "Script:", "InterpretedFunction:", NULL,
};

/* Length of the bare name: up to its parameter list or symbol version. */
static size_t bare_len(const char *s)
{
	size_t n = 0;
	while (s[n] && s[n] != '(' && s[n] != '@')
		n++;
	while (n && s[n - 1] == ' ')
		n--;
	return n;
}

static int listed(const char *const *list, const char *s)
{
	size_t n = bare_len(s);
	for (int i = 0; list[i]; i++) {
		size_t m = strlen(list[i]);
		char last = list[i][m - 1];
		if (last == ':' || last == '_') {
			if (n >= m && strncmp(s, list[i], m) == 0)
				return 1;
		} else if (n == m && strncmp(s, list[i], m) == 0) {
			return 1;
		}
	}
	return 0;
}

/* Demangled template functions start with their return type ("void std::vector<...>"). */
static const char *past_return_type(const char *s)
{
	const char *sp = strchr(s, ' ');
	if (!sp)
		return NULL;
	size_t head = (size_t)(sp - s);
	if (memchr(s, '(', head) || memchr(s, '<', head) || memchr(s, ':', head))
		return NULL;
	return sp + 1;
}

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;
	return s ? s + 1 : p;
}

/* The JS function name of a perf-map entry, past "JS:" and the tier mark, or NULL. */
static const char *js_body(const char *fn)
{
	for (int i = 0; js_prefixes[i]; i++) {
		size_t m = strlen(js_prefixes[i]);
		if (strncmp(fn, js_prefixes[i], m) == 0) {
			fn += m;
			if (*fn && strchr("~^*+", *fn))
				fn++;
			return fn;
		}
	}
	return NULL;
}

/* A node JS function (from the perf map): its name without tier marks ("(anonymous)" when
 * it has none), its script and the line it starts at (0 when unknown).  0 when f is not JS. */
static int fold_js(const ag_frame_t *f, char *name, size_t nlen, char *script, size_t slen,
		   int *line)
{
	if (!f->function || !f->jit)
		return 0;
	const char *body = js_body(f->function);
	if (!body) {
		/* already split by the symbolizer: name in function, script in path/file */
		if (listed(runtime_names, f->function))
			return 0;
		const char *fn = f->function;
		if (*fn && strchr("~^*+", *fn))
			fn++;   /* a tier mark left on the name */
		snprintf(name, nlen, "%s", *fn ? fn : "(anonymous)");
		snprintf(script, slen, "%s", f->path ? f->path : f->file ? f->file : "");
		*line = f->line;
		return 1;
	}
	/* "handler /srv/app.js:12:5", " /srv/app.js:1:1" (anonymous), or a bare name */
	const char *sp = strrchr(body, ' ');
	size_t n = sp ? (size_t)(sp - body) : strlen(body);
	if (n)
		snprintf(name, nlen, "%.*s", (int)n, body);
	else
		snprintf(name, nlen, "(anonymous)");
	*line = 0;
	script[0] = '\0';
	if (sp) {
		snprintf(script, slen, "%s", sp + 1);
		/* strip ":line:col", keeping the line */
		char *c1 = strrchr(script, ':');
		if (c1 && c1 != script) {
			char *c2 = NULL;
			for (char *p = c1 - 1; p > script; p--)
				if (*p == ':') {
					c2 = p;
					break;
				}
			if (c2 && c1[1] >= '0' && c1[1] <= '9' && c2[1] >= '0' && c2[1] <= '9') {
				*line = atoi(c2 + 1);
				*c2 = '\0';
			} else if (c1[1] >= '0' && c1[1] <= '9') {
				*line = atoi(c1 + 1);
				*c1 = '\0';
			}
		}
	}
	return 1;
}

static int is_runtime(const ag_frame_t *f);

/* Every frame is asked once per stack it is in: the verdict stays with the frame (frames
 * live as long as their symbols_t, which only ever fills them in). */
int fold_is_runtime(const ag_frame_t *f)
{
	if (!f)
		return 1;
	if (!f->runtime)
		((ag_frame_t *)f)->runtime = is_runtime(f) ? 2 : 1;
	return f->runtime == 2;
}

static int is_runtime(const ag_frame_t *f)
{
	if (!f->function) {
		/* node's binary without a name, or JIT code with no perf-map entry */
		const char *b = base_name(f->module);
		return !b || strcmp(b, "node") == 0 || strncmp(b, "libnode.so", 10) == 0;
	}
	char name[512], script[1024];
	int line;
	/* node's own JS (Buffer.alloc...), and V8's builtins (Map.prototype.set) and
	 * pseudo-frames ("(V8 API)"), which have no script */
	if (fold_js(f, name, sizeof name, script, sizeof script, &line))
		return strncmp(script, "node:", 5) == 0 || !script[0];
	if (listed(runtime_names, f->function))
		return 1;
	const char *rest = past_return_type(f->function);
	return rest && listed(runtime_names, rest);
}

void fold_frame_human(const ag_frame_t *f, char *buf, size_t len)
{
	char name[512], script[1024];
	int line;
	if (!fold_js(f, name, sizeof name, script, sizeof script, &line)) {
		const char *paren = f->function ? strchr(f->function, '(') : NULL;
		while (paren && strncmp(paren, "(anonymous namespace)", 21) == 0)
			paren = strchr(paren + 21, '(');
		if (paren && paren != f->function && fold_is_runtime(f)) {
			/* runtime frames are shown only when nothing else is: their C++ parameter
			 * lists would bury the table */
			char bare[512];
			ag_frame_t g = *f;
			snprintf(bare, sizeof bare, "%.*s", (int)(paren - f->function), f->function);
			g.function = bare;
			frame_human(&g, buf, len);
			return;
		}
		frame_human(f, buf, len);
		return;
	}
	if (script[0] && line > 0)
		snprintf(buf, len, "%s (%s:%d)", name, base_name(script), line);
	else if (script[0])
		snprintf(buf, len, "%s (%s)", name, base_name(script));
	else
		snprintf(buf, len, "%s [JS]", name);
}

void fold_frame_key(const ag_frame_t *f, char *buf, size_t len)
{
	char name[512], script[1024];
	int line;
	if (fold_js(f, name, sizeof name, script, sizeof script, &line))
		snprintf(buf, len, "js|%s|%s|%d", name, script, line);
	else
		frame_key(f, buf, len);
}

static unsigned wanted(const fold_opts_t *o)
{
	return o && o->frames ? o->frames : FOLD_DEFAULT_FRAMES;
}


/* node's own binary holds only runtime (V8, node, libuv, llhttp, OpenSSL): its frames
 * fold without resolving their names, which is most of the cost of a node stack. */
static int runtime_module(const char *path)
{
	const char *b = base_name(path);
	return b && (strcmp(b, "node") == 0 || strncmp(b, "libnode.so", 10) == 0);
}

/* node's frames left unresolved are shown when nothing of the program's own is (or with
 * --all-frames): those, and only those, are named, so human output names node's C++
 * (v8::internal::...) as JSON does, at the cost of the frames shown. */
static void name_shown_runtime(symbols_t *sym, fold_frame_t *out, size_t n, size_t shown,
			       size_t own)
{
	if (own)
		return;
	for (size_t i = 0; i < n && i < shown; i++)
		if (!out[i].f)
			out[i].f = symbols_lookup(sym, out[i].addr);
}

size_t fold_expand(symbols_t *sym, const ag_stack_t *st, fold_frame_t *out, size_t max)
{
	return fold_expand_shown(sym, st, out, max, NULL, 0);
}

size_t fold_expand_shown(symbols_t *sym, const ag_stack_t *st, fold_frame_t *out, size_t max,
			 const fold_opts_t *o, size_t shown_max)
{
	size_t n = 0, own = 0, want = 0;
	if (shown_max) {
		want = wanted(o) < shown_max ? wanted(o) : shown_max;
		if (o && o->all && want < max)
			max = want;
	}
	for (uint32_t i = 0; i < st->nframes && n < max; i++) {
		if (runtime_module(symbols_module_of(sym, st->frames[i]))) {
			out[n++] = (fold_frame_t){ NULL, st->frames[i] };
			continue;
		}
		frame_iter_t it = { .next = i };
		for (const ag_frame_t *f = symbols_next(sym, st, &it); f && it.index == i && n < max;
		     f = symbols_next(sym, st, &it)) {
			out[n++] = (fold_frame_t){ f, st->frames[i] };
			if (!fold_is_runtime(f))
				own++;
			if (want && !(o && o->all) && !fold_is_runtime(f) && own == want)
				return n;
		}
	}
	name_shown_runtime(sym, out, n, own || !(o && o->all) ? wanted(o) : n, own);
	return n;
}


size_t fold_shown(const fold_frame_t *fr, size_t nfr, const fold_opts_t *o, uint32_t *idx,
		  size_t max)
{
	size_t want = wanted(o) < max ? wanted(o) : max, n = 0;
	if (!(o && o->all)) {
		for (uint32_t i = 0; i < nfr && n < want; i++)
			if (!fold_is_runtime(fr[i].f))
				idx[n++] = i;
		if (n)
			return n;
	}
	for (uint32_t i = 0; i < nfr && n < want; i++)
		idx[n++] = i;
	return n;
}

const char *fold_via(const fold_frame_t *fr, size_t nfr, const fold_opts_t *o)
{
	uint32_t first;
	if ((o && o->all) || fold_shown(fr, nfr, o, &first, 1) == 0 || first == 0)
		return NULL;
	char name[8], script[8];
	int line;
	if (fr[first].f && fold_js(fr[first].f, name, sizeof name, script, sizeof script, &line))
		return NULL;   /* a JS function calls no operator new itself */
	/* the wrapper the program called: the outermost listed one below the site */
	for (uint32_t i = first; i-- > 0;) {
		const ag_frame_t *f = fr[i].f;
		if (f && f->function && listed(via_names, f->function))
			return f->function;
	}
	return NULL;
}

void fold_shown_human(const fold_frame_t *x, char *buf, size_t len)
{
	if (x->f)
		fold_frame_human(x->f, buf, len);
	else
		snprintf(buf, len, "node+0x%" PRIx64, x->addr);
}

char *fold_site_key(symbols_t *sym, const ag_stack_t *st, const fold_opts_t *o)
{
	fold_frame_t fr[AG_FOLD_MAX_FRAMES];
	uint32_t idx[64];
	size_t nfr = fold_expand_shown(sym, st, fr, AG_FOLD_MAX_FRAMES, o, sizeof idx / sizeof idx[0]);
	size_t n = fold_shown(fr, nfr, o, idx, sizeof idx / sizeof idx[0]);
	size_t cap = 8 + n * 1100, len;
	char *k = malloc(cap);
	if (!k)
		return NULL;
	len = (size_t)snprintf(k, cap, "%c", st->kind);
	for (size_t i = 0; i < n; i++) {
		char buf[1080];
		const fold_frame_t *x = &fr[idx[i]];
		if (!x->f) {
			/* shown only when the whole stack is runtime: the address will do */
			len += (size_t)snprintf(k + len, cap - len, ";node@%" PRIx64, x->addr);
			continue;
		}
		fold_frame_key(x->f, buf, sizeof buf);
		len += (size_t)snprintf(k + len, cap - len, ";%s", buf);
	}
	return k;
}
