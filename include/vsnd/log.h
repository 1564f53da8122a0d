/* SPDX-License-Identifier: MIT */
/*
 * vsnd logging: levelled, per-module topics, timestamps.
 *
 * Library code never prints except through these calls. The process-wide
 * configuration is read once from the environment:
 *
 *   VSND_LOG=LEVEL                  every topic at LEVEL
 *   VSND_LOG=LEVEL,topic:LEVEL,...  per-topic overrides (topic may end in '*')
 *
 * LEVEL is one of error, warn, info, debug, trace (or 0..4). The default is
 * info. Output goes to stderr as "[  12.345678] W topic: message" (seconds
 * since the first log call on CLOCK_MONOTONIC) unless an embedding program
 * installs its own sink with vsnd_log_set_sink().
 *
 * Thread safety: every function here may be called from any thread. The
 * realtime audio threads must not log on their fast path (formatting takes
 * locks inside libc); they count events and let the control loop log them.
 */
#ifndef VSND_LOG_H
#define VSND_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum vsnd_log_level {
	VSND_LOG_ERROR = 0,
	VSND_LOG_WARN = 1,
	VSND_LOG_INFO = 2,
	VSND_LOG_DEBUG = 3,
	VSND_LOG_TRACE = 4,
};

/*
 * A log topic: one per module, declared with VSND_LOG_TOPIC(). The level is
 * resolved lazily from VSND_LOG on first use (-1 = not yet resolved).
 */
struct vsnd_log_topic {
	const char *name;
	atomic_int level;
};

#define VSND_LOG_TOPIC_INIT(topic_name) { .name = (topic_name), .level = -1 }

/* Declare a file-local topic: VSND_LOG_TOPIC(log_topic, "audio.wav"); */
#define VSND_LOG_TOPIC(var, topic_name) \
	static struct vsnd_log_topic var = VSND_LOG_TOPIC_INIT(topic_name)

/*
 * Sink for log lines. @msg is the formatted message without the prefix or a
 * trailing newline. Called with the log lock held: must not log itself.
 */
typedef void (*vsnd_log_sink_fn)(void *data, enum vsnd_log_level level,
				 const char *topic, const char *msg);

/* Replace the stderr sink (NULL restores it). */
void vsnd_log_set_sink(vsnd_log_sink_fn sink, void *data);

/*
 * Re-read the configuration from @spec (same syntax as VSND_LOG; NULL reads
 * the environment again). Topics re-resolve their level on next use.
 * Returns 0, or -EINVAL if @spec has an unknown level (the valid parts are
 * still applied).
 */
int vsnd_log_configure(const char *spec);

/* Raise the default level by @n steps (for -v flags), capped at trace. */
void vsnd_log_more_verbose(int n);

/* Parse a level name or digit; returns the level or -EINVAL. */
int vsnd_log_parse_level(const char *s);

/* True if a message at @level on @topic would be printed. */
bool vsnd_log_enabled(struct vsnd_log_topic *topic, enum vsnd_log_level level);

void vsnd_log_printf(struct vsnd_log_topic *topic, enum vsnd_log_level level,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void vsnd_log_vprintf(struct vsnd_log_topic *topic, enum vsnd_log_level level,
		      const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

#define vsnd_log(topic, lvl, ...)                                   \
	do {                                                        \
		if (vsnd_log_enabled((topic), (lvl)))               \
			vsnd_log_printf((topic), (lvl), __VA_ARGS__); \
	} while (0)

#define vsnd_error(topic, ...) vsnd_log(topic, VSND_LOG_ERROR, __VA_ARGS__)
#define vsnd_warn(topic, ...)  vsnd_log(topic, VSND_LOG_WARN, __VA_ARGS__)
#define vsnd_info(topic, ...)  vsnd_log(topic, VSND_LOG_INFO, __VA_ARGS__)
#define vsnd_debug(topic, ...) vsnd_log(topic, VSND_LOG_DEBUG, __VA_ARGS__)
#define vsnd_trace(topic, ...) vsnd_log(topic, VSND_LOG_TRACE, __VA_ARGS__)

/*
 * Rate limiter for messages a hostile peer could trigger in a loop: at most
 * @burst messages per @interval_ns; the suppressed count is reported with the
 * next message that passes. Not thread-safe: one per call site and thread.
 */
struct vsnd_ratelimit {
	uint64_t interval_ns;
	uint32_t burst;
	uint32_t printed;
	uint64_t window_start;
	uint64_t suppressed;
};

#define VSND_RATELIMIT_INIT(interval, n) { .interval_ns = (interval), .burst = (n) }

/*
 * Returns true if the caller may log now. *suppressed (may be NULL) receives
 * the number of messages dropped since the last one that passed.
 */
bool vsnd_ratelimit_pass(struct vsnd_ratelimit *rl, uint64_t now_ns, uint64_t *suppressed);

#ifdef __cplusplus
}
#endif

#endif /* VSND_LOG_H */
