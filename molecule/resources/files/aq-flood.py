#!/usr/bin/python3
"""Keep COUNT connections open or pending to ADDRESS:PORT, forever.

A pending connect older than two seconds is replaced by a fresh one, so a
full accept queue keeps dropping new SYNs (ListenOverflows keeps rising); a
connection reset by a restarted listener is replaced too.

usage: aq-flood ADDRESS PORT COUNT
"""

import errno
import socket
import sys
import time

address, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def open_one():
    client = socket.socket()
    client.setblocking(False)
    client.connect_ex((address, port))
    return [client, time.monotonic(), False]


def alive(entry):
    client, started, connected = entry
    error = client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if error not in (0, errno.EINPROGRESS):
        return False
    if not connected:
        try:
            client.getpeername()
            entry[2] = True
        except OSError:
            return time.monotonic() - started < 2.0
        return True
    try:
        return client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


held = [open_one() for _ in range(count)]
while True:
    for index, entry in enumerate(held):
        if not alive(entry):
            entry[0].close()
            held[index] = open_one()
    time.sleep(0.1)
