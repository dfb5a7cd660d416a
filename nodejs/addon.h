/* addon.h: between the companion's V8 side (addon.cc: the profiler, reads, pokes) and its
 * JS side (module.cc: the functions loader.js calls, N-API only). */
#ifndef ALLOCGUARD_ADDON_H
#define ALLOCGUARD_ADDON_H

#include <node_api.h>
#include <stdint.h>

struct ag_isolate;

/* Find the preload's entry points (once per process). */
void ag_init_once(void);
/* Register this isolate with the guard and start sampling.  NULL with *direct set when
 * V8's profiler was started directly; else why not (with a registered isolate when the
 * inspector may still feed it: ag_isolate_of is then non-NULL). */
const char *ag_start(napi_env env, bool *direct);
ag_isolate *ag_isolate_of(napi_env env);
/* The main thread is exiting. */
void ag_exiting(void);
/* Read the profile now (the direct path). */
void ag_read(ag_isolate *s);
/* The inspector path: a whole profile given stack by stack (innermost first). */
void ag_put_begin(ag_isolate *s);
int ag_put_stack(ag_isolate *s, const char *const *names, const char *const *scripts,
		 const int *lines, const int *cols, int depth, uint64_t bytes, uint64_t count);
void ag_put_end(ag_isolate *s);
/* The guard's snapshot interval (ms; 0 = none). */
uint64_t ag_interval_ms(void);
/* One full collection (LowMemoryNotification) of the calling thread's isolate. */
void ag_full_gc(ag_isolate *s);
/* ALLOCGUARD_NODE_GC: collect at critical crossings. */
bool ag_gc_on_critical(void);
/* process.allocguard and pressure events (guard.cc): install(process). */
napi_value ag_js_install(napi_env env, napi_callback_info info);

#endif
