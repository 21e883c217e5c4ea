#!/usr/bin/python3
"""A TCP listener that never accepts: its accept queue only fills.

usage: aq-listener ADDRESS PORT BACKLOG
"""

import signal
import socket
import sys

address, port, backlog = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((address, port))
server.listen(backlog)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
