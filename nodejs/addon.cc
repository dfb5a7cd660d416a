/* addon.cc: allocguard's node companion (build/allocguard-node.node), loaded into every
 * isolate (main thread and workers) by loader.js.  It starts V8's sampling heap profiler
 * without forced GCs, reads the profile when the guard's writer asks (through an interrupt
 * while JS runs, through the event loop while it idles) and at exit, and hands each read to
 * the preload (preload/jsprof.c), which keeps it as the figures of j stacks.  Everything it
 * knows of V8 and of node's N-API is here; the preload's entry points are found at run
 * time, so without the guard the addon answers "not active". */
#include <node_api.h>
#include <v8-initialization.h>
#include <v8-isolate.h>
#include <v8-local-handle.h>
#include <v8-primitive.h>
#include <v8-profiler.h>
#include <v8-version.h>

#include <atomic>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "addon.h"

namespace {

constexpr size_t kSampleInterval = 512 * 1024;   /* V8's default: +0-5% measured */
constexpr int kMaxDepth = 256;
constexpr size_t kMaxEntries = 1 << 16;
constexpr int kMaxIsolates = 64;

struct Preload {
	uint64_t (*func)(const char *, const char *, int, int);
	uint32_t (*stack)(const uint64_t *, int);
	int (*open)(void (*)(void *), void *);
	int (*put)(int, const uint32_t *, const uint64_t *, const uint64_t *, size_t);
	void (*close)(int);
	void (*config)(int *, int *, uint64_t *, int *);
	void (*exiting)(void);
};
Preload P;
bool have_preload;

/* The V8 entry points the direct path calls; all must be there (node exports them). */
const char *const kV8Symbols[] = {
	"_ZN2v87Isolate10GetCurrentEv",
	"_ZN2v87Isolate15GetHeapProfilerEv",
	"_ZN2v812HeapProfiler25StartSamplingHeapProfilerEmiNS0_13SamplingFlagsE",
	"_ZN2v812HeapProfiler20GetAllocationProfileEv",
	"_ZN2v87Isolate16RequestInterruptEPFvPS0_PvES2_",
	"_ZN2v87Isolate21LowMemoryNotificationEv",
	"_ZN2v811HandleScopeC1EPNS_7IsolateE",
	"_ZN2v811HandleScopeD1Ev",
	"_ZNK2v86String9WriteUtf8EPNS_7IsolateEPciPii",
	"_ZN2v82V810GetVersionEv",
	"_ZN2v87Isolate21AddGCEpilogueCallbackEPFvPS0_NS_6GCTypeENS_15GCCallbackFlagsEPvES4_S2_",
	"_ZN2v87Isolate24RemoveGCEpilogueCallbackEPFvPS0_NS_6GCTypeENS_15GCCallbackFlagsEPvES4_",
	nullptr,
};

}  // namespace

/* Per isolate; from a pool of mmap'd records that are never freed, so an interrupt still
 * pending for an isolate that has gone finds a record that says so. */
struct ag_isolate {
	std::atomic<bool> alive;
	v8::Isolate *iso;
	napi_env env;
	int slot;
	bool direct;
	int depth;
	napi_threadsafe_function tsfn;
	std::atomic<uint32_t> want;
	uint32_t done;
	uint32_t collected;   /* the request that a collection has run since (its thread) */
	size_t n;
	uint64_t path[kMaxDepth], frames[kMaxDepth];
	uint32_t ids[kMaxEntries];
	uint64_t bytes[kMaxEntries], counts[kMaxEntries];
};

namespace {

ag_isolate *pool[kMaxIsolates];
std::atomic<int> pool_lock;

template <typename T> bool find(T &fn, const char *name)
{
	fn = reinterpret_cast<T>(dlsym(RTLD_DEFAULT, name));
	return fn != nullptr;
}

bool find_preload()
{
	return find(P.func, "allocguard_node_func") && find(P.stack, "allocguard_node_stack") &&
	       find(P.open, "allocguard_node_open") && find(P.put, "allocguard_node_put") &&
	       find(P.close, "allocguard_node_close") && find(P.config, "allocguard_node_config") &&
	       find(P.exiting, "allocguard_node_exiting");
}

const char *direct_missing()
{
	for (int i = 0; kV8Symbols[i]; i++)
		if (!dlsym(RTLD_DEFAULT, kV8Symbols[i]))
			return "node does not export V8's heap profiler";
	char want[32];
	snprintf(want, sizeof want, "%d.%d.%d.", V8_MAJOR_VERSION, V8_MINOR_VERSION,
		 V8_BUILD_NUMBER);
	if (strncmp(v8::V8::GetVersion(), want, strlen(want)) != 0)
		return "V8's version differs from the one the addon was built for";
	return nullptr;
}

ag_isolate *take_record()
{
	while (pool_lock.exchange(1))
		;
	ag_isolate *got = nullptr;
	for (int i = 0; i < kMaxIsolates && !got; i++) {
		if (!pool[i]) {
			/* the raw call: the guard's own memory, not counted as the program's */
			long r = syscall(SYS_mmap, nullptr, sizeof(ag_isolate),
					 PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			if (r == -1)
				break;
			void *m = reinterpret_cast<void *>(r);
			pool[i] = new (m) ag_isolate();
		}
		if (!pool[i]->alive.load() && !pool[i]->env)
			got = pool[i];
	}
	if (got)
		got->alive.store(true);
	pool_lock.store(0);
	return got;
}

size_t utf8(v8::Isolate *iso, v8::Local<v8::String> s, char *buf, size_t cap)
{
	if (s.IsEmpty())
		return buf[0] = '\0', 0;
	int n = s->WriteUtf8(iso, buf, static_cast<int>(cap - 1), nullptr,
			     v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
	buf[n > 0 ? n : 0] = '\0';
	return static_cast<size_t>(n);
}

uint64_t func_of(ag_isolate *s, const v8::AllocationProfile::Node *node)
{
	char name[512], script[1024];
	utf8(s->iso, node->name, name, sizeof name);
	utf8(s->iso, node->script_name, script, sizeof script);
	return P.func(name, script, node->line_number, node->column_number);
}

void walk(ag_isolate *s, const v8::AllocationProfile::Node *node, int depth)
{
	if (depth >= kMaxDepth)
		return;
	if (depth >= 0) {
		s->path[depth] = func_of(s, node);
		uint64_t b = 0, c = 0;
		for (const auto &a : node->allocations) {
			b += static_cast<uint64_t>(a.size) * a.count;
			c += a.count;
		}
		if (b && s->n < kMaxEntries) {
			for (int i = 0; i <= depth; i++)
				s->frames[i] = s->path[depth - i];
			uint32_t id = P.stack(s->frames, depth + 1);
			if (id) {
				s->ids[s->n] = id;
				s->bytes[s->n] = b;
				s->counts[s->n++] = c;
			}
		}
	}
	for (const auto *child : node->children)
		walk(s, child, depth + 1);
}

bool start_direct(ag_isolate *s)
{
	/* false when a sampler runs already (the user's --heap-prof, an inspector session):
	 * then that one is read, and never stopped */
	s->iso->GetHeapProfiler()->StartSamplingHeapProfiler(
		kSampleInterval, s->depth, v8::HeapProfiler::kSamplingNoFlags);
	return true;
}

void read_direct(ag_isolate *s)
{
	v8::HandleScope scope(s->iso);
	v8::AllocationProfile *prof = s->iso->GetHeapProfiler()->GetAllocationProfile();
	if (!prof) {
		start_direct(s);   /* stopped by its user: ours starts again */
		return;
	}
	s->n = 0;
	walk(s, prof->GetRootNode(), -1);
	delete prof;
	P.put(s->slot, s->ids, s->bytes, s->counts, s->n);
}

/* A read waits for the next collection after the request: dead objects are then out of the
 * profile, so a function that only makes garbage reads as what it keeps (little) rather than
 * as whatever garbage the last scavenge left.  A request older than the latest one (no
 * collection came in a whole interval: the program hardly allocates) is served at once. */
void read_if_asked(ag_isolate *s)
{
	uint32_t w = s->want.load();
	if (!s->direct || s->done == w)
		return;
	if (s->collected != w && w - s->done < 2)
		return;
	s->done = w;
	read_direct(s);
}

void on_interrupt(v8::Isolate *iso, void *data)
{
	auto *s = static_cast<ag_isolate *>(data);
	if (s->alive.load() && s->iso == iso)
		read_if_asked(s);
}

/* After every collection (the isolate's thread, inside V8): the read waiting for it runs at
 * the next interrupt check, out of the collector. */
void on_gc(v8::Isolate *iso, v8::GCType, v8::GCCallbackFlags, void *data)
{
	auto *s = static_cast<ag_isolate *>(data);
	uint32_t w = s->want.load();
	if (s->alive.load() && s->iso == iso && s->done != w && s->collected != w) {
		s->collected = w;
		iso->RequestInterrupt(on_interrupt, s);
	}
}

void on_loop(napi_env env, napi_value, void *ctx, void *)
{
	auto *s = static_cast<ag_isolate *>(ctx);
	if (env && s->alive.load())
		read_if_asked(s);
}

/* The writer's thread, under the preload's lock (the slot cannot close meanwhile). */
void poke(void *arg)
{
	auto *s = static_cast<ag_isolate *>(arg);
	s->want.fetch_add(1);
	napi_call_threadsafe_function(s->tsfn, nullptr, napi_tsfn_nonblocking);
	if (s->direct)
		s->iso->RequestInterrupt(on_interrupt, s);
}

void cleanup(void *arg)
{
	auto *s = static_cast<ag_isolate *>(arg);
	P.close(s->slot);   /* after this no poke comes */
	if (s->direct)
		s->iso->RemoveGCEpilogueCallback(on_gc, s);
	s->alive.store(false);
	napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
	s->env = nullptr;
}

}  // namespace

ag_isolate *ag_isolate_of(napi_env env)
{
	void *d = nullptr;
	napi_get_instance_data(env, &d);
	return static_cast<ag_isolate *>(d);
}

const char *ag_start(napi_env env, bool *direct)
{
	*direct = false;
	if (!have_preload)
		return "the guard is not loaded";
	int mode, gc, depth;
	uint64_t interval;
	P.config(&mode, &gc, &interval, &depth);
	if (mode == 0)
		return "off";
	const char *why = mode == 2 ? "inspector asked for" : direct_missing();
	ag_isolate *s = take_record();
	if (!s)
		return "too many isolates";
	s->iso = v8::Isolate::GetCurrent();
	s->env = env;
	s->depth = depth;
	s->want = 0;
	s->done = 0;
	s->collected = 0;
	s->direct = !why;
	napi_value name;
	napi_create_string_utf8(env, "allocguard", NAPI_AUTO_LENGTH, &name);
	if (napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, s,
					    on_loop, &s->tsfn) != napi_ok) {
		s->alive.store(false);
		s->env = nullptr;
		return "no thread-safe function";
	}
	napi_unref_threadsafe_function(env, s->tsfn);
	s->slot = P.open(poke, s);
	if (s->slot < 0) {
		napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
		s->alive.store(false);
		s->env = nullptr;
		return "too many isolates";
	}
	napi_set_instance_data(env, s, nullptr, nullptr);
	napi_add_env_cleanup_hook(env, cleanup, s);
	if (s->direct) {
		start_direct(s);
		s->iso->AddGCEpilogueCallback(on_gc, s);
	}
	*direct = s->direct;
	return s->direct ? nullptr : why;
}

void ag_exiting(void)
{
	if (have_preload)
		P.exiting();
}

void ag_read(ag_isolate *s)
{
	if (s && s->direct && s->alive.load())
		read_direct(s);
}

int ag_put_stack(ag_isolate *s, const char *const *names, const char *const *scripts,
		 const int *lines, const int *cols, int depth, uint64_t bytes, uint64_t count)
{
	if (!s || s->n >= kMaxEntries || depth <= 0)
		return 0;
	if (depth > kMaxDepth)
		depth = kMaxDepth;
	for (int i = 0; i < depth; i++)
		s->frames[i] = P.func(names[i], scripts[i], lines[i], cols[i]);
	uint32_t id = P.stack(s->frames, depth);
	if (id) {
		s->ids[s->n] = id;
		s->bytes[s->n] = bytes;
		s->counts[s->n++] = count;
	}
	return 1;
}

void ag_put_begin(ag_isolate *s)
{
	if (s)
		s->n = 0;
}

void ag_put_end(ag_isolate *s)
{
	if (s)
		P.put(s->slot, s->ids, s->bytes, s->counts, s->n);
}

void ag_full_gc(ag_isolate *)
{
	if (dlsym(RTLD_DEFAULT, "_ZN2v87Isolate21LowMemoryNotificationEv") &&
	    dlsym(RTLD_DEFAULT, "_ZN2v87Isolate10GetCurrentEv"))
		v8::Isolate::GetCurrent()->LowMemoryNotification();
}

bool ag_gc_on_critical(void)
{
	int mode = 0, gc = 1, depth = 0;
	uint64_t interval = 0;
	if (have_preload)
		P.config(&mode, &gc, &interval, &depth);
	return gc != 0;
}

void ag_init_once(void)
{
	have_preload = find_preload();
}

uint64_t ag_interval_ms(void)
{
	int mode = 0, gc = 0, depth = 0;
	uint64_t interval = 1000;
	if (have_preload)
		P.config(&mode, &gc, &interval, &depth);
	return interval;
}
