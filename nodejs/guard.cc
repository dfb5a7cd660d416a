/* guard.cc: process.allocguard and the 'allocguard' pressure events, on the in-process API
 * (include/allocguard.h, found at run time).  The guard calls the pressure listener in its
 * own thread; each isolate gets the event through a thread-safe function, on its event
 * loop's next turn, as process.emit('allocguard', {type: 'pressure', level, tracked, cap}).
 * At every crossing up into critical (or the cap) the isolate is asked for one full
 * collection, unless ALLOCGUARD_NODE_GC=0. */
#include "addon.h"

#include <allocguard.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

namespace {

constexpr int kMaxEnvs = 64;
const char *const kLevels[] = { "ok", "warn", "critical", "cap" };

struct Env {
	napi_env env;
	napi_threadsafe_function tsfn;
	napi_ref process;
	int last;            /* the level this isolate last heard (its own thread) */
};

struct Event {
	int level;
	uint64_t tracked, cap;
};

pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
Env *envs[kMaxEnvs];
bool listening;

napi_value num(napi_env env, double d)
{
	napi_value v;
	napi_create_double(env, d, &v);
	return v;
}

napi_value str(napi_env env, const char *s)
{
	napi_value v;
	napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
	return v;
}

const char *level_name(int level)
{
	return level >= 0 && level <= 3 ? kLevels[level] : "ok";
}

void set(napi_env env, napi_value obj, const char *key, napi_value v)
{
	napi_set_named_property(env, obj, key, v);
}

/* The event loop's turn: emit on this isolate's process. */
void deliver(napi_env env, napi_value, void *ctx, void *data)
{
	auto *e = static_cast<Env *>(ctx);
	auto *ev = static_cast<Event *>(data);
	if (env && ev) {
		bool up_to_critical = ev->level >= 2 && ev->level > e->last;
		e->last = ev->level;
		if (up_to_critical && ag_gc_on_critical())
			ag_full_gc(ag_isolate_of(env));
		napi_value process, emit, obj, args[2];
		napi_create_object(env, &obj);
		set(env, obj, "type", str(env, "pressure"));
		set(env, obj, "level", str(env, level_name(ev->level)));
		set(env, obj, "tracked", num(env, (double)ev->tracked));
		set(env, obj, "cap", num(env, (double)ev->cap));
		args[0] = str(env, "allocguard");
		args[1] = obj;
		if (napi_get_reference_value(env, e->process, &process) == napi_ok &&
		    napi_get_named_property(env, process, "emit", &emit) == napi_ok)
			napi_call_function(env, process, emit, 2, args, nullptr);
	}
	free(ev);
}

/* The guard's thread, on every level change. */
void on_pressure(int level, const allocguard_usage_t *u, void *)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < kMaxEnvs; i++) {
		if (!envs[i])
			continue;
		auto *ev = static_cast<Event *>(malloc(sizeof(Event)));
		if (!ev)
			break;
		*ev = Event{ level, u->tracked, u->cap };
		if (napi_call_threadsafe_function(envs[i]->tsfn, ev, napi_tsfn_nonblocking) != napi_ok)
			free(ev);
	}
	pthread_mutex_unlock(&lock);
}

void forget(void *arg)
{
	auto *e = static_cast<Env *>(arg);
	pthread_mutex_lock(&lock);
	for (int i = 0; i < kMaxEnvs; i++)
		if (envs[i] == e)
			envs[i] = nullptr;
	pthread_mutex_unlock(&lock);
	napi_release_threadsafe_function(e->tsfn, napi_tsfn_abort);
	napi_delete_reference(e->env, e->process);
	delete e;
}

napi_value js_usage(napi_env env, napi_callback_info)
{
	allocguard_usage_t u;
	if (allocguard_get_usage(&u) != 0)
		return nullptr;
	napi_value o;
	napi_create_object(env, &o);
	set(env, o, "tracked", num(env, (double)u.tracked));
	set(env, o, "heap", num(env, (double)u.heap));
	set(env, o, "mapped", num(env, (double)u.mapped));
	set(env, o, "swapped", num(env, (double)u.swapped));
	set(env, o, "peak", num(env, (double)u.peak));
	set(env, o, "cap", num(env, (double)u.cap));
	set(env, o, "level", str(env, level_name(u.level)));
	return o;
}

/* snapshot(label): this isolate's JS heap read first, so the snapshot has it as it is. */
napi_value js_snapshot(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value arg;
	char label[256] = "";
	napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr);
	napi_valuetype t = napi_undefined;
	if (argc >= 1)
		napi_typeof(env, arg, &t);
	if (t == napi_string) {
		size_t n;
		napi_get_value_string_utf8(env, arg, label, sizeof label, &n);
	}
	ag_read(ag_isolate_of(env));
	napi_value ok;
	napi_get_boolean(env, allocguard_snapshot(label[0] ? label : nullptr) == 0, &ok);
	return ok;
}

napi_value js_leak_check(napi_env env, napi_callback_info)
{
	allocguard_leaks_t l;
	if (allocguard_leak_check(&l) != 0)
		return nullptr;
	napi_value o;
	napi_create_object(env, &o);
	set(env, o, "lostBytes", num(env, (double)l.lost_bytes));
	set(env, o, "lostBlocks", num(env, (double)l.lost_blocks));
	return o;
}

napi_value fn(napi_env env, const char *name, napi_callback cb)
{
	napi_value f;
	napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &f);
	return f;
}

/* Pressure events for this isolate: 0, or -1 when it cannot have them. */
int listen(napi_env env, napi_value process)
{
	auto *e = new Env{ env, nullptr, nullptr, 0 };
	napi_value name = str(env, "allocguard-pressure");
	if (napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, e,
					    deliver, &e->tsfn) != napi_ok) {
		delete e;
		return -1;
	}
	napi_unref_threadsafe_function(env, e->tsfn);
	napi_create_reference(env, process, 1, &e->process);
	int slot = -1;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < kMaxEnvs && slot < 0; i++)
		if (!envs[i])
			envs[slot = i] = e;
	bool first = slot >= 0 && !listening;
	listening |= first;
	pthread_mutex_unlock(&lock);
	if (slot < 0) {
		forget(e);
		return -1;
	}
	napi_add_env_cleanup_hook(env, forget, e);
	if (first)
		allocguard_on_pressure(on_pressure, nullptr);
	return 0;
}

}  // namespace

/* install(process): process.allocguard and pressure events, when the guard is active. */
napi_value ag_js_install(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value process;
	napi_get_cb_info(env, info, &argc, &process, nullptr, nullptr);
	if (argc < 1 || !allocguard_active())
		return nullptr;
	napi_value api;
	napi_create_object(env, &api);
	set(env, api, "usage", fn(env, "usage", js_usage));
	set(env, api, "snapshot", fn(env, "snapshot", js_snapshot));
	set(env, api, "leakCheck", fn(env, "leakCheck", js_leak_check));
	napi_property_descriptor d = { "allocguard", nullptr, nullptr, nullptr, nullptr, api,
				       napi_default, nullptr };
	napi_define_properties(env, process, 1, &d);
	listen(env, process);
	return nullptr;
}
