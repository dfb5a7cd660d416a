/* mapcharge.c: the cap and the totals for mapping deltas (see mapcharge.h). */
#include "mapcharge.h"
#include "cap.h"

#include <errno.h>

static const char *const kind_what[ACC_KINDS] = { "malloc", "mmap", "swapped mmap" };

int mapcharge_charge(const map_delta_t *d, const char *what, bool commit)
{
	for (int k = 0; k < ACC_KINDS; k++) {
		if (d->d[k] <= 0)
			continue;
		const char *name = what ? what : kind_what[k];
		if (cap_charge((acc_kind_t)k, (uint64_t)d->d[k], (uint64_t)d->d[k], name,
			       commit ? CAP_NOW | CAP_COMMIT : CAP_NOW)) {
			for (int j = 0; j < k; j++)
				if (d->d[j] > 0)
					cap_refund((acc_kind_t)j, (uint64_t)d->d[j], CAP_NOW);
			return ENOMEM;
		}
	}
	for (int k = 0; k < ACC_KINDS; k++)
		if (d->d[k] < 0)
			cap_release((acc_kind_t)k, (uint64_t)-d->d[k], 0);
	return 0;
}

void mapcharge_settle(void)
{
	cap_tell_deferred();
}

void mapcharge_uncharge(const map_delta_t *d)
{
	for (int k = 0; k < ACC_KINDS; k++) {
		if (d->d[k] > 0)
			cap_refund((acc_kind_t)k, (uint64_t)d->d[k], CAP_NOW);
		else if (d->d[k] < 0)
			cap_charge((acc_kind_t)k, (uint64_t)-d->d[k], 0, NULL, CAP_UNDO);
	}
}

void mapcharge_drop_stale(uintptr_t lo, uintptr_t hi)
{
	mapstate_t none = { 0 };
	map_delta_t d = maptab_delta_assign(lo, hi, &none);
	mapcharge_charge(&d, NULL, false);   /* only releases */
	maptab_assign(lo, hi, &none);
}

void mapcharge_gained(void)
{
	cap_peaks();
}
