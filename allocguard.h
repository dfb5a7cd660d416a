/* allocguard.h: the in-process API, for a program built with -I to this repository's top
 * directory; the header itself (installed by make install) is include/allocguard.h. */
#include "include/allocguard.h"
