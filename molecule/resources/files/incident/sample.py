#!/usr/bin/env python3
"""Sample a listener every 100 ms: accept-queue depth, CLOSE_WAIT connections
on its port, and the namespace's ListenOverflows and ListenDrops.

    sample.py 127.0.0.1:9000 --out samples.jsonl   (until SIGTERM)

Reads /proc/net/tcp, where a listener's rx_queue is its accept-queue depth,
as the seed's authors did.
"""

import argparse
import json
import signal
import socket
import struct
import time

LISTEN, CLOSE_WAIT = "0A", "08"


def proc_address(text):
    host, _, port = text.rpartition(":")
    packed = struct.unpack("<I", socket.inet_aton(host))[0]
    return "%08X:%04X" % (packed, int(port)), ":%04X" % int(port)


def queue_and_close_wait(listener, port_suffix):
    depth, close_wait = None, 0
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split(None, 5)
            local, state = fields[1], fields[3]
            if state == LISTEN and local == listener:
                depth = int(fields[4].split(":")[1], 16)
            elif state == CLOSE_WAIT and local.endswith(port_suffix):
                close_wait += 1
    return depth, close_wait


def listen_counters():
    with open("/proc/net/netstat") as netstat:
        lines = netstat.read().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            counters = dict(zip(names.split()[1:], map(int, values.split()[1:]), strict=True))
            return counters.get("ListenOverflows", 0), counters.get("ListenDrops", 0)
    return 0, 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("listener", help="ADDRESS:PORT")
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    listener, port_suffix = proc_address(args.listener)
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    with open(args.out, "w", buffering=1) as out:
        due = time.monotonic()
        while running[0]:
            depth, close_wait = queue_and_close_wait(listener, port_suffix)
            overflows, drops = listen_counters()
            sample = {"t": round(time.time(), 3), "queue": depth, "close_wait": close_wait}
            sample.update(overflows=overflows, drops=drops)
            out.write(json.dumps(sample) + "\n")
            due += args.interval
            time.sleep(max(0.0, due - time.monotonic()))


if __name__ == "__main__":
    main()
