# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host side of the rot concern: processes blocked waiting for a file lock.

Python 3 standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.acceptq.remediation.plugins.module_utils.core.evidence import (
    EvidenceError,
    Section,
    _open_fds,
    background_result,
    process_name,
    read_text,
    start_background,
)


def parse_locks(text, source="/proc/locks"):
    """Parse /proc/locks into held locks and blocked waiters ("->" lines)."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        waiting = len(fields) > 1 and fields[1] == "->"
        if waiting:
            del fields[1]
        if len(fields) < 8:
            raise EvidenceError("%s:%d: expected 8 fields, got %r" % (source, number, line))
        try:
            major, minor, inode = fields[5].split(":")
            entries.append(
                {
                    "kind": fields[1],
                    "mode": fields[3],
                    "pid": int(fields[4]),
                    "device": "%d:%d" % (int(major, 16), int(minor, 16)),
                    "inode": int(inode),
                    "waiting": waiting,
                }
            )
        except ValueError:
            raise EvidenceError("%s:%d: cannot read pid or device:inode in %r" % (source, number, line)) from None
    return entries


def _open_file_paths(proc_root, pids, wanted):
    """Map (device, inode) -> path for files the given processes hold open."""
    paths = {}
    for pid in pids:
        for fd, fd_dir in _open_fds(proc_root, pid):
            try:
                stat = os.stat(fd, dir_fd=fd_dir)
                key = ("%d:%d" % (os.major(stat.st_dev), os.minor(stat.st_dev)), stat.st_ino)
                if key in wanted and key not in paths:
                    paths[key] = os.readlink(fd, dir_fd=fd_dir)
            except OSError:
                continue
        if len(paths) == len(wanted):
            break
    return paths


def collect_locks(context):
    proc_root = context["proc_root"]
    source = os.path.join(proc_root, "locks")
    section = {"files": [], "waiters_total": 0}
    try:
        entries = parse_locks(background_result(context, "locks", read_text, source), source)
    except EvidenceError as exc:
        context["errors"].append({"section": "locks", "source": source, "message": str(exc)})
        return section
    files = {}
    for entry in entries:
        key = (entry["device"], entry["inode"])
        record = files.setdefault(key, {"holders": [], "waiters": []})
        record["waiters" if entry["waiting"] else "holders"].append(entry)
    contended = dict((key, record) for key, record in files.items() if record["waiters"])
    holder_pids = sorted(set(entry["pid"] for record in contended.values() for entry in record["holders"]))
    paths = _open_file_paths(proc_root, holder_pids, set(contended))
    for key, record in sorted(contended.items()):
        by_process = {}
        for entry in record["waiters"]:
            name = process_name(proc_root, entry["pid"]) or "?"
            by_process[name] = by_process.get(name, 0) + 1
        section["files"].append(
            {
                "device": key[0],
                "inode": key[1],
                "path": paths.get(key),
                "kind": sorted(set(entry["kind"] for entry in record["waiters"])),
                "holders": [
                    {"pid": entry["pid"], "name": process_name(proc_root, entry["pid"])} for entry in record["holders"]
                ],
                "waiters": len(record["waiters"]),
                "waiters_by_process": by_process,
            }
        )
        section["waiters_total"] += len(record["waiters"])
    return section


def start_locks(context):
    """Reading /proc/locks waits for an RCU grace period: start it on the run's first line."""
    start_background(context, "locks", read_text, os.path.join(context["proc_root"], "locks"))


SECTIONS = (Section("locks", collect_locks, 20, waits=True, start=start_locks),)
