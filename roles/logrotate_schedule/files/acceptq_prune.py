# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Delete old rotated logs in batches with pauses, so the disk keeps serving requests.

Installed by the logrotate_schedule role and run by acceptq-prune.timer. Reads a
JSON file {targets: [{path, pattern, age_days}], batch, pause_ms}; deletes only
regular files directly in each path whose name matches pattern and whose mtime
is older than age_days. Symlinks and directories are never touched.
Usage: python3 acceptq_prune.py CONFIG [--dry-run]
"""

import fnmatch
import json
import os
import sys
import time


def candidates(target, now):
    limit = now - float(target.get("age_days", 14)) * 86400
    try:
        entries = os.scandir(target["path"])
    except OSError as exc:
        print("acceptq-prune: %s: %s" % (target["path"], exc.strerror), file=sys.stderr)
        return
    with entries:
        for entry in entries:
            if not fnmatch.fnmatchcase(entry.name, target["pattern"]):
                continue
            try:
                if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < limit:
                    yield entry.path
            except OSError:
                continue


def prune(config, dry_run=False):
    batch = max(1, int(config.get("batch", 200)))
    pause = max(0, int(config.get("pause_ms", 200))) / 1000.0
    now = time.time()
    deleted = failed = 0
    for target in config.get("targets", []):
        pending = 0
        for path in candidates(target, now):
            if not dry_run:
                try:
                    os.unlink(path)
                except OSError as exc:
                    failed += 1
                    print("acceptq-prune: %s: %s" % (path, exc.strerror), file=sys.stderr)
                    continue
            deleted += 1
            pending += 1
            if pending >= batch:
                pending = 0
                time.sleep(pause)  # let the journal commit and the requests' I/O through
    return deleted, failed


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    try:
        with open(argv[1]) as handle:
            config = json.load(handle)
    except (OSError, ValueError) as exc:
        print("acceptq-prune: %s: %s" % (argv[1], exc), file=sys.stderr)
        return 2
    dry_run = "--dry-run" in argv[2:]
    deleted, failed = prune(config, dry_run=dry_run)
    print("acceptq-prune: %s %d file(s), %d failed" % ("would delete" if dry_run else "deleted", deleted, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
