/* SPDX-License-Identifier: MIT */
/*
 * The microphone control surface of Qubes before R4.1, still offered: on the
 * system bus (DBUS_SYSTEM_BUS_ADDRESS overrides it, for tests) the daemon owns
 * org.qubesos.Audio.VMNAME and serves /org/qubesos/audio, interface
 * org.qubesos.Audio, with a read-write boolean property RecAllowed (through
 * org.freedesktop.DBus.Properties) and the signal RecAllowedChanged(b, s).
 *
 * Owns no loop: poll qubes_dbus_fd() for qubes_dbus_events() and call
 * qubes_dbus_dispatch() when it is ready or qubes_dbus_timeout_ms() passed.
 */
#ifndef VSND_QUBES_DBUS_H
#define VSND_QUBES_DBUS_H

#include <stdbool.h>
#include <stdint.h>

struct qubes_dbus;

/* The user set RecAllowed over D-Bus. */
typedef void (*qubes_dbus_fn)(void *data, bool allow);

/*
 * Connect and own the name. @vm_name must be a valid D-Bus name element
 * sequence (letters, digits, '_', '-', dots between elements). NULL with errno
 * (ENOENT/ECONNREFUSED: no bus; EEXIST: name taken; EINVAL: bad VM name).
 */
struct qubes_dbus *qubes_dbus_new(const char *vm_name, qubes_dbus_fn fn, void *data);

/* Release the name and disconnect. Accepts NULL. */
void qubes_dbus_destroy(struct qubes_dbus *d);

int qubes_dbus_fd(struct qubes_dbus *d);
/* POLLIN/POLLOUT bits to wait for now. */
uint32_t qubes_dbus_events(struct qubes_dbus *d);
/* Milliseconds until dispatch is needed anyway (-1: none). */
int qubes_dbus_timeout_ms(struct qubes_dbus *d);

/* Process everything pending. Returns 0 or -errno (the bus went away). */
int qubes_dbus_dispatch(struct qubes_dbus *d);

/* The decision changed (from any surface): update RecAllowed and emit the signals. */
void qubes_dbus_set_allowed(struct qubes_dbus *d, bool allow);

#endif /* VSND_QUBES_DBUS_H */
