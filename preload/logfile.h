/* logfile.h: the log's file.  Its descriptor is taken at start-up, before the program runs: an unnamed
 * file (O_TMPFILE) in the log's directory, held by fdguard, given its name when the log is
 * created (linkat, which never replaces an existing name nor follows a symlink).  The guard
 * then never takes the program's lowest free descriptor to create its log, and a program
 * that uses every descriptor its limit allows still gets a log.  Where the file system has
 * no O_TMPFILE, or /proc is missing, logwrite.c opens the log by name as before. */
#ifndef ALLOCGUARD_LOGFILE_H
#define ALLOCGUARD_LOGFILE_H

#include "logbuf.h"

#include <stdbool.h>
#include <stdint.h>

/* An unnamed 0600 file in the directory of path, moved to a held number (fdguard_hold);
 * -1 when the directory or file system does not allow it.  Single-threaded moments only
 * (start-up, a fork child before fork returns): its brief number is nobody's yet. */
int logfile_reserve(const char *path);
/* The log created at path: the reserved file (fdguard's held one, *reserved) given that
 * name, else a new file by name; -1 with errno (EEXIST or ELOOP: taken, try the next). */
int logfile_create_at(const char *path, bool *reserved);
/* Was the log at path written by this process's image before an exec (pid self)?  Then
 * taking the next name is expected and not worth a line. */
bool logfile_earlier_image(logbuf_t *lb, const char *path, uint64_t self);

#endif
