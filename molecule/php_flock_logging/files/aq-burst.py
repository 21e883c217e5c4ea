#!/usr/bin/python3
"""Hold LOCK_EX on a log for HOLD seconds and send N concurrent requests during the hold.

usage: aq-burst.py LOG HOLD N URL
Prints JSON: [{"id", "status" (int, or "timeout"/"error: ..."), "elapsed"}]. Each client gives up
after 10 s. HOLD 0 sends the requests without a lock.
"""

import fcntl
import json
import sys
import threading
import time
import urllib.error
import urllib.request

log, hold, count, url = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
results = [None] * count


def request(number):
    started = time.monotonic()
    try:
        with urllib.request.urlopen("%s?id=%d" % (url, number), timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (TimeoutError, OSError) as exc:
        status = "timeout" if "timed out" in str(exc) else "error: %s" % exc
    results[number] = {"id": number, "status": status, "elapsed": round(time.monotonic() - started, 3)}


holder = open(log, "a")  # noqa: SIM115 - held for the burst
if hold > 0:
    fcntl.flock(holder, fcntl.LOCK_EX)
started = time.monotonic()
threads = [threading.Thread(target=request, args=(number,)) for number in range(count)]
for thread in threads:
    thread.start()
    time.sleep(0.05)
if hold > 0:
    time.sleep(max(0.0, hold - (time.monotonic() - started)))
    fcntl.flock(holder, fcntl.LOCK_UN)
for thread in threads:
    thread.join()
print(json.dumps(results))
