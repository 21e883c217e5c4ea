#!/usr/bin/env python3
"""Open-loop load while something happens: GET and POST at a fixed rate, a
share of them 2 s long, a new connection each; prints JSON outcome counts.

    rotload.py --rate 20 --duration 8 --slow-share 0.2 --during 'logrotate -f /etc/logrotate.conf'

The command in --during starts 2 s in, while slow requests are in flight.
"""

import argparse
import asyncio
import collections
import json
import random
import time


async def one(method, ms, outcomes):
    body = b"x=1" if method == "POST" else b""
    request = (
        "%s /sleep.php?ms=%d HTTP/1.1\r\nHost: lr\r\nConnection: close\r\nContent-Type: "
        "application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % (method, ms, len(body))
    ).encode() + body
    try:
        async with asyncio.timeout(10):
            reader, writer = await asyncio.open_connection("127.0.0.1", 80)
            writer.write(request)
            status = await reader.readline()
            await reader.read()
            writer.close()
        outcome = status.split(b" ", 2)[1].decode() if status.startswith(b"HTTP/") else "bad-response"
    except TimeoutError:
        outcome = "timeout"
    except OSError as exc:
        outcome = "error-%s" % (exc.errno or type(exc).__name__)
    outcomes["%s %s" % (method, outcome)] += 1


async def main(args):
    outcomes = collections.Counter()
    rng = random.Random(7)
    tasks, started, during = [], time.monotonic(), None
    count = int(args.rate * args.duration)
    for number in range(count):
        await asyncio.sleep(max(0.0, started + number / args.rate - time.monotonic()))
        if during is None and time.monotonic() - started >= 2.0:
            during = await asyncio.create_subprocess_shell(args.during)
        method = "POST" if number % 2 else "GET"
        ms = 2000 if rng.random() < args.slow_share else 20
        tasks.append(asyncio.ensure_future(one(method, ms, outcomes)))
    await asyncio.gather(*tasks)
    rc = await during.wait() if during else None
    print(json.dumps({"outcomes": dict(outcomes), "requests": count, "during_rc": rc}, sort_keys=True))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--slow-share", type=float, default=0.2)
    parser.add_argument("--during", required=True)
    asyncio.run(main(parser.parse_args()))
