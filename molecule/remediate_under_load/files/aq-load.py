#!/usr/bin/env python3
"""Open-loop HTTP load with GET and POST, fast and 2 s requests, until SIGTERM.

    aq-load.py --target live=127.0.0.1:8080 --target drain=127.0.0.1:8090 --rate 6 --out result.json

Each target gets --rate requests a second on a fixed schedule (arrivals never
wait for answers), a new connection per request, cycling GET fast, POST
fast, GET slow (2 s), POST slow, GET fast, POST fast, ... so that requests
are always in flight. Every answer is recorded; on SIGTERM (or after
--duration) the requests still in flight are awaited and the counts written
to --out as JSON: per target, answers by status ("200", "502", ...) and
connection errors by kind, with the first failures listed.
"""

import argparse
import asyncio
import collections
import json
import signal
import time

# (method, path): a quarter of the requests take 2 s.
MIX = (
    ("GET", "/fast.php"),
    ("POST", "/fast.php"),
    ("GET", "/slow.php"),
    ("POST", "/slow.php"),
    ("GET", "/fast.php"),
    ("POST", "/fast.php"),
    ("GET", "/fast.php"),
    ("POST", "/fast.php"),
)
BODY = b"payload=" + b"x" * 512


async def one(name, address, port, method, path, results, failures, timeout_s):
    body = BODY if method == "POST" else b""
    head = "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nContent-Length: %d\r\n" % (method, path, name, len(body))
    if body:
        head += "Content-Type: application/x-www-form-urlencoded\r\n"
    started = time.time()
    writer = None
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(address, port)
            writer.write(head.encode() + b"\r\n" + body)
            status = await reader.readline()
            await reader.read()
        outcome = status.split(b" ", 2)[1].decode() if status.startswith(b"HTTP/") else "bad-response"
    except TimeoutError:
        outcome = "timeout"
    except OSError as exc:
        outcome = "error-%s" % (exc.errno or type(exc).__name__)
    finally:
        if writer is not None:
            writer.close()
    results[name][outcome] += 1
    if not outcome.startswith("2") and len(failures[name]) < 20:
        failures[name].append({"at": round(started, 3), "method": method, "path": path, "outcome": outcome})


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", action="append", required=True, help="NAME=ADDRESS:PORT")
    parser.add_argument("--rate", type=float, default=6.0, help="requests per second per target")
    parser.add_argument("--duration", type=float, default=3600.0)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    targets = []
    for text in args.target:
        name, _sep, where = text.partition("=")
        address, _sep, port = where.rpartition(":")
        targets.append((name, address, int(port)))
    results = dict((name, collections.Counter()) for name, _a, _p in targets)
    failures = dict((name, []) for name, _a, _p in targets)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    tasks = set()
    started = time.monotonic()
    sent = 0
    interval = 1.0 / args.rate
    while not stop.is_set() and time.monotonic() - started < args.duration:
        due = started + sent * interval
        delay = due - time.monotonic()
        if delay > 0:
            try:
                await asyncio.wait_for(stop.wait(), delay)
                break
            except TimeoutError:
                pass
        method, path = MIX[sent % len(MIX)]
        for name, address, port in targets:
            task = asyncio.ensure_future(one(name, address, port, method, path, results, failures, args.timeout))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        sent += 1
    if tasks:
        await asyncio.wait(tasks)
    report = {
        "seconds": round(time.monotonic() - started, 1),
        "rate": args.rate,
        "targets": dict(
            (name, {"sent": sum(results[name].values()), "outcomes": dict(results[name]), "failures": failures[name]})
            for name in results
        ),
    }
    with open(args.out + ".tmp", "w") as handle:
        json.dump(report, handle, indent=1, sort_keys=True)
    import os

    os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    asyncio.run(main())
