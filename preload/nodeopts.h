/* nodeopts.h: the companion's loader added to a node process's NODE_OPTIONS. */
#ifndef ALLOCGUARD_NODEOPTS_H
#define ALLOCGUARD_NODEOPTS_H

/* From the constructor, after the settings are read: in node only, and only when on. */
void nodeopts_inject(void);

#endif
