/* SPDX-License-Identifier: MIT */
/* The agent's option parser: the module's arguments and the program's options. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"

static int failures;
#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); \
			failures++;                                           \
		}                                                             \
	} while (0)

int main(void)
{
	struct qubes_agent_config c;
	qubes_agent_config_defaults(&c);
	CHECK(c.domid == -1 && c.target_frames == 441 && c.rec_target_frames == 441);
	CHECK(c.prefill_frames == 441 && c.quantum_frames == 128);
	CHECK(c.play_vchan_bytes == 8192 && c.rec_vchan_bytes == 8192);
	CHECK(!strcmp(c.sink_name, "vsnd-qubes-sink") && !strcmp(c.source_name, "vsnd-qubes-source"));

	CHECK(qubes_agent_config_set(&c, "domid", "0") == 0 && c.domid == 0);
	CHECK(qubes_agent_config_set(&c, "domid", "32751") == 0 && c.domid == 0x7FEF);
	CHECK(qubes_agent_config_set(&c, "domid", "32752") == -EINVAL && c.domid == 0x7FEF);
	CHECK(qubes_agent_config_set(&c, "domid", "-1") == -EINVAL);
	CHECK(qubes_agent_config_set(&c, "domid", "5x") == -EINVAL);
	CHECK(qubes_agent_config_set(&c, "domid", "") == -EINVAL);
	CHECK(qubes_agent_config_set(&c, "target-ms", "5") == 0 && c.target_frames == 221);
	CHECK(qubes_agent_config_set(&c, "target-ms", "0.5") == -EINVAL && c.target_frames == 221);
	CHECK(qubes_agent_config_set(&c, "record-target-ms", "40") == 0 && c.rec_target_frames == 1764);
	CHECK(qubes_agent_config_set(&c, "prefill-ms", "0") == 0 && c.prefill_frames == 0);
	CHECK(qubes_agent_config_set(&c, "prefill-ms", "501") == -EINVAL);
	CHECK(qubes_agent_config_set(&c, "quantum", "15") == -EINVAL);
	CHECK(qubes_agent_config_set(&c, "quantum", "1024") == 0 && c.quantum_frames == 1024);
	CHECK(qubes_agent_config_set(&c, "playback-vchan-bytes", "1023") == -EINVAL);
	CHECK(qubes_agent_config_set(&c, "playback-vchan-bytes", "65536") == 0 && c.play_vchan_bytes == 65536);
	CHECK(qubes_agent_config_set(&c, "record-vchan-bytes", "4096") == 0 && c.rec_vchan_bytes == 4096);
	CHECK(c.play_vchan_bytes == 65536);
	CHECK(qubes_agent_config_set(&c, "sink-name", "spk") == 0 && !strcmp(c.sink_name, "spk"));
	CHECK(qubes_agent_config_set(&c, "source-description", "Mic") == 0 && !strcmp(c.source_desc, "Mic"));
	CHECK(qubes_agent_config_set(&c, "status-file", "") == -EINVAL && c.status_file == NULL);
	CHECK(qubes_agent_config_set(&c, "status-file", "/run/a.status") == 0 && !strcmp(c.status_file, "/run/a.status"));
	CHECK(qubes_agent_config_set(&c, "no-such-key", "1") == -ENOENT);
	CHECK(qubes_agent_config_set(&c, NULL, "1") == -EINVAL);
	CHECK(qubes_agent_config_set(&c, "domid", NULL) == -EINVAL);

	struct qubes_agent_stats st = { .frames_sent = 12, .rec_underruns = 2, .rec_dropped = 5, .play_rate = 1.0, .rec_rate = 1.0,
					.domid = 3 };
	char line[512];
	qubes_agent_format_stats(&st, line, sizeof(line));
	CHECK(strstr(line, "domid=3 ") == line && strstr(line, " frames_sent=12 ") && strstr(line, " rec_underruns=2 ") &&
	      strstr(line, " rec_dropped=5 "));
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
