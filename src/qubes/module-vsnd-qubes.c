/* SPDX-License-Identifier: MIT */
/*
 * libpipewire-module-vsnd-qubes: the Qubes audio agent inside the VM's
 * PipeWire daemon (replaces qubes-pw-module). Loaded from a config fragment:
 *
 *   context.modules = [ { name = libpipewire-module-vsnd-qubes
 *                         args = { domid = 0 target-ms = 15 } } ]
 *
 * The arguments are qubes_agent_config_set()'s keys (agent.h). The nodes
 * live on the daemon's own core; the module's log lines go to PipeWire's log.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <pipewire/impl.h>
#include <spa/utils/result.h>

#include "agent.h"
#include "vsnd/log.h"

PW_LOG_TOPIC_STATIC(mod_topic, "mod.vsnd-qubes");
#define PW_LOG_TOPIC_DEFAULT mod_topic

static const struct spa_dict_item module_items[] = {
	{ PW_KEY_MODULE_AUTHOR, "vsnd" },
	{ PW_KEY_MODULE_DESCRIPTION, "Qubes OS audio: sink and source over vchan to the audio VM" },
	{ PW_KEY_MODULE_USAGE, "[ domid=<host domain> ] [ domid-store=<dir> ] [ target-ms=<ms> ] [ record-target-ms=<ms> ] [ prefill-ms=<ms> ] "
			       "[ quantum=<frames> ] [ playback-vchan-bytes=<n> ] [ record-vchan-bytes=<n> ] "
			       "[ sink-name=<s> ] [ sink-description=<s> ] [ source-name=<s> ] "
			       "[ source-description=<s> ] [ status-file=<path> ]" },
	{ PW_KEY_MODULE_VERSION, "0.1.0" },
};

struct impl {
	struct pw_impl_module *module;
	struct spa_hook module_listener;
	struct spa_hook context_listener;
	struct pw_properties *args;
	struct pw_core *core;
	bool own_core;
	struct qubes_agent *agent;
};

static void to_pw_log(void *data, enum vsnd_log_level level, const char *topic, const char *msg)
{
	(void)data;
	static const enum spa_log_level map[] = {
		[VSND_LOG_ERROR] = SPA_LOG_LEVEL_ERROR, [VSND_LOG_WARN] = SPA_LOG_LEVEL_WARN,
		[VSND_LOG_INFO] = SPA_LOG_LEVEL_INFO,   [VSND_LOG_DEBUG] = SPA_LOG_LEVEL_DEBUG,
		[VSND_LOG_TRACE] = SPA_LOG_LEVEL_TRACE,
	};
	pw_log(level <= VSND_LOG_TRACE ? map[level] : SPA_LOG_LEVEL_TRACE, "%s: %s", topic, msg);
}

static void impl_free(struct impl *impl)
{
	if (impl->context_listener.link.next)
		spa_hook_remove(&impl->context_listener);
	qubes_agent_destroy(impl->agent);
	if (impl->own_core && impl->core)
		pw_core_disconnect(impl->core);
	pw_properties_free(impl->args);
	free(impl);
}

static void module_destroy(void *data)
{
	struct impl *impl = data;
	spa_hook_remove(&impl->module_listener);
	impl_free(impl);
}

/*
 * PipeWire shutting down: pw_context_destroy() disconnects the cores and
 * destroys every node -- our streams' own in-process nodes among them --
 * before it destroys the modules, so a pw_stream_destroy() from
 * module_destroy would free those nodes a second time (seen as "double free
 * or corruption" when the VM's PipeWire stops). Its destroy event comes
 * first: the agent goes while all it uses is intact.
 */
static void context_destroy(void *data)
{
	struct impl *impl = data;
	spa_hook_remove(&impl->context_listener);
	spa_zero(impl->context_listener);
	qubes_agent_destroy(impl->agent);
	impl->agent = NULL;
	if (impl->own_core && impl->core)
		pw_core_disconnect(impl->core);
	impl->core = NULL;
}

static const struct pw_context_events context_events = {
	PW_VERSION_CONTEXT_EVENTS,
	.destroy = context_destroy,
};

static const struct pw_impl_module_events module_events = {
	PW_VERSION_IMPL_MODULE_EVENTS,
	.destroy = module_destroy,
};

/* The entry point PipeWire looks up by name. */
SPA_EXPORT int pipewire__module_init(struct pw_impl_module *module, const char *args);
SPA_EXPORT int pipewire__module_init(struct pw_impl_module *module, const char *args)
{
	struct pw_context *context = pw_impl_module_get_context(module);
	PW_LOG_TOPIC_INIT(mod_topic);
	vsnd_log_set_sink(to_pw_log, NULL);

	struct impl *impl = calloc(1, sizeof(*impl));
	if (!impl)
		return -errno;
	impl->module = module;
	impl->args = args ? pw_properties_new_string(args) : pw_properties_new(NULL, NULL);
	if (!impl->args) {
		free(impl);
		return -EINVAL;
	}

	struct qubes_agent_config cfg;
	qubes_agent_config_defaults(&cfg);
	const struct spa_dict_item *it;
	spa_dict_for_each(it, &impl->args->dict) {
		int r = qubes_agent_config_set(&cfg, it->key, it->value);
		if (r == -ENOENT) {
			pw_log_warn("unknown argument '%s' ignored", it->key);
		} else if (r < 0) {
			pw_log_error("invalid %s '%s'", it->key, it->value);
			impl_free(impl);
			return -EINVAL;
		}
	}

	impl->core = pw_context_get_object(context, PW_TYPE_INTERFACE_Core);
	if (!impl->core) {
		impl->core = pw_context_connect_self(context, NULL, 0);
		impl->own_core = true;
	}
	if (!impl->core) {
		int r = -errno;
		pw_log_error("no core: %s", spa_strerror(r));
		impl_free(impl);
		return r;
	}
	impl->agent = qubes_agent_new(context, impl->core, &cfg);
	if (!impl->agent) {
		int r = -errno;
		pw_log_error("cannot start the agent: %s", spa_strerror(r));
		impl_free(impl);
		return r;
	}
	pw_impl_module_add_listener(module, &impl->module_listener, &module_events, impl);
	pw_context_add_listener(context, &impl->context_listener, &context_events, impl);
	pw_impl_module_update_properties(module, &SPA_DICT_INIT_ARRAY(module_items));
	return 0;
}
