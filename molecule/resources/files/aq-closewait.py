#!/usr/bin/python3
"""Hold COUNT server-side sockets whose clients have closed (CLOSE_WAIT).

usage: aq-closewait PORT COUNT
"""

import signal
import socket
import sys

port, count = int(sys.argv[1]), int(sys.argv[2])
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(count)
held = []
for _ in range(count):
    client = socket.create_connection(("127.0.0.1", port))
    held.append(server.accept()[0])
    client.close()
signal.sigwait({signal.SIGTERM, signal.SIGINT})
