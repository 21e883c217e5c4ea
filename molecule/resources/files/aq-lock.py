#!/usr/bin/python3
"""Take LOCK_EX on PATH (opened for append) and hold it until killed.

usage: aq-lock PATH
"""

import fcntl
import signal
import sys

log = open(sys.argv[1], "a")  # noqa: SIM115 - held until the process ends
fcntl.flock(log, fcntl.LOCK_EX)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
