/* SPDX-License-Identifier: MIT */
/*
 * fake-qubesdb-cmd read|write|rm|watch PATH [VALUE]: the tests' stand-in for
 * qubesdb-read / qubesdb-write / qubesdb-rm / qubesdb-watch, through the test
 * double's client library ($VSND_FAKE_QUBESDB names the daemon's socket).
 * read prints the value (exit 1 if absent); watch prints the path of the
 * first event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qubesdb-client.h"

int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "write") == 0) != (argc == 4) || argc > 4) {
		fprintf(stderr, "usage: fake-qubesdb-cmd read|write|rm|watch PATH [VALUE]\n");
		return 2;
	}
	qdb_handle_t h = qdb_open(NULL);
	if (!h) {
		perror("fake-qubesdb-cmd: connect");
		return 1;
	}
	int ok = 0;
	if (strcmp(argv[1], "read") == 0) {
		char *v = qdb_read(h, argv[2], NULL);
		if (v)
			printf("%s\n", v);
		ok = v != NULL;
		free(v);
	} else if (strcmp(argv[1], "write") == 0) {
		ok = qdb_write(h, argv[2], argv[3], (unsigned int)strlen(argv[3]));
	} else if (strcmp(argv[1], "rm") == 0) {
		ok = qdb_rm(h, argv[2]);
	} else if (strcmp(argv[1], "watch") == 0 && qdb_watch(h, argv[2])) {
		char *p = qdb_read_watch(h);
		if (p)
			printf("%s\n", p);
		ok = p != NULL;
		free(p);
	}
	qdb_close(h);
	return ok ? 0 : 1;
}
