/* sitesizes.c: requested sizes by site (see sites.h): the stacks' histograms (H lines,
 * log_stack_sizes) merged into each site of a set, and how a histogram is written, as
 * JSON buckets and as a short human summary. */
#include "sites.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int sites_sizes(const ag_log_t *log, site_set_t *set)
{
	if (!log_has_stack_sizes(log))
		return 0;
	set->have_sizes = 1;
	size_t room = 0;   /* a site's buckets are at most its paths' */
	for (size_t i = 0; i < set->nsites; i++)
		for (size_t k = 0; k < set->sites[i].npaths; k++) {
			const ag_sizehist_t *h = log_stack_sizes(log, set->sites[i].paths[k].stack);
			room += h ? h->nbins : 0;
		}
	free(set->size_bins);
	set->size_bins = malloc((room ? room : 1) * sizeof *set->size_bins);
	if (!set->size_bins)
		return ENOMEM;
	size_t at = 0;
	for (size_t i = 0; i < set->nsites; i++) {
		site_t *s = &set->sites[i];
		uint64_t sum[AG_SIZE_BUCKETS] = { 0 };
		for (size_t k = 0; k < s->npaths; k++) {
			const ag_sizehist_t *h = log_stack_sizes(log, s->paths[k].stack);
			for (uint32_t b = 0; h && b < h->nbins; b++)
				sum[h->bins[b].bucket] = ag_sat_add(sum[h->bins[b].bucket],
								    h->bins[b].count);
		}
		s->sizes = set->size_bins + at;
		s->nsizes = 0;
		for (unsigned b = 0; b < AG_SIZE_BUCKETS; b++)
			if (sum[b])
				set->size_bins[at + s->nsizes++] = (ag_sizebin_t){ sum[b], b };
		at += s->nsizes;
	}
	return 0;
}

static void bucket_json(json_t *j, unsigned k, uint64_t count)
{
	json_obj(j);
	json_key(j, "min");
	json_u64(j, ag_size_bucket_min(k));
	json_key(j, "max");
	json_u64(j, ag_size_bucket_max(k));
	json_key(j, "count");
	json_u64(j, count);
	json_obj_end(j);
}

void sizes_json(json_t *j, const ag_sizebin_t *bins, size_t n)
{
	json_key(j, "sizes");
	json_arr(j);
	for (size_t i = 0; i < n; i++)
		bucket_json(j, bins[i].bucket, bins[i].count);
	json_arr_end(j);
}

void sizes_json_dense(json_t *j, const uint64_t count[AG_SIZE_BUCKETS])
{
	json_key(j, "sizes");
	json_arr(j);
	for (unsigned k = 0; k < AG_SIZE_BUCKETS; k++)
		if (count[k])
			bucket_json(j, k, count[k]);
	json_arr_end(j);
}

/* Bucket k >= 1 holds [2^(k-1), 2^k - 1]: in bytes while that reads well, else from 2^(k-1)
 * to under 2^k in the unit of each end ("4-8 KiB", "512 KiB-1 MiB"). */
void size_bucket_str(unsigned k, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	if (k <= 1) {
		snprintf(buf, len, "%u B", k);
		return;
	}
	if (k <= 10) {
		snprintf(buf, len, "%llu-%llu B", ag_size_bucket_min(k), ag_size_bucket_max(k));
		return;
	}
	unsigned lo = k - 1, hi = k, ul = lo / 10, uh = hi / 10;
	if (uh > 6)
		uh = 6;
	if (ul == uh)
		snprintf(buf, len, "%llu-%llu %s", 1ull << (lo - 10 * ul), 1ull << (hi - 10 * uh),
			 unit[uh]);
	else
		snprintf(buf, len, "%llu %s-%llu %s", 1ull << (lo - 10 * ul), unit[ul],
			 1ull << (hi - 10 * uh), unit[uh]);
}

/* n as a rounded percentage of total, "<1" when it rounds to nothing. */
static void pct_str(uint64_t n, uint64_t total, char *buf, size_t len)
{
	double p = 100.0 * (double)n / (double)total;
	if (p < 0.5)
		snprintf(buf, len, "<1%%");
	else
		snprintf(buf, len, "%.0f%%", p);
}

/* Up to three buckets, the largest first, then what the others hold. */
#define SUMMARY_BUCKETS 3

void sizes_summary(const ag_sizebin_t *bins, size_t n, char *buf, size_t len)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total = ag_sat_add(total, bins[i].count);
	buf[0] = '\0';
	if (!total)
		return;
	size_t top[SUMMARY_BUCKETS], ntop = 0;
	for (; ntop < SUMMARY_BUCKETS && ntop < n; ntop++) {
		size_t best = (size_t)-1;
		for (size_t i = 0; i < n; i++) {
			int taken = 0;
			for (size_t t = 0; t < ntop; t++)
				taken |= top[t] == i;
			if (!taken && bins[i].count && (best == (size_t)-1 || bins[i].count > bins[best].count))
				best = i;
		}
		if (best == (size_t)-1)
			break;
		top[ntop] = best;
	}
	char range[48], pct[16];
	size_bucket_str(bins[top[0]].bucket, range, sizeof range);
	if (bins[top[0]].count == total) {
		snprintf(buf, len, "sizes: all %s", range);
		return;
	}
	size_t at = 0;
	uint64_t shown = 0;
	for (size_t t = 0; t < ntop; t++) {
		size_bucket_str(bins[top[t]].bucket, range, sizeof range);
		pct_str(bins[top[t]].count, total, pct, sizeof pct);
		shown += bins[top[t]].count;
		at += (size_t)snprintf(buf + at, at < len ? len - at : 0, "%s%s%s (%s)",
				       t ? ", " : "sizes: ",
				       !t && 2 * bins[top[t]].count > total ? "mostly " : "", range,
				       pct);
		if (at >= len)
			return;
	}
	if (shown < total) {
		pct_str(total - shown, total, pct, sizeof pct);
		snprintf(buf + at, len - at, ", other sizes (%s)", pct);
	}
}
