/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "vsnd/log.h"
#include "vsnd/clock.h"

#define MAX_OVERRIDES 32
#define TOPIC_MAX 48

struct override {
	char pattern[TOPIC_MAX];
	int level;
};

/*
 * The logger is the one piece of process-wide state in vsnd: every module
 * logs, and threading a log context through realtime callbacks of third-party
 * libraries would buy nothing. It holds configuration only.
 */
static struct {
	pthread_mutex_t lock;
	atomic_int generation;
	int default_level;
	int verbose_boost;
	struct override overrides[MAX_OVERRIDES];
	int n_overrides;
	vsnd_log_sink_fn sink;
	void *sink_data;
	uint64_t t0;
	bool configured;
} g = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.generation = 1,
	.default_level = VSND_LOG_INFO,
};

static const char *const level_names[] = { "error", "warn", "info", "debug", "trace" };
static const char level_chars[] = { 'E', 'W', 'I', 'D', 'T' };

int vsnd_log_parse_level(const char *s)
{
	if (!s || !*s)
		return -EINVAL;
	if (s[0] >= '0' && s[0] <= '4' && s[1] == '\0')
		return s[0] - '0';
	for (int i = 0; i <= VSND_LOG_TRACE; i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return i;
	if (strcasecmp(s, "warning") == 0)
		return VSND_LOG_WARN;
	return -EINVAL;
}

/* Caller holds g.lock. */
static int parse_spec_locked(const char *spec)
{
	int ret = 0;
	char buf[512];

	g.default_level = VSND_LOG_INFO;
	g.n_overrides = 0;
	if (!spec)
		return 0;
	snprintf(buf, sizeof(buf), "%s", spec);

	char *save = NULL;
	for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char *colon = strrchr(tok, ':');
		int level = vsnd_log_parse_level(colon ? colon + 1 : tok);
		if (level < 0) {
			ret = -EINVAL;
			continue;
		}
		if (!colon) {
			g.default_level = level;
		} else if (g.n_overrides < MAX_OVERRIDES && colon - tok < TOPIC_MAX) {
			struct override *o = &g.overrides[g.n_overrides++];
			memcpy(o->pattern, tok, (size_t)(colon - tok));
			o->pattern[colon - tok] = '\0';
			o->level = level;
		}
	}
	return ret;
}

static void ensure_configured_locked(void)
{
	if (g.configured)
		return;
	g.configured = true;
	g.t0 = vsnd_now_ns();
	parse_spec_locked(getenv("VSND_LOG"));
}

int vsnd_log_configure(const char *spec)
{
	pthread_mutex_lock(&g.lock);
	g.configured = true;
	if (!g.t0)
		g.t0 = vsnd_now_ns();
	int ret = parse_spec_locked(spec ? spec : getenv("VSND_LOG"));
	atomic_fetch_add(&g.generation, 1);
	pthread_mutex_unlock(&g.lock);
	return ret;
}

void vsnd_log_more_verbose(int n)
{
	pthread_mutex_lock(&g.lock);
	ensure_configured_locked();
	g.verbose_boost += n;
	atomic_fetch_add(&g.generation, 1);
	pthread_mutex_unlock(&g.lock);
}

void vsnd_log_set_sink(vsnd_log_sink_fn sink, void *data)
{
	pthread_mutex_lock(&g.lock);
	g.sink = sink;
	g.sink_data = data;
	pthread_mutex_unlock(&g.lock);
}

static bool pattern_match(const char *pattern, const char *name)
{
	size_t n = strlen(pattern);
	if (n > 0 && pattern[n - 1] == '*')
		return strncmp(pattern, name, n - 1) == 0;
	return strcmp(pattern, name) == 0;
}

/* Topic levels are cached as (generation << 4 | level) so a reconfigure is seen. */
static int topic_level(struct vsnd_log_topic *topic)
{
	int gen = atomic_load_explicit(&g.generation, memory_order_acquire);
	int cached = atomic_load_explicit(&topic->level, memory_order_relaxed);
	if (cached >= 0 && (cached >> 4) == gen)
		return cached & 0xf;

	pthread_mutex_lock(&g.lock);
	ensure_configured_locked();
	int level = g.default_level + g.verbose_boost;
	for (int i = 0; i < g.n_overrides; i++)
		if (pattern_match(g.overrides[i].pattern, topic->name))
			level = g.overrides[i].level;
	if (level > VSND_LOG_TRACE)
		level = VSND_LOG_TRACE;
	gen = atomic_load(&g.generation);
	pthread_mutex_unlock(&g.lock);

	atomic_store_explicit(&topic->level, (gen << 4) | level, memory_order_relaxed);
	return level;
}

bool vsnd_log_enabled(struct vsnd_log_topic *topic, enum vsnd_log_level level)
{
	return (int)level <= topic_level(topic);
}

void vsnd_log_vprintf(struct vsnd_log_topic *topic, enum vsnd_log_level level,
		      const char *fmt, va_list ap)
{
	char msg[1024];
	if ((int)level < 0 || level > VSND_LOG_TRACE)
		level = VSND_LOG_ERROR;
	vsnd_log_enabled(topic, level); /* makes sure t0 is set */
	vsnprintf(msg, sizeof(msg), fmt, ap);

	pthread_mutex_lock(&g.lock);
	if (g.sink) {
		g.sink(g.sink_data, level, topic->name, msg);
	} else {
		uint64_t t = vsnd_now_ns() - g.t0;
		/* One fprintf per line so lines of different threads do not interleave. */
		fprintf(stderr, "[%5llu.%06llu] %c %s: %s\n",
			(unsigned long long)(t / 1000000000ull),
			(unsigned long long)(t % 1000000000ull / 1000ull),
			level_chars[level], topic->name, msg);
	}
	pthread_mutex_unlock(&g.lock);
}

void vsnd_log_printf(struct vsnd_log_topic *topic, enum vsnd_log_level level,
		     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnd_log_vprintf(topic, level, fmt, ap);
	va_end(ap);
}

bool vsnd_ratelimit_pass(struct vsnd_ratelimit *rl, uint64_t now_ns, uint64_t *suppressed)
{
	if (rl->window_start == 0 || now_ns - rl->window_start >= rl->interval_ns) {
		rl->window_start = now_ns ? now_ns : 1;
		rl->printed = 0;
	}
	if (rl->printed < rl->burst) {
		rl->printed++;
		if (suppressed)
			*suppressed = rl->suppressed;
		rl->suppressed = 0;
		return true;
	}
	rl->suppressed++;
	return false;
}
