/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "check.h"
#include "vsnd/log.h"

VSND_LOG_TOPIC(topic_a, "audio.wav");
VSND_LOG_TOPIC(topic_b, "vhost");

static char last_msg[256], last_topic[64];
static int last_level = -1, count;

static void sink(void *data, enum vsnd_log_level level, const char *topic, const char *msg)
{
	snprintf(last_msg, sizeof(last_msg), "%s", msg);
	snprintf(last_topic, sizeof(last_topic), "%s", topic);
	last_level = (int)level;
	count++;
}

static void test_levels(void)
{
	CHECK_EQ(vsnd_log_parse_level("error"), VSND_LOG_ERROR);
	CHECK_EQ(vsnd_log_parse_level("WARN"), VSND_LOG_WARN);
	CHECK_EQ(vsnd_log_parse_level("warning"), VSND_LOG_WARN);
	CHECK_EQ(vsnd_log_parse_level("4"), VSND_LOG_TRACE);
	CHECK_EQ(vsnd_log_parse_level("5"), -EINVAL);
	CHECK_EQ(vsnd_log_parse_level("loud"), -EINVAL);
	CHECK_EQ(vsnd_log_parse_level(""), -EINVAL);
}

static void test_topics_and_sink(void)
{
	vsnd_log_set_sink(sink, NULL);
	CHECK_EQ(vsnd_log_configure("warn,audio.*:debug"), 0);
	CHECK(vsnd_log_enabled(&topic_a, VSND_LOG_DEBUG));
	CHECK(!vsnd_log_enabled(&topic_a, VSND_LOG_TRACE));
	CHECK(!vsnd_log_enabled(&topic_b, VSND_LOG_INFO));
	CHECK(vsnd_log_enabled(&topic_b, VSND_LOG_WARN));

	count = 0;
	vsnd_info(&topic_b, "hidden %d", 1);
	CHECK_EQ(count, 0);
	vsnd_debug(&topic_a, "shown %d", 42);
	CHECK_EQ(count, 1);
	CHECK_STR(last_msg, "shown 42");
	CHECK_STR(last_topic, "audio.wav");
	CHECK_EQ(last_level, VSND_LOG_DEBUG);

	/* Reconfiguring is seen by topics that cached their level. */
	CHECK_EQ(vsnd_log_configure("vhost:trace"), 0);
	CHECK(vsnd_log_enabled(&topic_b, VSND_LOG_TRACE));
	CHECK(!vsnd_log_enabled(&topic_a, VSND_LOG_DEBUG));
	/* A bad level is reported, the good parts still apply. */
	CHECK_EQ(vsnd_log_configure("error,vhost:nonsense,audio.wav:info"), -EINVAL);
	CHECK(vsnd_log_enabled(&topic_a, VSND_LOG_INFO));
	CHECK(!vsnd_log_enabled(&topic_b, VSND_LOG_WARN));
	vsnd_log_more_verbose(1);
	CHECK(vsnd_log_enabled(&topic_b, VSND_LOG_WARN));
	vsnd_log_set_sink(NULL, NULL);
}

static void test_ratelimit(void)
{
	struct vsnd_ratelimit rl = VSND_RATELIMIT_INIT(1000, 3);
	uint64_t sup = 99;
	CHECK(vsnd_ratelimit_pass(&rl, 10, &sup));
	CHECK_EQ(sup, 0);
	CHECK(vsnd_ratelimit_pass(&rl, 11, NULL));
	CHECK(vsnd_ratelimit_pass(&rl, 12, NULL));
	CHECK(!vsnd_ratelimit_pass(&rl, 13, NULL));
	CHECK(!vsnd_ratelimit_pass(&rl, 500, NULL));
	CHECK(vsnd_ratelimit_pass(&rl, 1010, &sup)); /* new window */
	CHECK_EQ(sup, 2);
}

int main(void)
{
	RUN(test_levels);
	RUN(test_topics_and_sink);
	RUN(test_ratelimit);
	return 0;
}
