# SPDX-License-Identifier: MIT
"""The true queue depth of a guest's playback, for bench/vm.sh.

The guest player (tests/vm/pcm-delay.c) prints "VSND-Q WRITTEN DELAY" on the
serial console every 100 ms. This follows the console file QEMU writes and
stamps each line as it arrives, with what the host side has played by then:
the frames in the output WAV file, counted at the guest's 48 kHz (QEMU's
audiodev writes 44.1 kHz). The true depth is WRITTEN - PLAYED; DELAY is what
the guest's ALSA believes (snd_pcm_delay).

  python3 bench/vm_depth.py CONSOLE WAV OUT STOPFILE
writes "WRITTEN DELAY PLAYED" lines to OUT until STOPFILE exists.
"""
import os
import struct
import sys
import time

console, wav, out, stop = sys.argv[1:5]
GUEST_RATE = 48000
fmt = None  # (data offset, bytes per frame, rate) once the header is there


def header():
    """The WAV header's data offset, frame size and rate (None until written)."""
    try:
        with open(wav, "rb") as f:
            h = f.read(512)
    except FileNotFoundError:
        return None
    if len(h) < 12 or h[:4] != b"RIFF" or h[8:12] != b"WAVE":
        return None
    pos, align, rate = 12, 0, 0
    while pos + 8 <= len(h):
        cid, size = h[pos:pos + 4], struct.unpack("<I", h[pos + 4:pos + 8])[0]
        if cid == b"fmt " and pos + 24 <= len(h):
            rate = struct.unpack("<I", h[pos + 12:pos + 16])[0]
            align = struct.unpack("<H", h[pos + 20:pos + 22])[0]
        elif cid == b"data":
            return (pos + 8, align, rate) if align and rate else None
        pos += 8 + size + (size & 1)
    return None


def played():
    global fmt
    if fmt is None:
        fmt = header()
        if fmt is None:
            return 0
    off, align, rate = fmt
    frames = max(0, (os.stat(wav).st_size - off) // align)
    return frames * GUEST_RATE // rate


fd = None
buf = b""
with open(out, "w") as o:
    while not os.path.exists(stop):
        if fd is None:
            try:
                fd = os.open(console, os.O_RDONLY)
            except FileNotFoundError:
                time.sleep(0.001)
                continue
        chunk = os.read(fd, 65536)
        if not chunk:
            time.sleep(0.001)
            continue
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            f = line.strip().split()
            if len(f) == 3 and f[0] == b"VSND-Q":
                o.write(f"{int(f[1])} {int(f[2])} {played()}\n")
                o.flush()
