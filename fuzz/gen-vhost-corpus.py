#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generate the seed corpora of fuzz/vhost-msg.c and fuzz/vhost-vq.c.

Run from anywhere: python3 fuzz/gen-vhost-corpus.py
Writes fuzz/corpus/vhost-msg/*.bin and fuzz/corpus/vhost-vq/*.bin (valid and
invalid inputs); the input formats are described at the top of each harness.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- vhost-msg ----------------------------------------------------------

V, REPLY, NEED = 1, 4, 8
(GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE, SET_LOG_BASE,
 SET_LOG_FD, SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE,
 SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR, GET_PROTOCOL_FEATURES,
 SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_VRING_ENABLE) = range(1, 19)
GET_CONFIG, SET_CONFIG, RESET_DEVICE, SET_STATUS, GET_STATUS = 24, 25, 34, 39, 40
NOFD = 0x100
UVA = 0x7F0000000000
PROTO = (1 << 0) | (1 << 3) | (1 << 9) | (1 << 13) | (1 << 16)
FEATS = (1 << 32) | (1 << 30) | (1 << 28) | (1 << 29) | 1


def msg(req, payload=b"", flags=V, size=None):
    return struct.pack("<III", req, flags, len(payload) if size is None else size) + payload


def u64(req, v, flags=V):
    return msg(req, struct.pack("<Q", v), flags)


def state(req, idx, num, flags=V | NEED):
    return msg(req, struct.pack("<II", idx, num), flags)


def addr(idx, desc, used, avail, flags=V | NEED):
    return msg(SET_VRING_ADDR, struct.pack("<IIQQQQ", idx, 0, desc, used, avail, 0), flags)


def memtable(regions, flags=V | NEED, full=False):
    body = struct.pack("<II", len(regions), 0)
    for r in regions:
        body += struct.pack("<QQQQ", *r)
    if full:
        body += b"\0" * (32 * (8 - len(regions)))
    return msg(SET_MEM_TABLE, body, flags)


def config(req, off, size, data=None, flags=V):
    data = data if data is not None else b"\0" * size
    return msg(req, struct.pack("<III", off, size, 0) + data, flags)


REGION = (0, 0x10000, UVA, 0)  # one 64 KiB memfd (the harness attaches memfds)


def ring_setup(q, kick_nofd=True):
    out = state(SET_VRING_NUM, q, 16) + state(SET_VRING_BASE, q, 0)
    out += addr(q, UVA + 0x1000 + q * 0x3000, UVA + 0x3000 + q * 0x3000, UVA + 0x2000 + q * 0x3000)
    out += u64(SET_VRING_CALL, q | NOFD, V | NEED)
    out += u64(SET_VRING_ERR, q | NOFD, V | NEED)
    out += state(SET_VRING_ENABLE, q, 1)
    if kick_nofd:
        out += u64(SET_VRING_KICK, q | NOFD, V | NEED)
    return out


def qemu_prologue():
    return (msg(GET_FEATURES) + msg(GET_PROTOCOL_FEATURES) + u64(SET_PROTOCOL_FEATURES, PROTO, V | NEED)
            + msg(GET_QUEUE_NUM) + msg(SET_OWNER) + config(GET_CONFIG, 0, 16)
            + u64(SET_FEATURES, FEATS, V | NEED))


msg_seeds = {
    # Valid streams.
    "qemu-sequence": (0, qemu_prologue() + msg(GET_STATUS) + u64(SET_STATUS, 7, V | NEED)),
    "memtable-then-rings": (1, memtable([REGION]) + qemu_prologue() + ring_setup(0) + ring_setup(1)
                            + msg(GET_STATUS) + state(GET_VRING_BASE, 0, 0, V) + msg(RESET_DEVICE, flags=V | NEED)),
    "memtable-full-struct": (2, memtable([REGION, (0x100000, 0x10000, UVA + 0x100000, 0)], full=True)
                             + u64(SET_FEATURES, FEATS) + ring_setup(0)),
    "memtable-8": (8, memtable([(i * 0x10000, 0x10000, UVA + i * 0x10000, 0) for i in range(8)])),
    "kick-with-fd": (1, u64(SET_VRING_KICK, 0, V | NEED) + msg(GET_QUEUE_NUM)),
    "call-with-fd": (1, u64(SET_VRING_CALL, 3) + msg(GET_FEATURES)),
    "err-with-fd": (1, u64(SET_VRING_ERR, 1, V | NEED)),
    "config-every-size": (0, b"".join(config(GET_CONFIG, o, s) for o in range(0, 17, 4) for s in (0, 1, 4, 16 - o))),
    "set-config": (0, config(SET_CONFIG, 8, 4, b"abcd", V | NEED) + config(SET_CONFIG, 0, 4, b"abcd")),
    "reset-owner": (0, msg(SET_OWNER) + msg(RESET_OWNER) + msg(GET_FEATURES)),
    "status": (0, u64(SET_STATUS, 0xF, V | NEED) + msg(GET_STATUS) + u64(SET_STATUS, 0)),
    "vring-base-stop": (0, state(SET_VRING_NUM, 2, 8) + state(GET_VRING_BASE, 2, 0, V)),
    "unknown-request": (0, msg(1000, b"x" * 20, V | NEED) + msg(41, b"", V)),
    "log-fd": (1, msg(SET_LOG_FD, flags=V | NEED)),
    "no-reply-set": (0, state(SET_VRING_NUM, 0, 256, V) + state(SET_VRING_ENABLE, 0, 0, V)),
    # Invalid: header.
    "bad-version-0": (0, msg(GET_FEATURES, flags=0)),
    "bad-version-2": (0, msg(GET_FEATURES, flags=2)),
    "reply-flag-on-request": (0, msg(GET_FEATURES, flags=V | REPLY)),
    "unknown-flag": (0, msg(GET_FEATURES, flags=V | 0x20)),
    "huge-size": (0, msg(SET_FEATURES, b"\0" * 8, size=0xFFFFFFFF)),
    "size-over-max": (0, msg(1000, b"\0" * 16, size=4097)),
    "truncated-header": (0, msg(GET_FEATURES)[:7]),
    "truncated-payload": (1, msg(SET_VRING_KICK, struct.pack("<Q", 0))[:15]),
    # Invalid: sizes.
    "get-features-with-payload": (0, msg(GET_FEATURES, b"\0" * 8)),
    "set-features-short": (0, msg(SET_FEATURES, b"\0" * 4)),
    "vring-addr-short": (0, msg(SET_VRING_ADDR, b"\0" * 32)),
    "memtable-size-mismatch": (2, msg(SET_MEM_TABLE, struct.pack("<II", 2, 0) + b"\0" * 32)),
    "memtable-9-regions": (8, msg(SET_MEM_TABLE, struct.pack("<II", 9, 0) + b"\0" * 32 * 9)),
    "config-size-mismatch": (0, msg(GET_CONFIG, struct.pack("<III", 0, 16, 0) + b"\0" * 8)),
    "config-too-big": (0, msg(SET_CONFIG, struct.pack("<III", 0, 300, 0) + b"\0" * 300)),
    "config-offset-wrap": (0, config(GET_CONFIG, 0xFFFFFFF8, 16)),
    # Invalid: fds.
    "fd-on-get-features": (1, msg(GET_FEATURES)),
    "kick-missing-fd": (0, u64(SET_VRING_KICK, 0)),
    "kick-nofd-with-fd": (1, u64(SET_VRING_KICK, NOFD)),
    "memtable-missing-fd": (1, memtable([REGION, (0x100000, 0x10000, UVA + 0x100000, 0)])),
    "too-many-fds": (15, memtable([REGION])),
    # Invalid: content.
    "memtable-overlap": (2, memtable([REGION, (0x8000, 0x10000, UVA + 0x100000, 0)])),
    "memtable-wrap": (1, memtable([(0xFFFFFFFFFFFFF000, 0x2000, UVA, 0)])),
    "memtable-beyond-file": (1, memtable([(0, 0x20000, UVA, 0)])),
    "memtable-offset-beyond-file": (1, memtable([(0, 0x1000, UVA, 0x10000)])),
    "vring-addr-outside": (1, memtable([REGION]) + state(SET_VRING_NUM, 0, 16) + addr(0, 0x1000, 0x2000, 0x3000)),
    "vring-index-out-of-range": (0, state(SET_VRING_NUM, 200, 16) + u64(SET_VRING_CALL, 255 | NOFD, V | NEED)),
    "vring-num-not-pow2": (0, state(SET_VRING_NUM, 0, 3) + state(SET_VRING_NUM, 0, 0)),
    "features-not-offered": (0, u64(SET_FEATURES, 1 << 63, V | NEED) + u64(SET_PROTOCOL_FEATURES, 1 << 40, V | NEED)),
}

# ---- vhost-vq -----------------------------------------------------------

F_INDIRECT, F_EVENT_IDX, F_NOE = 1, 2, 4
GPA_A = 0x1000
DESC, AVAIL, USED, DATA = 0x1000, 0x2000, 0x3000, 0x5000
NEXT, WRITE, INDIRECT = 1, 2, 4


class Image:
    def __init__(self, size=0x6000):
        self.b = bytearray(size)

    def put(self, gpa, data):
        off = gpa - GPA_A
        if off + len(data) > len(self.b):
            self.b.extend(b"\0" * (off + len(data) - len(self.b)))
        self.b[off:off + len(data)] = data

    def desc(self, table, i, a, ln, fl, nx=0):
        self.put(table + 16 * i, struct.pack("<QIHH", a, ln, fl, nx))

    def avail(self, heads, idx=None, flags=0, used_event=None, num=16):
        self.put(AVAIL, struct.pack("<HH", flags, len(heads) if idx is None else idx))
        for k, h in enumerate(heads):
            self.put(AVAIL + 4 + 2 * (k % num), struct.pack("<H", h))
        if used_event is not None:
            self.put(AVAIL + 4 + 2 * num, struct.pack("<H", used_event))


def vq(features, log2num, img, base=0):
    return bytes([features, log2num]) + struct.pack("<H", base) + bytes(img.b)


vq_seeds = {}


def seed(name, features, log2num, build, base=0):
    img = Image()
    build(img)
    vq_seeds[name] = vq(features, log2num, img, base)


seed("simple", 0, 4, lambda m: (m.desc(DESC, 0, DATA, 16, NEXT, 1), m.desc(DESC, 1, DATA + 0x100, 64, WRITE),
                                 m.avail([0])))
seed("two-chains", F_EVENT_IDX, 4, lambda m: (m.desc(DESC, 0, DATA, 8, 0), m.desc(DESC, 3, DATA + 8, 8, WRITE),
                                               m.avail([0, 3], used_event=1)))
seed("indirect", F_INDIRECT, 4, lambda m: (m.desc(DESC, 2, DATA + 0x800, 48, INDIRECT),
                                            m.desc(DATA + 0x800, 0, DATA, 4, NEXT, 2),
                                            m.desc(DATA + 0x800, 2, DATA + 4, 4, NEXT, 1),
                                            m.desc(DATA + 0x800, 1, DATA + 0x40, 32, WRITE), m.avail([2])))
seed("indirect-no-feature", 0, 4, lambda m: (m.desc(DESC, 0, DATA + 0x800, 16, INDIRECT),
                                              m.desc(DATA + 0x800, 0, DATA, 4, 0), m.avail([0])))
seed("indirect-len-15", F_INDIRECT, 4, lambda m: (m.desc(DESC, 0, DATA + 0x800, 15, INDIRECT), m.avail([0])))
seed("indirect-len-0", F_INDIRECT, 4, lambda m: (m.desc(DESC, 0, DATA + 0x800, 0, INDIRECT), m.avail([0])))
seed("indirect-huge", F_INDIRECT, 4, lambda m: (m.desc(DESC, 0, DATA, 0xFFFFFFF0, INDIRECT), m.avail([0])))
seed("indirect-nested", F_INDIRECT, 4, lambda m: (m.desc(DESC, 0, DATA + 0x800, 16, INDIRECT),
                                                   m.desc(DATA + 0x800, 0, DATA + 0x800, 16, INDIRECT), m.avail([0])))
seed("indirect-loop", F_INDIRECT, 4, lambda m: (m.desc(DESC, 0, DATA + 0x800, 32, INDIRECT),
                                                 m.desc(DATA + 0x800, 0, DATA, 1, NEXT, 1),
                                                 m.desc(DATA + 0x800, 1, DATA, 1, NEXT, 0), m.avail([0])))
seed("indirect-with-next", F_INDIRECT, 4, lambda m: (m.desc(DESC, 0, DATA + 0x800, 16, INDIRECT | NEXT, 1),
                                                      m.avail([0])))
seed("loop", 0, 4, lambda m: (m.desc(DESC, 0, DATA, 1, NEXT, 1), m.desc(DESC, 1, DATA, 1, NEXT, 0), m.avail([0])))
seed("self-loop", 0, 0, lambda m: (m.desc(DESC, 0, DATA, 1, NEXT, 0), m.avail([0], num=1)))
seed("read-after-write", 0, 4, lambda m: (m.desc(DESC, 0, DATA, 4, WRITE | NEXT, 1), m.desc(DESC, 1, DATA, 4, 0),
                                           m.avail([0])))
seed("head-out-of-range", 0, 2, lambda m: m.avail([4], num=4))
seed("next-out-of-range", 0, 2, lambda m: (m.desc(DESC, 0, DATA, 4, NEXT, 7), m.avail([0], num=4)))
seed("avail-jump", 0, 2, lambda m: m.avail([0], idx=5, num=4))
seed("avail-full", 0, 2, lambda m: (m.desc(DESC, 0, DATA, 4, 0), m.avail([0, 0, 0, 0], num=4)))
seed("base-wrap", F_EVENT_IDX, 2, lambda m: (m.desc(DESC, 0, DATA, 4, 0), m.avail([0, 0, 0, 0], idx=2, num=4)),
     base=0xFFFE)
seed("outside-memory", 0, 4, lambda m: (m.desc(DESC, 0, 0x10, 16, 0), m.avail([0])))
seed("cross-region", 0, 4, lambda m: (m.desc(DESC, 0, 0x11000 - 8, 16, 0), m.avail([0])))
seed("in-region-b", 0, 4, lambda m: (m.desc(DESC, 0, 0x11000, 16, WRITE), m.avail([0])))
seed("zero-length", F_NOE, 4, lambda m: (m.desc(DESC, 0, 0, 0, NEXT, 1), m.desc(DESC, 1, DATA, 0, WRITE),
                                          m.avail([0], flags=1)))
seed("addr-wrap", 0, 4, lambda m: (m.desc(DESC, 0, 0xFFFFFFFFFFFFFFF8, 16, 0), m.avail([0])))
seed("no-interrupt", 0, 4, lambda m: (m.desc(DESC, 0, DATA, 4, 0), m.avail([0], flags=1)))
seed("queue-256", F_INDIRECT | F_EVENT_IDX, 8,
     lambda m: ([m.desc(DESC, i, DATA + i, 1, NEXT if i < 255 else 0, i + 1) for i in range(256)], m.avail([0], num=256)))
seed("empty", F_EVENT_IDX, 4, lambda m: None)


def main():
    for name, seeds in (("vhost-msg", msg_seeds), ("vhost-vq", vq_seeds)):
        d = os.path.join(HERE, "corpus", name)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.endswith(".bin"):
                os.unlink(os.path.join(d, f))
        for sname, val in seeds.items():
            data = bytes([val[0]]) + val[1] if name == "vhost-msg" else val
            with open(os.path.join(d, sname + ".bin"), "wb") as fp:
                fp.write(data)
        print(f"{name}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
