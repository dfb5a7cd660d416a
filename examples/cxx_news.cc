// cxx_news.cc: C++ allocation through operator new/delete and the standard containers
// (vector growth, strings, maps), with planted leaks like leaks.c prints them:
//   expect FUNC lost_bytes=N lost_count=N reachable_bytes=N reachable_count=N
// Mode "badalloc": operator new in 1 MiB steps until std::bad_alloc, caught; prints
// "got=BYTES bad_alloc=yes|no" and frees everything.  Deterministic output.
#include <cstdio>
#include <cstring>
#include <map>
#include <new>
#include <string>
#include <vector>

struct Widget {
	long id;
	char name[56];
};

static Widget *keep_widget;

static void expect(const char *fn, size_t lb, size_t lc, size_t rb, size_t rc)
{
	std::printf("expect %s lost_bytes=%zu lost_count=%zu reachable_bytes=%zu reachable_count=%zu\n",
		    fn, lb, lc, rb, rc);
}

static void leak_widgets()
{
	for (int i = 0; i < 5; i++) {
		Widget *w = new Widget;
		w->id = 0x5a5a5a5a;
		std::memset(w->name, 0x5a, sizeof w->name);
	}
	expect("leak_widgets", 5 * sizeof(Widget), 5, 0, 0);
}

static void leak_array()
{
	char *a = new char[4000];
	std::memset(a, 0x5a, 4000);
	a = nullptr;
	expect("leak_array", 4000, 1, 0, 0);
}

static void keep_one()
{
	keep_widget = new Widget();
	expect("keep_one", 0, 0, sizeof(Widget), 1);
}

static unsigned long container_work()
{
	std::vector<std::string> words;
	for (int i = 0; i < 20000; i++)
		words.push_back("word-" + std::to_string(i * 7919 % 20000));
	std::map<std::string, int> counts;
	for (const auto &w : words)
		counts[w.substr(0, 7)]++;
	std::vector<long> v;
	for (long i = 0; i < 200000; i++)
		v.push_back(i * i % 1000003);
	unsigned long sum = 0;
	for (long x : v)
		sum += (unsigned long)x;
	for (const auto &kv : counts)
		sum += kv.first.size() * (unsigned long)kv.second;
	std::string big;
	for (int i = 0; i < 5000; i++)
		big += words[(size_t)i];
	return sum + big.size();
}

static int badalloc()
{
	std::vector<char *> got;
	got.reserve(1 << 16);
	bool caught = false;
	try {
		for (int i = 0; i < 65536; i++) {
			char *p = new char[1 << 20];
			p[0] = 1;
			got.push_back(p);
		}
	} catch (const std::bad_alloc &) {
		caught = true;
	}
	std::printf("got=%zu bad_alloc=%s\n", got.size() << 20, caught ? "yes" : "no");
	for (char *p : got)
		delete[] p;
	// Still works afterwards.
	std::string s(1000, 'x');
	std::printf("after=%s\n", s.size() == 1000 ? "ok" : "broken");
	return caught ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !std::strcmp(argv[1], "badalloc"))
		return badalloc();
	leak_widgets();
	leak_array();
	keep_one();
	std::printf("containers=%lu\n", container_work());
	{
		// Dead stack copies of leaked pointers must not look like references.
		volatile char pad[128 * 1024];
		std::memset(const_cast<char *>(pad), 0, sizeof pad);
	}
	std::printf("done\n");
	return 0;
}
