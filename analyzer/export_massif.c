/* export_massif.c: `allocguard export --format massif`: the massif.out format that
 * valgrind's ms_print and massif-visualizer read.  One massif snapshot per allocguard
 * snapshot (total = tracked bytes), a detailed allocation tree at the peak and at the last
 * snapshot.  When the peak fell between two snapshots, a snapshot of its own carries the
 * peak's total, its tree is the state of the nearer recorded snapshot, and what no site
 * accounts for is one node that says so. */
#include "exports.h"
#include "htab.h"
#include "reports.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Children under this share of the snapshot's total are folded into one node, as massif
 * itself does, so the tree stays readable. */
#define MASSIF_THRESHOLD_PCT 1.0

/* The node of bytes no call site accounts for. */
#define UNATTRIBUTED UINT32_MAX

typedef struct node {
	uint64_t addr;
	uint32_t inl;               /* which of the address's inline frames */
	int hashed;                 /* its children are in the tree's htab too */
	const struct node *parent;
	uint64_t bytes;
	struct node **kid;
	size_t nkid, capkid;
} node_t;

/* The children of nodes with many of them (the root of a log of a million sites has a
 * million), found by hash: a scan of the children per frame made the tree quadratic. */
#define KIDS_HASHED_FROM 16

/* The key of n's child for (addr, inl) in the tree's htab (value: the child). */
static uint64_t kid_key(const node_t *parent, uint64_t addr, uint32_t inl)
{
	return htab_mix((uint64_t)(uintptr_t)parent * 0x9e3779b97f4a7c15ULL ^ addr ^
			((uint64_t)inl << 56));
}

static int kids_put(htab_t *m, node_t *c)
{
	return htab_put(m, kid_key(c->parent, c->addr, c->inl), (uint64_t)(uintptr_t)c);
}

static void tree_free(node_t *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkid; i++)
		tree_free(n->kid[i]);
	free(n->kid);
	free(n);
}

/* The child of n for (addr, inl), added when missing; m NULL: found by a scan. */
static node_t *child(htab_t *m, node_t *n, uint64_t addr, uint32_t inl)
{
	if (m && n->hashed) {
		uint64_t v;
		for (size_t pos = HTAB_START; htab_find(m, kid_key(n, addr, inl), &pos, &v);) {
			node_t *k = (node_t *)(uintptr_t)v;
			if (k->parent == n && k->addr == addr && k->inl == inl)
				return k;
		}
	} else {
		for (size_t i = 0; i < n->nkid; i++)
			if (n->kid[i]->addr == addr && n->kid[i]->inl == inl)
				return n->kid[i];
	}
	if (n->nkid == n->capkid) {
		size_t nc = n->capkid ? n->capkid * 2 : 4;
		node_t **nk = realloc(n->kid, nc * sizeof *nk);
		if (!nk)
			return NULL;
		n->kid = nk;
		n->capkid = nc;
	}
	node_t *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->addr = addr;
	c->inl = inl;
	c->parent = n;
	n->kid[n->nkid++] = c;
	if (m && n->hashed && kids_put(m, c))
		return NULL;   /* c is n's child already: freed with the tree */
	if (m && !n->hashed && n->nkid >= KIDS_HASHED_FROM) {
		for (size_t i = 0; i < n->nkid; i++)
			if (kids_put(m, n->kid[i]))
				return NULL;
		n->hashed = 1;
	}
	return c;
}

/* The tree of live bytes in state st: children are callers, as in massif. */
static node_t *tree_build(const ag_log_t *log, symbols_t *sym, const ag_stackval_t *st)
{
	node_t *root = calloc(1, sizeof *root);
	htab_t m = HTAB_INIT;
	if (!root)
		return NULL;
	for (size_t i = 0; i < log->nstacks; i++) {
		uint64_t b = st[i].live_bytes;
		if (!b)
			continue;
		const ag_stack_t *s = &log->stacks[i];
		node_t *n = root;
		n->bytes += b;
		for (uint32_t k = 0; k < s->nframes && n; k++) {
			const ag_frame_t *fr[EXPORT_MAX_INLINE];
			size_t nf = export_frames(sym, s->frames[k], fr, EXPORT_MAX_INLINE);
			for (size_t j = 0; j < nf && n; j++) {
				n = child(&m, n, s->frames[k], (uint32_t)j);
				if (n)
					n->bytes += b;
			}
		}
		if (!n) {
			htab_free(&m);
			tree_free(root);
			return NULL;
		}
	}
	htab_free(&m);
	return root;
}

static int by_bytes(const void *a, const void *b)
{
	const node_t *x = *(node_t *const *)a, *y = *(node_t *const *)b;
	return x->bytes != y->bytes ? (x->bytes > y->bytes ? -1 : 1)
				    : (x->addr < y->addr ? -1 : x->addr > y->addr);
}

static void put_label(FILE *out, symbols_t *sym, const node_t *n)
{
	if (n->inl == UNATTRIBUTED) {
		fputs(" (live at the peak but not at a snapshot, or not attributed to a call "
		      "site)\n", out);
		return;
	}
	const ag_frame_t *fr[EXPORT_MAX_INLINE];
	size_t nf = export_frames(sym, n->addr, fr, EXPORT_MAX_INLINE);
	const ag_frame_t *f = n->inl < nf ? fr[n->inl] : NULL;
	fprintf(out, " 0x%" PRIX64 ": ", n->addr);
	if (!f || !f->function) {
		fputs("???", out);
		if (f && f->module)
			fprintf(out, " (in %s)", f->module);
	} else if (f->file && f->line > 0)
		fprintf(out, "%s (%s:%d)", f->function, f->file, f->line);
	else if (f->module)
		fprintf(out, "%s (in %s)", f->function, f->module);
	else
		fputs(f->function, out);
	fputc('\n', out);
}

static void tree_print(FILE *out, symbols_t *sym, node_t *n, int depth, uint64_t total)
{
	qsort(n->kid, n->nkid, sizeof *n->kid, by_bytes);
	uint64_t min = (uint64_t)((double)total * MASSIF_THRESHOLD_PCT / 100.0);
	size_t big = 0, small = 0;
	uint64_t small_bytes = 0;
	for (size_t i = 0; i < n->nkid; i++) {
		if (n->kid[i]->bytes >= min && n->kid[i]->bytes > 0)
			big++;
		else {
			small++;
			small_bytes += n->kid[i]->bytes;
		}
	}
	fprintf(out, "%*sn%zu: %" PRIu64, depth, "", big + (small ? 1 : 0), n->bytes);
	if (depth == 0)
		fputs(" (heap allocation functions) malloc/new/new[], --alloc-fns, etc.\n", out);
	else
		put_label(out, sym, n);
	for (size_t i = 0; i < big; i++)
		tree_print(out, sym, n->kid[i], depth + 1, total);
	if (small)
		fprintf(out, "%*sn0: %" PRIu64 " in %zu place%s, %sbelow massif's threshold "
			"(%.2f%%)\n", depth + 1, "", small_bytes, small, small == 1 ? "" : "s",
			small == 1 ? "" : "all ", MASSIF_THRESHOLD_PCT);
}

/* A detailed tree whose root is total bytes: sites first, then what none accounts for. */
static int put_tree(FILE *out, const ag_log_t *log, symbols_t *sym, size_t snap,
		    uint64_t total)
{
	ag_stackval_t *st = log_state_at(log, snap);
	node_t *root = st ? tree_build(log, sym, st) : NULL;
	free(st);
	if (!root)
		return ENOMEM;
	if (root->bytes < total) {
		/* the peak fell between snapshots, or bytes no stack accounts for */
		node_t *rest = child(NULL, root, 0, UNATTRIBUTED);
		if (!rest) {
			tree_free(root);
			return ENOMEM;
		}
		rest->bytes = total - root->bytes;
		root->bytes = total;
	}
	tree_print(out, sym, root, 0, root->bytes);
	tree_free(root);
	return 0;
}

static void put_head(FILE *out, size_t n, uint64_t t_ns, uint64_t total, const char *tree)
{
	fprintf(out, "#-----------\nsnapshot=%zu\n#-----------\ntime=%" PRIu64 "\n"
		"mem_heap_B=%" PRIu64 "\nmem_heap_extra_B=0\nmem_stacks_B=0\nheap_tree=%s\n", n,
		t_ns / 1000000, total, tree);
}

int export_massif(const ag_log_t *log, symbols_t *sym, FILE *out)
{
	size_t most;
	uint64_t peak = export_peak(log, &most);
	/* where the peak goes: at the snapshot that holds it, else just before the first
	 * snapshot that saw it, with the tree of the fuller of its two neighbours */
	size_t at = most, tree_of = most;
	int extra = log->snaps[most].tracked != peak;
	if (extra) {
		for (at = 0; at < log->nsnaps && log->snaps[at].peak_tracked < peak; at++)
			;
		if (at == log->nsnaps)
			at = log->nsnaps - 1;
		tree_of = at;
		if (at > 0 && log->snaps[at - 1].tracked > log->snaps[at].tracked)
			tree_of = at - 1;
	}
	char *cmd = report_command(log);
	fprintf(out, "desc: allocguard %s (tracked bytes: heap + mapped + swapped)\n", log->path);
	fprintf(out, "cmd: %s\ntime_unit: ms\n", cmd ? cmd : "?");
	free(cmd);
	size_t n = 0;
	int rc = 0;
	for (size_t i = 0; i < log->nsnaps && !rc; i++) {
		const ag_snap_t *s = &log->snaps[i];
		if (extra && i == at) {
			uint64_t t = s->t_ns;
			put_head(out, n++, t, peak, "peak");
			rc = put_tree(out, log, sym, tree_of, peak);
		}
		int is_peak = !extra && i == at, is_last = i + 1 == log->nsnaps;
		put_head(out, n++, s->t_ns, s->tracked,
			 is_peak ? "peak" : is_last ? "detailed" : "empty");
		if (!rc && (is_peak || is_last))
			rc = put_tree(out, log, sym, i, s->tracked);
	}
	if (!rc && ferror(out))
		rc = EIO;
	return rc;
}
