// cxx_abort_on_null.cc: an uncaught std::bad_alloc from a refused allocation (run it under a
// cap of 100M): std::terminate, then abort.  The refusal must be in the log.
#include <cstring>
#include <vector>

int main()
{
	std::vector<char> a(10 << 20);
	std::memset(a.data(), 1, a.size());
	std::vector<char> b(200 << 20);   // over the cap: operator new throws
	return b[0];
}
