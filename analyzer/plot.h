/* plot.h: inside `allocguard plot`'s SVG, not for the reports: the figures plot.c collects
 * from one log or a process tree, which plot_svg.c draws. */
#ifndef ALLOCGUARD_PLOT_H
#define ALLOCGUARD_PLOT_H

#include <stdint.h>
#include <stdio.h>

#define PLOT_TOP_SITES 5

typedef struct {
	double t;
	int kind;                    /* AG_CAP_EV_* */
	uint64_t bytes;
	uint64_t pid;
} plot_event_t;

typedef struct {
	char title[600], subtitle[400], panel2[100];
	int tree;                    /* several processes: panel 2 stacks them; caps are theirs */
	plot_event_t *ev;
	size_t nev;
	size_t n;                    /* points: one per snapshot */
	double *t;
	double *tracked, *heap, *mapped, *swapped;
	double *peak_so_far;         /* the highest tracked bytes seen by each snapshot */
	uint64_t peak;
	double tmax, ymax1, ymax2;
	uint64_t cap, warn_pct, crit_pct;
	int cap_drawn;
	size_t ntop;
	uint32_t top[PLOT_TOP_SITES];   /* sites (sites.h ids) */
	uint32_t *of;                   /* stack -> site */
	char label[PLOT_TOP_SITES + 1][200];
	double *site[PLOT_TOP_SITES + 1];   /* live bytes per top site, then "other" */
} plot_t;

/* The two panels of p as one SVG document: 0, or EIO. */
int plot_write_svg(const plot_t *p, FILE *out);

#endif
