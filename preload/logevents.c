/* logevents.c: V and W lines from the outbox (see logevents.h). */
#include "logevents.h"
#include "fmt.h"
#include "logfmt.h"
#include "outbox.h"

#include <limits.h>

/* V lines for the cap events since the last snapshot. */
static void write_events(logbuf_t *lb)
{
	cap_event_t ev[64];
	size_t n;
	while ((n = outbox_cap_events_take(ev, 64)) > 0) {
		for (size_t i = 0; i < n; i++) {
			char line[128];
			fmt_t f;
			fmt_init(&f, line, sizeof line);
			fmt_str(&f, "V ");
			fmt_u64(&f, ev[i].t_ns);
			fmt_chr(&f, ' ');
			fmt_str(&f, ag_cap_event_name(ev[i].kind));
			uint64_t v[] = { ev[i].bytes, ev[i].request, ev[i].stack };
			for (size_t k = 0; k < 3; k++) {
				fmt_chr(&f, ' ');
				fmt_u64(&f, v[k]);
			}
			logbuf_line(lb, &f);
		}
	}
}

/* W lines for model files swapped (or passed through) since the last snapshot. */
static void write_swaps(logbuf_t *lb)
{
	swap_event_t ev;   /* one at a time: the writer's stack is small */
	char line[PATH_MAX * 3 + 128];
	while (outbox_swap_events_take(&ev, 1) == 1) {
		fmt_t f;
		fmt_init(&f, line, sizeof line);
		fmt_str(&f, "W ");
		fmt_u64(&f, ev.t_ns);
		fmt_chr(&f, ' ');
		fmt_u64(&f, ev.bytes);
		fmt_chr(&f, ' ');
		fmt_escaped(&f, ag_swap_mode_name(ev.mode));
		fmt_chr(&f, ' ');
		fmt_escaped(&f, ev.path);
		logbuf_line(lb, &f);
	}
}

void logevents_write(logbuf_t *lb)
{
	write_events(lb);
	write_swaps(lb);
}
