/* logbuf.c: buffered appends to the log, plain or gzip (see logbuf.h). */
#include "logbuf.h"
#include "sys.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* Deflate at level 1: output a quarter larger than level 6's for a third of the CPU (README,
 * "Analysis time and log size").  windowBits 15, memLevel 8 take about 262 KiB (zlib's
 * formula: (1 << 17) + (1 << 17) + its state); inflate about 40 KiB.  One arena serves whichever
 * stream is open; a bump allocator, reset when a stream begins. */
#define ARENA_SIZE (320 * 1024)
#define GZ_LEVEL 1

static char *arena;
static size_t arena_used;

static voidpf arena_alloc(voidpf opaque, uInt items, uInt size)
{
	size_t n = (size_t)items * size;
	n = (n + 15) & ~(size_t)15;
	if (!arena || n > ARENA_SIZE - arena_used)
		return Z_NULL;
	void *p = arena + arena_used;
	arena_used += n;
	return p;
}

static void arena_free(voidpf opaque, voidpf p) { }

/* zlib's default allocator (zutil.c) calls malloc and free.  Our streams always bring the
 * arena, and the link (-Wl,--wrap, Makefile) sends zlib's references here, never to this
 * library's own malloc hooks. */
void *__wrap_malloc(size_t n)
{
	return n <= UINT_MAX ? arena_alloc(Z_NULL, (uInt)n, 1) : Z_NULL;
}

void __wrap_free(void *p) { }

/* The arena, emptied; false when it cannot be had. */
static bool arena_reset(void)
{
	if (!arena)
		arena = sys_alloc(ARENA_SIZE, false);
	arena_used = 0;
	return arena != NULL;
}

bool logbuf_begin(logbuf_t *lb, bool gz)
{
	lb->len = 0;
	lb->member = lb->unflushed = false;
	lb->gz = false;
	if (!gz || !arena_reset())
		return false;
	/* never deflateEnd or deflateReset here: the state may be a half-used copy from a
	 * parent process; a fresh one is made over it in the emptied arena */
	memset(&lb->zs, 0, sizeof lb->zs);
	lb->zs.zalloc = arena_alloc;
	lb->zs.zfree = arena_free;
	if (deflateInit2(&lb->zs, GZ_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return false;
	lb->gz = true;
	return true;
}

static void out_write(logbuf_t *lb, size_t n)
{
	if (n && !lb->err && lb->fd >= 0)
		lb->err = fmt_write_all(lb->fd, lb->out, n);
}

/* The buffered text through deflate with the given flush mode, the output written. */
static void deflate_out(logbuf_t *lb, int mode)
{
	z_stream *zs = &lb->zs;
	zs->next_in = (Bytef *)lb->buf;
	zs->avail_in = (uInt)lb->len;
	if (lb->len)
		lb->member = lb->unflushed = true;
	do {
		zs->next_out = (Bytef *)lb->out;
		zs->avail_out = LOGBUF_OUT;
		int rc = deflate(zs, mode);
		if (rc == Z_STREAM_ERROR) {
			if (!lb->err)
				lb->err = EIO;
			break;
		}
		out_write(lb, LOGBUF_OUT - zs->avail_out);
	} while (zs->avail_out == 0);
	lb->len = 0;
	if (mode != Z_NO_FLUSH)
		lb->unflushed = false;
	if (mode == Z_FINISH) {
		deflateReset(zs);   /* writes nothing: text after this starts a new member */
		lb->member = false;
	}
}

static void spill(logbuf_t *lb)
{
	if (lb->gz) {
		deflate_out(lb, Z_NO_FLUSH);
		return;
	}
	if (lb->len && !lb->err && lb->fd >= 0)
		lb->err = fmt_write_all(lb->fd, lb->buf, lb->len);
	lb->len = 0;
}

int logbuf_flush(logbuf_t *lb)
{
	if (!lb->gz)
		spill(lb);
	else if (lb->len || lb->unflushed)
		deflate_out(lb, Z_SYNC_FLUSH);
	return lb->err;
}

int logbuf_finish(logbuf_t *lb)
{
	if (!lb->gz)
		spill(lb);
	else if (lb->len || lb->member)
		deflate_out(lb, Z_FINISH);
	return lb->err;
}

static void logbuf_put(logbuf_t *lb, const char *s, size_t n)
{
	while (n) {
		if (lb->len == LOGBUF_SIZE)
			spill(lb);
		size_t room = LOGBUF_SIZE - lb->len, k = n < room ? n : room;
		memcpy(lb->buf + lb->len, s, k);
		lb->len += k;
		s += k;
		n -= k;
	}
}

void logbuf_line(logbuf_t *lb, const fmt_t *f)
{
	logbuf_put(lb, f->buf, f->len);
	logbuf_put(lb, "\n", 1);
}

bool logbuf_is_gz(const void *p, size_t n)
{
	const unsigned char *b = p;
	return n >= 2 && b[0] == 0x1f && b[1] == 0x8b;
}

size_t logbuf_gunzip_head(logbuf_t *lb, const void *in, size_t n, char *out, size_t cap)
{
	if (lb->gz || !arena_reset())
		return 0;
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	zs.zalloc = arena_alloc;
	zs.zfree = arena_free;
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return 0;
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)n;
	zs.next_out = (Bytef *)out;
	zs.avail_out = (uInt)cap;
	inflate(&zs, Z_SYNC_FLUSH);   /* a cut or bad stream: what came out before it */
	size_t got = cap - zs.avail_out;
	arena_used = 0;
	return got;
}
