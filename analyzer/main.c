/* main.c: the entry of build/allocguard: dispatches to the subcommands in cli.h and
 * answers --help and --version.  Nothing else lives here. */
#include "cli.h"
#include "logfmt.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "allocguard: no command given (try allocguard --help)\n");
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
		return help_print(stdout, NULL);
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("allocguard %s (log format %d)\n", ALLOCGUARD_VERSION, AG_LOG_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0) {
		if (help_print(stdout, argc > 2 ? argv[2] : NULL)) {
			fprintf(stderr, "allocguard: help: unknown command '%s'\n", argv[2]);
			return 2;
		}
		return 0;
	}
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "run", cmd_run },       { "leaks", cmd_leaks },   { "growth", cmd_growth },
		{ "diff", cmd_diff },     { "report", cmd_report },
		{ "export", cmd_export },   { "plot", cmd_plot },
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strcmp(cmd, cmds[i].name) == 0) {
			int rc = cmds[i].fn(argc - 1, argv + 1);
			fflush(stdout);
			return rc;
		}
	fprintf(stderr, "allocguard: unknown command '%s' (try allocguard --help)\n", cmd);
	return 2;
}
