/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "dbus.h"
#include "vsnd/clock.h"
#include "vsnd/log.h"

VSND_LOG_TOPIC(log_dbus, "qubes.dbus");

#define OBJECT_PATH "/org/qubesos/audio"
#define INTERFACE "org.qubesos.Audio"

struct qubes_dbus {
	sd_bus *bus;
	sd_bus_slot *slot;
	char name[256];
	char vm_name[128];
	bool allowed;
	qubes_dbus_fn fn;
	void *data;
};

static int get_rec_allowed(sd_bus *bus, const char *path, const char *iface, const char *prop,
			   sd_bus_message *reply, void *userdata, sd_bus_error *err)
{
	struct qubes_dbus *d = userdata;
	return sd_bus_message_append(reply, "b", d->allowed);
}

static int set_rec_allowed(sd_bus *bus, const char *path, const char *iface, const char *prop,
			   sd_bus_message *value, void *userdata, sd_bus_error *err)
{
	struct qubes_dbus *d = userdata;
	int b;
	int r = sd_bus_message_read(value, "b", &b);
	if (r < 0)
		return r;
	vsnd_info(&log_dbus, "RecAllowed set to %s over D-Bus", b ? "true" : "false");
	/* The policy answers by calling qubes_dbus_set_allowed(), which emits the signals. */
	d->fn(d->data, b != 0);
	return 1;
}

static const sd_bus_vtable audio_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_WRITABLE_PROPERTY("RecAllowed", "b", get_rec_allowed, set_rec_allowed, 0,
				 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_SIGNAL("RecAllowedChanged", "bs", 0),
	SD_BUS_VTABLE_END,
};

static bool name_valid(const char *vm)
{
	/* Each dot-separated element: [A-Za-z_-][A-Za-z0-9_-]*, as the bus requires. */
	bool start = true;
	size_t n = strlen(vm);
	if (n == 0 || n > 100)
		return false;
	for (const char *c = vm; *c; c++) {
		if (*c == '.') {
			if (start)
				return false;
			start = true;
			continue;
		}
		bool alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' || *c == '-';
		bool digit = *c >= '0' && *c <= '9';
		if (!alpha && !(digit && !start))
			return false;
		start = false;
	}
	return !start;
}

struct qubes_dbus *qubes_dbus_new(const char *vm_name, qubes_dbus_fn fn, void *data)
{
	int r;
	if (!vm_name || !name_valid(vm_name)) {
		vsnd_warn(&log_dbus, "VM name '%s' cannot be part of a D-Bus name; D-Bus control disabled",
			  vm_name ? vm_name : "");
		errno = EINVAL;
		return NULL;
	}
	struct qubes_dbus *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->fn = fn;
	d->data = data;
	snprintf(d->vm_name, sizeof(d->vm_name), "%s", vm_name);
	snprintf(d->name, sizeof(d->name), "org.qubesos.Audio.%s", vm_name);

	/* sd_bus_open_system() honours DBUS_SYSTEM_BUS_ADDRESS. */
	if ((r = sd_bus_open_system(&d->bus)) < 0)
		goto err;
	if ((r = sd_bus_add_object_vtable(d->bus, &d->slot, OBJECT_PATH, INTERFACE, audio_vtable, d)) < 0)
		goto err;
	if ((r = sd_bus_request_name(d->bus, d->name, 0)) < 0)
		goto err;
	vsnd_info(&log_dbus, "serving %s on the system bus", d->name);
	return d;
err:
	vsnd_warn(&log_dbus, "no D-Bus control (%s): %s", d->name, strerror(-r));
	sd_bus_slot_unref(d->slot);
	sd_bus_flush_close_unref(d->bus);
	free(d);
	errno = -r;
	return NULL;
}

void qubes_dbus_destroy(struct qubes_dbus *d)
{
	if (!d)
		return;
	sd_bus_release_name(d->bus, d->name);
	sd_bus_slot_unref(d->slot);
	sd_bus_flush_close_unref(d->bus);
	free(d);
}

int qubes_dbus_fd(struct qubes_dbus *d)
{
	return sd_bus_get_fd(d->bus);
}

uint32_t qubes_dbus_events(struct qubes_dbus *d)
{
	int e = sd_bus_get_events(d->bus);
	return e < 0 ? 0 : (uint32_t)e;
}

int qubes_dbus_timeout_ms(struct qubes_dbus *d)
{
	uint64_t usec;
	if (sd_bus_get_timeout(d->bus, &usec) < 0 || usec == UINT64_MAX)
		return -1;
	uint64_t now = vsnd_now_ns() / 1000;
	return usec <= now ? 0 : (int)((usec - now + 999) / 1000);
}

int qubes_dbus_dispatch(struct qubes_dbus *d)
{
	int r;
	do {
		r = sd_bus_process(d->bus, NULL);
	} while (r > 0);
	return r;
}

void qubes_dbus_set_allowed(struct qubes_dbus *d, bool allow)
{
	if (!d || d->allowed == allow)
		return;
	d->allowed = allow;
	sd_bus_emit_properties_changed(d->bus, OBJECT_PATH, INTERFACE, "RecAllowed", NULL);
	sd_bus_emit_signal(d->bus, OBJECT_PATH, INTERFACE, "RecAllowedChanged", "bs", (int)allow,
			   d->vm_name);
}
