/* logevents.h: the log's event records (logfmt.h): V lines for the cap's warn, critical
 * and cap events and W lines for model files swapped, taken from the outbox where the
 * policy modules posted them.  The log writer calls it inside each snapshot. */
#ifndef ALLOCGUARD_LOGEVENTS_H
#define ALLOCGUARD_LOGEVENTS_H

#include "logbuf.h"

/* Every event posted since the last call, as V then W lines into lb. */
void logevents_write(logbuf_t *lb);

#endif
