# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host side of the logrotate concern: when rotation and deletion run, and what they touch.

Python 3 standard library only. Raw text travels (logrotate's files, crontabs,
unit files); the controller parses it (``logrotate/model.py``) with file:line.
The only reading done here is what the host alone can do: follow ``include``
lines to know which files to ship, list the rotated logs on disk, ask systemd
for the timers' schedules, find the block device under /var/log.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import glob
import hashlib
import os
import re
import shutil
import subprocess
import time

from ansible_collections.acceptq.remediation.plugins.module_utils.core.evidence import (
    EvidenceError,
    Section,
    read_text,
)

BINARY_CANDIDATES = ("/usr/sbin/logrotate", "/usr/bin/logrotate", "/usr/local/sbin/logrotate")
DEFAULT_CONF = "/etc/logrotate.conf"
DEFAULT_STATE = "/var/lib/logrotate/status"
# Bounds that keep one host's evidence small whatever it holds.
MAX_CONFIG_FILES = 400
MAX_FILE_BYTES = 1024 * 1024
MAX_TOTAL_BYTES = 16 * 1024 * 1024
MAX_ROTATED_LISTED = 20000
MAX_STATE_BYTES = 4 * 1024 * 1024
# logrotate 3.21's default taboo patterns: files of an included directory it skips
# (read from its binary and checked with logrotate -d; dotfiles are read).
TABOO_PATTERNS = (
    "*,v",
    "*.bak",
    "*.cfsaved",
    "*.disabled",
    "*.dpkg-bak",
    "*.dpkg-del",
    "*.dpkg-dist",
    "*.dpkg-new",
    "*.dpkg-old",
    "*.dpkg-tmp",
    "*.rhn-cfg-tmp-*",
    "*.rpmnew",
    "*.rpmorig",
    "*.rpmsave",
    "*.swp",
    "*.ucf-dist",
    "*.ucf-new",
    "*.ucf-old",
    "*~",
)
SCRIPT_STARTS = ("prerotate", "postrotate", "firstaction", "lastaction", "preremove")
CRON_PATHS = ("/etc/crontab", "/etc/anacrontab")
CRON_DIRS = (
    "/etc/cron.d",
    "/etc/cron.hourly",
    "/etc/cron.daily",
    "/etc/cron.weekly",
    "/etc/cron.monthly",
    "/var/spool/cron/crontabs",
)
REOPEN_SCRIPTS = "/usr/lib/php/php*-fpm-reopenlogs"
TIMER_PROPERTIES = (
    "Id",
    "Unit",
    "LoadState",
    "UnitFileState",
    "TimersCalendar",
    "NextElapseUSecRealtime",
    "LastTriggerUSec",
    "AccuracyUSec",
    "RandomizedDelayUSec",
    "FixedRandomDelay",
    "Persistent",
    "FragmentPath",
    "DropInPaths",
)
SERVICE_PROPERTIES = (
    "Id",
    "ExecStart",
    "Nice",
    "IOSchedulingClass",
    "IOSchedulingPriority",
    "FragmentPath",
    "DropInPaths",
    "Result",
)


def scan_config(text):
    """(line number, stripped line, in a script) for each line, as logrotate reads them."""
    in_script = False
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        word = stripped.split(None, 1)[0] if stripped else ""
        if in_script:
            if word == "endscript":
                in_script = False
            else:
                yield number, stripped, True
                continue
        elif word in SCRIPT_STARTS:
            in_script = True
        yield number, stripped, False


def _unquote(token):
    return token[1:-1] if len(token) > 1 and token[0] == token[-1] and token[0] in "\"'" else token


def include_targets(text):
    """[(line, path)] of the include lines outside scripts."""
    found = []
    for number, stripped, in_script in scan_config(text):
        fields = stripped.split(None, 1)
        if not in_script and len(fields) == 2 and fields[0] == "include":
            found.append((number, _unquote(fields[1].strip())))
    return found


def log_patterns(text):
    """The log path patterns of every block (tokens outside scripts that start with / before a '{')."""
    patterns = []
    for _number, stripped, in_script in scan_config(text):
        if in_script or not stripped or stripped.startswith("#"):
            continue
        if stripped[0] in "/\"'":
            for token in stripped.replace("{", " ").split():
                token = _unquote(token)
                if token.startswith("/"):
                    patterns.append(token)
    return patterns


def taboo(name):
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in TABOO_PATTERNS)


class _Reader(object):
    """Read files once each within the bounds; every miss is recorded, never raised."""

    def __init__(self, errors, section):
        self.errors, self.section = errors, section
        self.files, self.total = {}, 0

    def note(self, source, message):
        self.errors.append({"section": self.section, "source": source, "message": message})

    def read(self, path, limit=MAX_FILE_BYTES):
        if path in self.files:
            return self.files[path]
        if len(self.files) >= MAX_CONFIG_FILES or self.total >= MAX_TOTAL_BYTES:
            self.files[path] = {"text": None, "error": "not read: over the evidence bounds", "truncated": True}
            return self.files[path]
        record = {"text": None, "error": None, "truncated": False}
        try:
            size = os.path.getsize(path)
            text = read_text(path)
            if len(text) > limit:
                text, record["truncated"] = text[:limit], True
            record.update(text=text, size=size)
            self.total += len(text)
        except (OSError, EvidenceError) as exc:
            record["error"] = str(exc)
        self.files[path] = record
        return record


def collect_config(reader, conf):
    """Every file the configuration reads, following includes (a loop or a miss is recorded)."""
    order, includes = [], []
    pending = [(conf, None)]
    while pending:
        path, origin = pending.pop(0)
        if path in order:
            continue
        order.append(path)
        record = reader.read(path)
        if record["text"] is None:
            continue
        for line, target in include_targets(record["text"]):
            entry = {"file": path, "line": line, "target": target, "kind": None, "files": [], "skipped": []}
            includes.append(entry)
            if os.path.isdir(target):
                entry["kind"] = "directory"
                try:
                    names = sorted(os.listdir(target))
                except OSError as exc:
                    entry["error"] = str(exc)
                    continue
                for name in names:
                    full = os.path.join(target, name)
                    if not os.path.isfile(full):
                        continue
                    if taboo(name):
                        entry["skipped"].append(name)
                        continue
                    entry["files"].append(full)
                    pending.append((full, path))
            elif os.path.isfile(target):
                entry["kind"] = "file"
                entry["files"].append(target)
                pending.append((target, path))
            else:
                entry["kind"] = "missing"
    return {"main": conf, "order": order, "includes": includes}


def _run(argv, timeout=10):
    try:
        completed = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, "", str(exc)
    stdout, stderr = completed.stdout.decode("utf-8", "replace"), completed.stderr.decode("utf-8", "replace")
    return completed.returncode, stdout, stderr


def parse_show(text):
    """``systemctl show`` output: a list of {property: value}, one per unit (blank-line separated)."""
    units, current = [], {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                units.append(current)
            current = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key] = value
    if current:
        units.append(current)
    return units


def collect_systemd(reader, errors):
    """The timers (every one: deletion jobs live there too) and the services they start."""
    systemctl = shutil.which("systemctl")
    if not os.path.isdir("/run/systemd/system") or not systemctl:
        return None
    # The admin's timers by name too: a pattern lists only loaded units, not one with a bad OnCalendar=.
    local = sorted(
        set(os.path.basename(path) for path in glob.glob("/etc/systemd/system/*.timer"))
        | set(os.path.basename(path) for path in glob.glob("/etc/systemd/system/*/*.timer"))
    )
    argv = [systemctl, "show", "-p", ",".join(TIMER_PROPERTIES), "*.timer", "logrotate.timer"] + local
    rc, out, err = _run(argv)
    if rc is None or rc != 0:
        reader.note("systemctl show *.timer", (err or "exit %s" % rc).strip())
        return {"timers": [], "services": []}
    timers = [unit for unit in parse_show(out) if unit.get("Id")]
    seen, unique = set(), []
    for timer in timers:
        if timer["Id"] not in seen:
            seen.add(timer["Id"])
            unique.append(timer)
    services = sorted(set(timer.get("Unit") for timer in unique if timer.get("Unit")) | set(["logrotate.service"]))
    rc, out, err = _run([systemctl, "show", "-p", ",".join(SERVICE_PROPERTIES)] + services)
    if rc != 0:
        reader.note("systemctl show (services)", (err or "exit %s" % rc).strip())
        out = ""
    shown = [unit for unit in parse_show(out) if unit.get("Id")]
    # The unit files of logrotate's own timer and service, drop-ins included, as text.
    units = {}
    for unit in unique + shown:
        if unit.get("Id") in ("logrotate.timer", "logrotate.service"):
            for path in [unit.get("FragmentPath")] + (unit.get("DropInPaths") or "").split():
                if path:
                    units[path] = reader.read(path, 64 * 1024)
    return {"timers": unique, "services": shown, "unit_files": units}


def collect_cron(reader):
    """Crontabs, cron.d and the run-parts directories, as text (scripts are read too, bounded)."""
    files = {}
    present = False
    for path in CRON_PATHS:
        if os.path.exists(path):
            present = True
            files[path] = reader.read(path, 256 * 1024)
    for directory in CRON_DIRS:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        present = present or directory == "/etc/cron.d"
        for name in names:
            full = os.path.join(directory, name)
            if os.path.isfile(full) and not name.startswith("."):
                files[full] = reader.read(full, 64 * 1024)
    daemon = any(shutil.which(name) for name in ("cron", "crond", "anacron"))
    return {"present": present, "daemon": bool(daemon), "files": files}


def block_device_scheduler(path="/var/log", sys_root="/sys", stat=os.stat):
    """The I/O scheduler of the block device holding path; None with a reason where there is none."""
    result = {"path": path, "device": None, "scheduler": None, "available": [], "reason": None}
    try:
        dev = stat(path).st_dev
    except OSError as exc:
        result["reason"] = str(exc)
        return result
    result["device"] = "%d:%d" % (os.major(dev), os.minor(dev))
    node = os.path.join(sys_root, "dev/block", result["device"])
    if not os.path.exists(node):
        result["reason"] = (
            "device %s is not a block device (overlay, tmpfs or a container's filesystem)" % (result["device"])
        )
        return result
    real = os.path.realpath(node)
    via = []
    # A partition's queue is its disk's; a device-mapper volume (LVM, dm-crypt) has no
    # scheduler of its own ("none"): the disk under it decides, so follow its slaves.
    for _depth in range(8):
        if os.path.exists(os.path.join(real, "partition")):
            real = os.path.dirname(real)
        try:
            slaves = sorted(os.listdir(os.path.join(real, "slaves")))
        except OSError:
            slaves = []
        if not slaves:
            break
        via.append(os.path.basename(real))
        real = os.path.realpath(os.path.join(real, "slaves", slaves[0]))
    result["block"] = os.path.basename(real)
    result["via"] = via
    try:
        text = read_text(os.path.join(real, "queue", "scheduler")).strip()
    except EvidenceError as exc:
        result["reason"] = str(exc)
        return result
    result["available"] = [name.strip("[]") for name in text.split()]
    active = re.search(r"\[([^\]]+)\]", text)
    result["scheduler"] = active.group(1) if active else (text if text else None)
    return result


def machine_id_hash(path="/etc/machine-id"):
    try:
        value = read_text(path).strip()
    except EvidenceError:
        return None
    return hashlib.sha256(value.encode("utf-8")).hexdigest() if value else None


def _stat(path):
    try:
        found = os.stat(path)
    except OSError:
        return None
    return {"path": path, "size": found.st_size, "mtime": int(found.st_mtime)}


def list_logs(patterns):
    """Live logs and rotated copies (name.N, name.N.gz, name-DATE...) for each pattern."""
    live, rotated, counts = [], [], {"rotated_files": 0, "rotated_bytes": 0, "listed": 0, "truncated": False}
    seen = set()
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            if path not in seen and os.path.isfile(path):
                seen.add(path)
                record = _stat(path)
                if record:
                    live.append(record)
        for suffix in (".[0-9]*", "-[0-9]*"):
            for path in glob.iglob(pattern + suffix):
                if path in seen:
                    continue
                seen.add(path)
                record = _stat(path)
                if not record:
                    continue
                counts["rotated_files"] += 1
                counts["rotated_bytes"] += record["size"]
                if len(rotated) < MAX_ROTATED_LISTED:
                    rotated.append(record)
                else:
                    counts["truncated"] = True
    counts["listed"] = len(rotated)
    return {"live": live, "rotated": rotated, "totals": counts}


def find_binary():
    for path in BINARY_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("logrotate")


def collect_logrotate(context):
    errors = context["errors"]
    reader = _Reader(errors, "logrotate")
    section = {"now": int(time.time()), "binary": find_binary(), "version": None}
    if section["binary"]:
        rc, out, err = _run([section["binary"], "--version"])
        match = re.search(r"logrotate (\d+(?:\.\d+)*)", out + err)
        section["version"] = match.group(1) if match else None
        if not match:
            reader.note("%s --version" % section["binary"], "no version in %r" % (out + err).strip()[:200])
    section["service_manager"] = "systemd" if os.path.isdir("/run/systemd/system") else None
    section["systemd"] = collect_systemd(reader, errors)
    section["cron"] = collect_cron(reader)
    section["config"] = collect_config(reader, DEFAULT_CONF) if os.path.exists(DEFAULT_CONF) else None
    state = reader.read(DEFAULT_STATE, MAX_STATE_BYTES) if os.path.exists(DEFAULT_STATE) else None
    section["state"] = dict(state, path=DEFAULT_STATE) if state else None
    section["io"] = block_device_scheduler()
    section["machine_id_sha256"] = machine_id_hash()
    section["reopen_scripts"] = sorted(glob.glob(REOPEN_SCRIPTS))
    patterns = []
    for path in (section["config"] or {}).get("order", []):
        text = reader.files.get(path, {}).get("text")
        if text:
            patterns.extend(pattern for pattern in log_patterns(text) if pattern not in patterns)
    section["logs"] = list_logs(patterns)
    section["files"] = reader.files
    return section


SECTIONS = (Section("logrotate", collect_logrotate, 60),)
