#!/usr/bin/env python3
"""Open-loop HTTP load: a fixed request rate per vhost, a new connection per
request, a client that gives up after its timeout (and so makes nginx log 499
when nginx waits longer than the client).

    load.py --rate a.incident.test=17 --rate b.incident.test=95 --duration 50 --out load.json

Arrivals do not wait for answers (open loop): a stalled backend keeps
receiving requests, as in production.
"""

import argparse
import asyncio
import collections
import json
import time


def parse_rate(text):
    vhost, _, rate = text.partition("=")
    if not vhost or not rate or float(rate) <= 0:
        raise argparse.ArgumentTypeError("expected VHOST=REQUESTS_PER_SECOND, got %r" % text)
    return vhost, float(rate)


async def one_request(address, port, path, vhost, timeout_s, outcomes, latencies):
    request = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, vhost)).encode()
    started = time.monotonic()
    writer = None
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(address, port)
            writer.write(request)
            status_line = await reader.readline()
            await reader.read()  # the body, to the server's close
        outcome = status_line.split(b" ", 2)[1].decode() if status_line.startswith(b"HTTP/") else "bad-response"
    except TimeoutError:
        outcome = "timeout"
    except OSError as error:
        outcome = "error-%s" % (error.errno or type(error).__name__)
    finally:
        if writer is not None:
            writer.close()
    outcomes[outcome] += 1
    if outcome == "200":
        latencies.append(time.monotonic() - started)


async def drive(vhost, rate, args, outcomes, latencies, tasks):
    interval = 1.0 / rate
    start = time.monotonic()
    sent = 0
    while True:
        due = start + sent * interval
        if due - start >= args.duration:
            return sent
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.add(
            asyncio.create_task(
                one_request(args.address, args.port, args.path, vhost, args.timeout, outcomes, latencies)
            )
        )
        sent += 1


async def main(args):
    outcomes = {vhost: collections.Counter() for vhost, _ in args.rate}
    latencies = {vhost: [] for vhost, _ in args.rate}
    tasks = set()
    started = time.time()
    sent = await asyncio.gather(
        *(drive(vhost, rate, args, outcomes[vhost], latencies[vhost], tasks) for vhost, rate in args.rate)
    )
    await asyncio.gather(*tasks)
    report = {"started": started, "ended": time.time(), "timeout_s": args.timeout, "vhosts": {}}
    for (vhost, rate), count in zip(args.rate, sent, strict=True):
        ordered = sorted(latencies[vhost])
        report["vhosts"][vhost] = {
            "rate_rps": rate,
            "sent": count,
            "outcomes": dict(sorted(outcomes[vhost].items())),
            "p50_s": round(ordered[len(ordered) // 2], 4) if ordered else None,
            "p99_s": round(ordered[int(len(ordered) * 0.99)], 4) if ordered else None,
        }
    with open(args.out, "w") as handle:
        json.dump(report, handle, indent=1, sort_keys=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=parse_rate, action="append", required=True)
    parser.add_argument("--duration", type=float, required=True, help="seconds of arrivals")
    parser.add_argument("--timeout", type=float, default=2.0, help="client timeout, seconds")
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--path", default="/page.php")
    parser.add_argument("--out", required=True)
    asyncio.run(main(parser.parse_args()))
