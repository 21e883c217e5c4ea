#!/usr/bin/env python3
"""Sample a listener every 100 ms: accept-queue depth, CLOSE_WAIT connections
on its port, and the namespace's ListenOverflows and ListenDrops.

    sample.py 127.0.0.1:9000 --out samples.jsonl   (until SIGTERM)

Asks sock_diag over netlink, as ss does, for LISTEN and CLOSE_WAIT sockets
only (the kernel filters by state): reading /proc/net/tcp (the listener's
rx_queue, as the seed's authors did) walks every TIME_WAIT socket too, and at
100+ new connections a second took up to 160 ms, missing samples; running ss
each time cost as much in process start-up.
"""

import argparse
import json
import signal
import socket
import struct
import time

NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY = 4, 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_DONE, NLMSG_ERROR = 3, 2
TCP_CLOSE_WAIT, TCP_LISTEN = 8, 10
# Offsets in inet_diag_msg (after the 16-byte netlink header): state 1,
# sport 4 (big-endian), src 8, rqueue 56 (for a listener: its accept queue).
STATE, SPORT, SRC, RQUEUE = 1, 4, 8, 56


def dump_request():
    """inet_diag_req_v2 for IPv4 TCP sockets in LISTEN or CLOSE_WAIT."""
    states = (1 << TCP_LISTEN) | (1 << TCP_CLOSE_WAIT)
    body = struct.pack("=BBBxI", socket.AF_INET, socket.IPPROTO_TCP, 0, states) + bytes(48)
    return struct.pack("=IHHII", 16 + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body


def queue_and_close_wait(diag, address, port):
    """(accept-queue depth, CLOSE_WAIT count) of the listener on address:port."""
    wanted = socket.inet_aton(address)
    diag.send(dump_request())
    depth, close_wait = None, 0
    while True:
        data = diag.recv(65536)
        offset = 0
        while offset < len(data):
            length, kind = struct.unpack_from("=IH", data, offset)
            if kind == NLMSG_DONE:
                return depth, close_wait
            if kind == NLMSG_ERROR:
                raise OSError("sock_diag dump failed")
            message = offset + 16
            state = data[message + STATE]
            if struct.unpack_from(">H", data, message + SPORT)[0] == port:
                rqueue = struct.unpack_from("=I", data, message + RQUEUE)[0]
                if state == TCP_LISTEN and data[message + SRC : message + SRC + 4] == wanted:
                    depth = rqueue
                elif state == TCP_CLOSE_WAIT:
                    close_wait += 1
            offset += (length + 3) & ~3


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
    address, _, port = args.listener.rpartition(":")
    diag = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    with open(args.out, "w", buffering=1) as out:
        due = time.monotonic()
        while running[0]:
            depth, close_wait = queue_and_close_wait(diag, address, int(port))
            overflows, drops = listen_counters()
            sample = {"t": round(time.time(), 3), "queue": depth, "close_wait": close_wait}
            sample.update(overflows=overflows, drops=drops)
            out.write(json.dumps(sample) + "\n")
            due += args.interval
            time.sleep(max(0.0, due - time.monotonic()))


if __name__ == "__main__":
    main()
