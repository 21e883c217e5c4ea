#!/usr/bin/env python3
"""Keep one request in flight on a php-fpm pool: a FastCGI request for a script that sleeps.

    aq-hold.py ADDRESS PORT SCRIPT

An idle connection is no use for this: php-fpm closes one that sends nothing
after a few seconds.
"""

import socket
import struct
import sys


def record(kind, content):
    return struct.pack("!BBHHBx", 1, kind, 1, len(content), 0) + content


def pair(name, value):
    return struct.pack("!BB", len(name), len(value)) + name + value


address, port, script = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
params = pair(b"SCRIPT_FILENAME", script) + pair(b"REQUEST_METHOD", b"GET") + pair(b"SCRIPT_NAME", script)
with socket.create_connection((address, port)) as conn:
    conn.sendall(record(1, struct.pack("!HB5x", 1, 0)) + record(4, params) + record(4, b"") + record(5, b""))
    while conn.recv(65536):
        pass
