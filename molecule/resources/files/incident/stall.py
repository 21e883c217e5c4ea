#!/usr/bin/env python3
"""Stall every php-fpm worker on its log write: hold the log file's
flock(LOCK_EX), which the page takes before it appends, for N seconds.

    stall.py /var/log/incident/app.log 10 --out stall.json
"""

import argparse
import fcntl
import json
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("log")
parser.add_argument("seconds", type=float)
parser.add_argument("--out", required=True)
args = parser.parse_args()

with open(args.log, "a") as log:
    fcntl.flock(log, fcntl.LOCK_EX)
    started = time.time()
    time.sleep(args.seconds)
    ended = time.time()
    fcntl.flock(log, fcntl.LOCK_UN)
with open(args.out, "w") as handle:
    json.dump({"started": started, "ended": ended}, handle)
