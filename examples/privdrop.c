/* privdrop.c: a root program that drops privileges (setuid to nobody) or chroots into an
 * empty directory after start-up, then keeps allocating, asks for a snapshot and exits.
 * Its log, created by root in a directory nobody may write, must keep every snapshot.
 * Usage: privdrop setuid | privdrop chroot DIR.  Prints "dropped=1" once it has. */
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *keep[64];

static void allocate(int from, int to)
{
	for (int i = from; i < to; i++) {
		keep[i] = malloc(1000);
		memset(keep[i], 1, 1000);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	allocate(0, 10);
	usleep(250 * 1000);   /* an interval snapshot or two before the drop */
	if (strcmp(argv[1], "setuid") == 0) {
		gid_t nogroup = 65534;
		if (setgroups(1, &nogroup) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
			perror("setuid");
			return 1;
		}
	} else if (strcmp(argv[1], "chroot") == 0 && argc > 2) {
		if (chroot(argv[2]) != 0 || chdir("/") != 0) {
			perror("chroot");
			return 1;
		}
	} else {
		return 2;
	}
	printf("dropped=1\n");
	fflush(stdout);
	allocate(10, 20);
	kill(getpid(), SIGUSR2);
	usleep(300 * 1000);
	allocate(20, 30);
	return 0;
}
