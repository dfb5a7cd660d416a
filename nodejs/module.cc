/* module.cc: the functions the companion gives loader.js (N-API only): start, read, put (a
 * profile read through the inspector), gc.  What they do is addon.cc's. */
#include "addon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace {

napi_value str(napi_env env, const char *s)
{
	napi_value v;
	napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
	return v;
}

/* start() -> "direct" | "inspector: why" | "off: why" */
napi_value js_start(napi_env env, napi_callback_info)
{
	bool direct;
	const char *why = ag_start(env, &direct);
	if (direct)
		return str(env, "direct");
	char buf[256];
	snprintf(buf, sizeof buf, "%s: %s", ag_isolate_of(env) ? "inspector" : "off", why);
	return str(env, buf);
}

napi_value js_read(napi_env env, napi_callback_info)
{
	ag_read(ag_isolate_of(env));
	return nullptr;
}

napi_value js_exiting(napi_env env, napi_callback_info)
{
	ag_exiting();
	return nullptr;
}

napi_value js_gc(napi_env env, napi_callback_info)
{
	ag_full_gc(ag_isolate_of(env));
	return nullptr;
}

napi_value js_interval(napi_env env, napi_callback_info)
{
	napi_value v;
	napi_create_double(env, (double)ag_interval_ms(), &v);
	return v;
}

bool get_str(napi_env env, napi_value arr, uint32_t i, char *buf, size_t cap)
{
	napi_value v;
	size_t n = 0;
	buf[0] = '\0';
	return napi_get_element(env, arr, i, &v) == napi_ok &&
	       napi_get_value_string_utf8(env, v, buf, cap, &n) == napi_ok;
}

double get_num(napi_env env, napi_value arr, uint32_t i)
{
	napi_value v;
	double d = 0;
	if (napi_get_element(env, arr, i, &v) == napi_ok)
		napi_get_value_double(env, v, &d);
	return d;
}

/* One stack: [bytes, count, name, script, line, col, name, script, line, col, ...]. */
void put_one(napi_env env, ag_isolate *s, napi_value st)
{
	enum { MAX = 64 };
	static char names[MAX][256], scripts[MAX][512];
	const char *np[MAX], *sp[MAX];
	int lines[MAX], cols[MAX];
	uint32_t len = 0;
	napi_get_array_length(env, st, &len);
	int depth = 0;
	for (uint32_t i = 2; i + 3 < len && depth < MAX; i += 4) {
		get_str(env, st, i, names[depth], sizeof names[0]);
		get_str(env, st, i + 1, scripts[depth], sizeof scripts[0]);
		lines[depth] = (int)get_num(env, st, i + 2);
		cols[depth] = (int)get_num(env, st, i + 3);
		np[depth] = names[depth];
		sp[depth] = scripts[depth];
		depth++;
	}
	double b = get_num(env, st, 0), c = get_num(env, st, 1);
	ag_put_stack(s, np, sp, lines, cols, depth, b > 0 ? (uint64_t)b : 0,
		     c > 0 ? (uint64_t)c : 0);
}

/* put(stacks): the isolate's whole profile, read through the inspector. */
napi_value js_put(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value arr;
	ag_isolate *s = ag_isolate_of(env);
	if (!s || napi_get_cb_info(env, info, &argc, &arr, nullptr, nullptr) != napi_ok || argc < 1)
		return nullptr;
	uint32_t n = 0;
	napi_get_array_length(env, arr, &n);
	ag_put_begin(s);
	for (uint32_t i = 0; i < n; i++) {
		napi_value st;
		if (napi_get_element(env, arr, i, &st) == napi_ok)
			put_one(env, s, st);
	}
	ag_put_end(s);
	return nullptr;
}

}  // namespace

NAPI_MODULE_INIT()
{
	static bool once;
	if (!once)
		ag_init_once();
	once = true;
	const napi_property_descriptor props[] = {
		{ "start", nullptr, js_start, nullptr, nullptr, nullptr, napi_default, nullptr },
		{ "read", nullptr, js_read, nullptr, nullptr, nullptr, napi_default, nullptr },
		{ "put", nullptr, js_put, nullptr, nullptr, nullptr, napi_default, nullptr },
		{ "intervalMs", nullptr, js_interval, nullptr, nullptr, nullptr, napi_default, nullptr },
		{ "exiting", nullptr, js_exiting, nullptr, nullptr, nullptr, napi_default, nullptr },
		{ "install", nullptr, ag_js_install, nullptr, nullptr, nullptr, napi_default, nullptr },
		{ "gc", nullptr, js_gc, nullptr, nullptr, nullptr, napi_default, nullptr },
	};
	napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
	return exports;
}
