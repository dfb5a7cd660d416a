/* page.h: the interactive page of `plot -o FILE.html`, between page_data.c (collects from
 * the model what the page shows: sites as report groups them, their call paths and series,
 * the stacks of the flame graphs, growth verdicts), page_json.c (writes that as the JSON the
 * page embeds) and page.c (the HTML around it, with the page's own CSS and JS from
 * analyzer/page/, built in by the Makefile as page_assets).  The SVG is plot.c's. */
#ifndef ALLOCGUARD_PAGE_H
#define ALLOCGUARD_PAGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"
#include "reports.h"
#include "sites.h"
#include "symbols.h"

/* Bounds that keep a page of a huge log loadable: what is left out is summed as "other". */
#define PAGE_MAX_POINTS 2000    /* points of each series (snapshots picked evenly) */
#define PAGE_MAX_SITES 1000     /* sites kept from each ranking (peak, last, calls,
				 * temporary, most) */
#define PAGE_SERIES_SITES 300   /* sites that carry their own series */
#define PAGE_MAX_STACKS 8000    /* stacks kept from each ranking for the flame graphs */
#define PAGE_MAX_GROWTH 500     /* growth rows */

/* What one stack (a call path) holds in each flame graph view. */
typedef struct {
	uint64_t peak, peak_count;   /* live at the peak */
	uint64_t last, last_count;   /* live at the last snapshot */
	uint64_t calls, temporary;   /* allocation calls, and those freed at once */
	uint64_t most;               /* most live at any snapshot */
} page_val_t;

/* A site of the model (sites.h) as the page shows it. */
typedef struct {
	const site_t *site;          /* in page_t.set: its id, kind, largest path, paths */
	page_val_t v;                /* the sums over the site's stacks */
	uint32_t *stacks;            /* its paths kept on the page, in the set's order */
	size_t nstacks;
	double *series;              /* live bytes at each point, or NULL */
	int keep;
} page_site_t;

typedef struct {
	const ag_log_t *log;
	symbols_t *sym;
	report_t report;             /* the figures (no site lists) */
	int peak_exact;              /* the log has the sites at the peak (else: the snapshot
				      * holding the most is read for "peak") */
	int temporary;               /* the log records temporary allocations */
	size_t npts;
	size_t *pick;                /* snapshot index of each point */
	double *live;                /* live bytes of every stack at each point */
	page_val_t *val;             /* per stack */
	uint8_t *keep;               /* per stack: in the flame graphs */
	page_val_t other;            /* the stacks left out */
	site_set_t set;              /* the sites as report's peak rows: by bytes at the peak */
	page_site_t *sites;          /* parallel to set.sites */
	size_t nsites;
	uint32_t *site_of;           /* per stack: index in sites, or UINT32_MAX */
	growth_t growth;
} page_t;

int page_collect(const ag_log_t *log, symbols_t *sym, page_t *p);
void page_free(page_t *p);
/* The page's data as one JSON object (compact). */
int page_json(const page_t *p, FILE *out);

/* Built from analyzer/page/ by the Makefile (page_assets.c). */
typedef struct {
	const char *name;
	const unsigned char *data;
	size_t len;
} page_asset_t;
extern const page_asset_t page_assets[];
extern const size_t page_nassets;

#endif
