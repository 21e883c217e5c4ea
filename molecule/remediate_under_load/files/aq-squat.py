#!/usr/bin/env python3
"""Take a TCP port on every address for a few seconds: another process grabbing a port php-fpm released.

aq-squat.py PORT SECONDS
"""

import socket
import sys
import time

port, seconds = int(sys.argv[1]), float(sys.argv[2])
squat = socket.socket(socket.AF_INET6)
squat.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
# As php-fpm does: without it, the TIME_WAIT connections the load left on the port refuse the bind.
squat.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
squat.bind(("::", port))
squat.listen(1)
time.sleep(seconds)
