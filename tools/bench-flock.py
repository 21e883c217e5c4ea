#!/usr/bin/env python3
"""Benchmark the flock concern: host-side preselection and controller-side parsing.

Generates (once, under /tmp, never in the repository) a tree of PHP files of
about --total-mb MB, a share of them loggers that lock; then runs the host
walk in a fresh interpreter (wall time, peak RSS, candidates) and parses every
candidate with tree-sitter (median and p95 per file). Prints figures; asserts
nothing. Targets from issue 14: walk <= 10 s and <= 50 MB RSS for 50,000 files
(~1 GB); parse median <= 2 ms per candidate.
"""

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from acceptq.collection import import_shared  # noqa: E402

import_shared(ROOT)

BODY = """
    public function handle%(n)d(array $input, ?Request $request = null): array
    {
        $result = [];
        foreach ($input as $key => $value) {
            if (is_array($value)) {
                $result[$key] = array_map(fn ($item) => trim((string) $item), $value);
            } elseif ($value instanceof \\DateTimeInterface) {
                $result[$key] = $value->format(\\DATE_ATOM);
            } else {
                $result[$key] = htmlspecialchars((string) $value, ENT_QUOTES, 'UTF-8');
            }
        }
        return $this->repository->save($result, $request?->getUri()) ? $result : [];
    }
"""
LOCKERS = [
    "    public function log($m)\n    {\n        $fp = fopen($this->path, 'ab');\n        flock($fp, LOCK_EX);\n"
    '        fwrite($fp, $m . "\\n");\n        flock($fp, LOCK_UN);\n        fclose($fp);\n    }\n',
    "    public function log($m)\n    {\n"
    "        file_put_contents('/var/log/app/app.log', $m . PHP_EOL, FILE_APPEND | LOCK_EX);\n    }\n",
    "    public function handler()\n    {\n"
    "        return new StreamHandler('/var/log/app.log', Logger::DEBUG, true, null, true);\n    }\n",
    "    public function cache($k, $v)\n    {\n        $fp = fopen($k, 'c+');\n        flock($fp, LOCK_EX);\n"
    "        ftruncate($fp, 0);\n        fwrite($fp, serialize($v));\n        flock($fp, LOCK_UN);\n    }\n",
]


def generate(directory, files, total_mb, candidate_share, seed=14):
    marker = directory / ".generated"
    wanted = "%d %d %s %d v2" % (files, total_mb, candidate_share, seed)
    if marker.exists() and marker.read_text() == wanted:
        return
    rng = random.Random(seed)
    per_file = total_mb * (1 << 20) // files
    methods = "".join(BODY % {"n": n} for n in range(max(1, per_file // len(BODY % {"n": 0}))))
    started = time.monotonic()
    for number in range(files):
        sub = directory / ("vendor" if number % 3 == 0 else "src") / ("pkg%03d" % (number % 500))
        sub.mkdir(parents=True, exist_ok=True)
        if rng.random() < candidate_share:
            # A logger is a small class (CodeIgniter's, Yii2's and Monolog's are 4-8 KB): a few methods.
            body = "".join(BODY % {"n": n} for n in range(rng.randint(3, 12))) + rng.choice(LOCKERS)
        else:
            body = methods
        text = "<?php\n\nnamespace App\\Pkg%d;\n\nclass C%d\n{\n%s}\n" % (number % 500, number, body)
        (sub / ("C%d.php" % number)).write_text(text)
    marker.write_text(wanted)
    print("generated %d files in %s (%.0f s)" % (files, directory, time.monotonic() - started))


WALK = """
import json, resource, sys, time
sys.path.insert(0, %(src)r)
from pathlib import Path
from acceptq.collection import import_shared
import_shared(Path(%(root)r))
from ansible_collections.acceptq.remediation.plugins.module_utils.flock import collect
started = time.monotonic()
limits = {"max_files": 10 ** 7, "max_seconds": 600, "max_shipped_bytes": 1 << 30}
section = collect.scan_roots([{"path": %(tree)r, "sources": ["bench"]}], limits)
wall = time.monotonic() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
json.dump({"wall": wall, "rss_kb": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime,
           "files": section["files_seen"], "bytes": section["bytes_read"],
           "candidates": [c["path"] for c in section["candidates"]]}, sys.stdout)
"""


def run_walk(tree):
    code = WALK % {"src": str(ROOT / "src"), "root": str(ROOT), "tree": str(tree)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50000)
    parser.add_argument("--total-mb", type=int, default=1000)
    parser.add_argument("--candidate-share", type=float, default=0.02)
    parser.add_argument("--tree", default="/tmp/acceptq-bench-flock")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    tree = Path(args.tree)
    generate(tree, args.files, args.total_mb, args.candidate_share)
    from ansible_collections.acceptq.remediation.plugins.module_utils.flock import analyze

    walks = [run_walk(tree) for _ in range(args.runs)]
    for number, walk in enumerate(walks, 1):
        print(
            "walk %d: %d files, %.0f MB read, %d candidates: %.2f s wall (%.2f s CPU), peak RSS %.1f MB"
            % (
                number,
                walk["files"],
                walk["bytes"] / 1e6,
                len(walk["candidates"]),
                walk["wall"],
                walk["cpu"],
                walk["rss_kb"] / 1024,
            )
        )
    analyze.analyze("warm.php", b"<?php flock($a, LOCK_EX);")  # load the grammar outside the timing
    # Each candidate parsed three times: the median of the first runs, and of each file's best run
    # (the machine is shared; the best run is the parser's own cost).
    first, best, hits = [], [], 0
    for path in walks[-1]["candidates"]:
        data = Path(path).read_bytes()
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            found, _errors = analyze.analyze(path, data)
            runs.append((time.perf_counter() - started) * 1000)
        first.append(runs[0])
        best.append(min(runs))
        hits += len(found)
    if first:
        sizes = [os.path.getsize(path) for path in walks[-1]["candidates"]]
        print(
            "parse: %d candidates (median %.1f KB), %d findings: median %.2f ms per file (p95 %.2f ms); "
            "median of each file's best of 3: %.2f ms"
            % (
                len(first),
                statistics.median(sizes) / 1024,
                hits,
                statistics.median(first),
                sorted(first)[max(0, int(len(first) * 0.95) - 1)],
                statistics.median(best),
            )
        )
    print("load average during the run: %.2f %.2f %.2f" % os.getloadavg())
    print("controller peak RSS %.1f MB" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


if __name__ == "__main__":
    main()
