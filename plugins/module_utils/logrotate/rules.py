# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Log rotation: when it runs across the fleet, what it signals, what it deletes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import Rule
from ansible_collections.acceptq.remediation.plugins.module_utils.core.rules import Concern, PolicyKey
from ansible_collections.acceptq.remediation.plugins.module_utils.logrotate import model as _model

NEEDS = ("logrotate",)


def _rule(number, severity, title, explanation, needs=NEEDS, policy=(), scope="host"):
    return Rule(
        "AQ-LOGROTATE-%03d" % number,
        "logrotate",
        severity,
        title,
        explanation=explanation,
        needs=needs,
        policy=policy,
        scope=scope,
    )


FIXED_TIME = _rule(
    1,
    "warning",
    "Rotation at a fixed time with no per-host spread",
    "logrotate runs at the same clock time on every host that shares this schedule:\n"
    "Debian 12's `logrotate.timer` is `OnCalendar=daily` with `AccuracySec=1h`, and\n"
    "AccuracySec lets systemd coalesce wake-ups with the other 00:00 timers rather\n"
    "than spread them, so every host rotates in the first minute after midnight. A\n"
    "cron line at 00:00 or the packaged cron.daily does the same. Reported for the\n"
    "packaged schedule (no drop-in sets `OnCalendar=`) and for midnight; a time\n"
    "someone chose is judged by the fleet rule AQ-LOGROTATE-015 against the other\n"
    "hosts of its pool. The `logrotate_schedule` role gives each host its own slot\n"
    "(a timer drop-in with `AccuracySec=1s`).\n",
)
DAILY_RANDOM = _rule(
    2,
    "info",
    "Random delay without FixedRandomDelay: a different time every night",
    "`RandomizedDelaySec` without `FixedRandomDelay=yes` (Debian 13's timer) draws a\n"
    "new offset each day: hosts do not collide on average, but no one can say when\n"
    "a host rotates, and two hosts of a pool still meet some nights.\n",
)
RELOAD_IN_POSTROTATE = _rule(
    3,
    "error",
    "postrotate reloads or restarts php-fpm or nginx",
    "A reload of php-fpm (USR2) with `process_control_timeout = 0` kills every\n"
    "request in flight; a restart also resets every connection waiting in the\n"
    "socket's queue (502). Reopening logs needs only USR1: php-fpm through its\n"
    "packaged `php8.2-fpm-reopenlogs`, nginx through `invoke-rc.d nginx rotate`.\n",
)
UNSHARED_SIGNAL = _rule(
    4,
    "warning",
    "Signalling script on a multi-file block without sharedscripts",
    "Without `sharedscripts` the script runs once per rotated file: a glob that\n"
    "matches N logs signals the daemon N times in a row (each USR1 to php-fpm with\n"
    "`access.log` set recycles every worker).\n",
)
DELETION_IN_RUN = _rule(
    5,
    "warning",
    "The rotation run itself deletes many files or GB",
    "logrotate deletes the copies beyond `rotate N` and older than `maxage` inside\n"
    "the rotation run, right after it signalled the daemons. The evidence counts\n"
    "the rotated copies on disk the next run will delete. Deleting many files is\n"
    "metadata I/O that stalls the disk (the seed incident: hundreds of GB at 00:00);\n"
    "move it to a throttled prune job in its own slot. Error when the run falls in\n"
    "the declared peak hours.\n",
    policy=("logrotate_delete_files_max", "logrotate_delete_bytes_max", "logrotate_peak_hours"),
)
DELETION_JOB = _rule(
    6,
    "warning",
    "Unthrottled deletion job (find -delete, rm, tmpwatch)",
    "A cron line or timer deletes files in one go: no pauses between batches, no\n"
    "idle I/O class. Reported with its schedule; the severity rises to error when it\n"
    "runs within the rotation's minute or during the declared peak hours.\n",
    policy=("logrotate_peak_hours",),
)
IGNORED_PRIORITY = _rule(
    7,
    "info",
    "I/O priority relied on under a scheduler that ignores it",
    "`ionice` and `IOSchedulingClass=` act only under the BFQ scheduler; Debian's\n"
    "default for virtio and NVMe disks is `none` or `mq-deadline`. Pauses between\n"
    "batches work under every scheduler.\n",
)
COPYTRUNCATE = _rule(
    8,
    "warning",
    "copytruncate on a large log",
    "`copytruncate` copies the whole file and then truncates it: the copy is I/O\n"
    "the size of the log, and lines written between copy and truncate are lost.\n"
    "Signal the writer to reopen (USR1) instead.\n",
    policy=("logrotate_copytruncate_bytes_max",),
)
ACCESS_LOG_USR1 = _rule(
    9,
    "warning",
    "php-fpm pool sets access.log: the rotation's USR1 recycles every worker",
    "USR1 makes php-fpm reopen its logs; when a pool sets `access.log`, it also\n"
    "makes every worker finish its request and respawn. Rotation then costs the\n"
    "pool a respawn of all its workers at once.\n",
    needs=("logrotate", "php_fpm"),
)
NO_CONTROL_TIMEOUT = _rule(
    10,
    "error",
    "process_control_timeout = 0 where something reloads php-fpm",
    "With Debian's default `process_control_timeout = 0`, a reload (USR2) kills\n"
    "the requests in flight instead of letting them finish. Set it to the longest\n"
    "request you serve (e.g. 30s), and stop reloading on rotation. AQ-BACKLOG-006\n"
    "reports the setting itself; this finding names the rotation script that turns\n"
    "it into failed requests every night.\n",
    needs=("logrotate", "php_fpm"),
)
CONFIG_ERROR = _rule(
    11,
    "error",
    "logrotate configuration error",
    "What `logrotate -d` prints as `error:` (an unknown directive, a duplicate log\n"
    "entry, an include of a missing path) and what it accepts without a word (a\n"
    "block whose `}` is missing, a script without `endscript`). A duplicate entry\n"
    "makes `logrotate.service` fail every night and skips the rest of that file.\n",
)
NOT_ROTATING = _rule(
    12,
    "warning",
    "Rotation is not happening",
    "The state file's last rotation of a log is older than its configured period\n"
    "plus `acceptq_policy.logrotate_stale_grace_days`: the timer or cron job does not\n"
    "run, or every run fails.\n",
    policy=("logrotate_stale_grace_days",),
)
NO_SCHEDULE = _rule(
    13,
    "warning",
    "Nothing runs logrotate",
    "logrotate is installed but neither an active `logrotate.timer` nor a cron line\n"
    "runs it (or it is absent while logs grow). Logs grow until the disk fills.\n",
)
SCHEDULE_ERROR = _rule(
    14,
    "warning",
    "Crontab or timer line that cannot be read",
    "A cron line with the wrong number of fields or an unknown `@` schedule is\n"
    "ignored by cron, and a timer systemd cannot load (a bad `OnCalendar=`) never\n"
    "fires; acceptq names the file and line.\n",
)
FLEET_SAME_MINUTE = _rule(
    15,
    "error",
    "Hosts of one pool rotate or delete in the same minute",
    "Hosts of one inventory group, or behind the same nginx upstream, rotate (or\n"
    "delete) within the same minute: the I/O stall and the reopen signals hit them\n"
    "together, and that share of the pool's capacity stalls at once. The share is\n"
    "weighed by each host's php-fpm `pm.max_children` where known. Give each host\n"
    "its own slot (`logrotate_schedule`).\n",
    scope="fleet",
)
MACHINE_ID_CLONE = _rule(
    16,
    "warning",
    "Hosts share one machine-id",
    "`FixedRandomDelay` derives each host's offset from `/etc/machine-id` and the\n"
    "unit name: cloned hosts get the same offset, so a spread that looks random\n"
    "still lands them in the same minute. Only a hash of the id is gathered.\n"
    "Regenerate it (`systemd-machine-id-setup` after emptying the file).\n",
    scope="fleet",
)

DEFINITIONS = (
    FIXED_TIME,
    DAILY_RANDOM,
    RELOAD_IN_POSTROTATE,
    UNSHARED_SIGNAL,
    DELETION_IN_RUN,
    DELETION_JOB,
    IGNORED_PRIORITY,
    COPYTRUNCATE,
    ACCESS_LOG_USR1,
    NO_CONTROL_TIMEOUT,
    CONFIG_ERROR,
    NOT_ROTATING,
    NO_SCHEDULE,
    SCHEDULE_ERROR,
    FLEET_SAME_MINUTE,
    MACHINE_ID_CLONE,
)
POLICY = (
    PolicyKey("logrotate_delete_files_max", 1000, "Rotated files one run may delete before it is reported."),
    PolicyKey("logrotate_delete_bytes_max", 1 << 30, "Bytes one rotation run may delete before it is reported."),
    PolicyKey("logrotate_copytruncate_bytes_max", 256 << 20, "Size of a copytruncate log before it is reported."),
    PolicyKey("logrotate_stale_grace_days", 1, "Days past a log's period before its rotation counts as missing."),
    PolicyKey(
        "logrotate_peak_hours",
        ["07:00-23:00"],
        "Hours (HH:MM-HH:MM, host time) when deletion jobs must not run.",
    ),
)


# -- the host's schedule, shared by the host and fleet rules


def _section(evidence):
    return (evidence or {}).get("logrotate") or None


def _timer(section, unit="logrotate.timer"):
    for timer in ((section or {}).get("systemd") or {}).get("timers") or []:
        if timer.get("Id") == unit:
            return timer
    return None


def _service(section, unit):
    for service in ((section or {}).get("systemd") or {}).get("services") or []:
        if service.get("Id") == unit:
            return service
    return None


def _cron_jobs(section):
    """(jobs, errors) of every crontab the host has (system ones with a user field)."""
    jobs, errors = [], []
    for path, record in sorted(((section or {}).get("cron") or {}).get("files", {}).items()):
        text = record.get("text")
        if text is None:
            continue
        if path == "/etc/anacrontab":
            found, bad = _model.parse_anacron(path, text)
        elif path == "/etc/crontab" or path.startswith("/etc/cron.d/"):
            found, bad = _model.parse_cron(path, text, system=True)
        elif path.startswith("/var/spool/cron/"):
            found, bad = _model.parse_cron(path, text, system=False)
        else:
            continue
        jobs.extend(found)
        errors.extend(bad)
    return jobs, errors


def _timer_active(timer):
    return bool(timer) and timer.get("LoadState") == "loaded" and timer.get("UnitFileState") not in ("masked",)


def schedule(section):
    """How this host runs logrotate: {kind, minute (of the day, or None), label, where, random}."""
    timer = _timer(section)
    if section and section.get("service_manager") == "systemd" and _timer_active(timer):
        delay = _model.parse_timespan(timer.get("RandomizedDelayUSec")) or 0
        fixed = timer.get("FixedRandomDelay") == "yes"
        minute = _model.elapse_minute(timer.get("NextElapseUSecRealtime"))
        units = ((section.get("systemd") or {}).get("unit_files")) or {}
        dropins = (timer.get("DropInPaths") or "").split()
        return {
            "kind": "timer",
            # A drop-in that sets OnCalendar= is someone's choice of time; the fleet rule judges collisions.
            "chosen": any("OnCalendar=" in ((units.get(path) or {}).get("text") or "") for path in dropins),
            "minute": None if delay and not fixed else minute,
            "random": bool(delay),
            "fixed_random": fixed,
            "delay_s": delay,
            "accuracy_s": _model.parse_timespan(timer.get("AccuracyUSec")),
            "calendar": _model.calendar_specs(timer),
            "where": " + ".join(
                [timer.get("FragmentPath") or "logrotate.timer"] + (timer.get("DropInPaths") or "").split()
            ),
            "label": "logrotate.timer %s (next %s)"
            % (", ".join(_model.calendar_specs(timer)) or "?", timer.get("NextElapseUSecRealtime") or "never"),
        }
    jobs, _errors = _cron_jobs(section)
    files = ((section or {}).get("cron") or {}).get("files") or {}
    # A cron line running logrotate itself, else the run-parts line of cron.daily when it holds logrotate.
    ways = [("cron", "logrotate", "cron %s")]
    if "/etc/cron.daily/logrotate" in files:
        ways.append(("cron.daily", "cron.daily", "cron.daily (%s)"))
    for kind, needle, label in ways:
        for job in jobs:
            if needle in job["command"] and "minute" in job:
                minutes = _model.fixed_minutes(job["minute"], job["hour"])
                return {
                    "kind": kind,
                    "chosen": kind == "cron",
                    "minute": minutes[0] if minutes else None,
                    "random": False,
                    "where": "%s:%d" % (job["file"], job["line"]),
                    "label": label % job["when"],
                }
    return None


def deletion_jobs(section):
    """Every scheduled deletion: cron lines, cron scripts and timers' services."""
    found = []
    jobs, _errors = _cron_jobs(section)
    for job in jobs:
        command = _model.deletion_command(job["command"])
        if command:
            minutes = _model.fixed_minutes(job["minute"], job["hour"]) if "minute" in job else None
            found.append(
                {
                    "where": "%s:%d" % (job["file"], job["line"]),
                    "when": job.get("when") or "anacron period %s" % job.get("period"),
                    "minutes": minutes,
                    "command": job["command"],
                    "deletes": command,
                    "throttled": _model.is_throttled(job["command"]),
                    "acceptq": bool(re.search(r"acceptq[-_]prune", job["command"])),
                }
            )
    for path, record in sorted(((section or {}).get("cron") or {}).get("files", {}).items()):
        if not re.match(r"^/etc/cron\.(hourly|daily|weekly|monthly)/", path) or not record.get("text"):
            continue
        for number, line in enumerate(record["text"].splitlines(), 1):
            command = None if line.strip().startswith("#") else _model.deletion_command(line)
            if command:
                found.append(
                    {
                        "where": "%s:%d" % (path, number),
                        "when": path.split("/")[2],
                        "minutes": None,
                        "command": line.strip(),
                        "deletes": command,
                        "throttled": _model.is_throttled(record["text"]),
                        "acceptq": False,
                    }
                )
    systemd = (section or {}).get("systemd") or {}
    by_unit = dict((service.get("Id"), service) for service in systemd.get("services") or [])
    for timer in systemd.get("timers") or []:
        service = by_unit.get(timer.get("Unit")) or {}
        argv = " ".join(_model.exec_argv(service.get("ExecStart")))
        command = _model.deletion_command(argv)
        if command:
            minute = _model.elapse_minute(timer.get("NextElapseUSecRealtime"))
            found.append(
                {
                    "where": "%s (%s)" % (timer.get("Id"), service.get("FragmentPath") or timer.get("Unit")),
                    "when": ", ".join(_model.calendar_specs(timer)),
                    "minutes": [minute] if minute is not None else None,
                    "command": argv,
                    "deletes": command,
                    "throttled": _model.is_throttled(argv) or service.get("IOSchedulingClass") == "3",
                    "acceptq": bool(re.search(r"acceptq[-_]prune", argv)),
                }
            )
    return found


def _hhmm(minute):
    return "%02d:%02d" % (minute // 60, minute % 60) if minute is not None else "?"


def _peak(minute, hours):
    for span in hours:
        match = re.match(r"^(\d\d?):(\d\d)-(\d\d?):(\d\d)$", span.strip())
        if not match:
            continue
        start = int(match.group(1)) * 60 + int(match.group(2))
        end = int(match.group(3)) * 60 + int(match.group(4))
        if (start <= minute < end) if start <= end else (minute >= start or minute < end):
            return span
    return None


def _pools(evidence):
    return ((evidence or {}).get("php_fpm") or {}).get("pools") or []


def _php_globals(evidence):
    return [binary.get("global") or {} for binary in ((evidence or {}).get("php_fpm") or {}).get("binaries") or []]


_MODELS = {}


def load_model(section):
    """The parsed configuration, once per section object (host rules and the planner share it)."""
    key = id(section)
    cached = _MODELS.get(key)
    if cached is None or cached[0] is not section:
        if len(_MODELS) > 256:
            _MODELS.clear()
        cached = (section, _model.parse(section))
        _MODELS[key] = cached
    return cached[1]


def live_blocks(model):
    """The blocks logrotate acts on: not those an earlier ignoreduplicates block took over."""
    return [block for block in model["blocks"] if not block.get("superseded_by")]


# -- host checks


def check_schedule(host, evidence, policy):
    section = _section(evidence)
    if not section:
        return []
    if not section.get("binary"):
        if (section.get("logs") or {}).get("live") or section.get("config"):
            return [
                NO_SCHEDULE.finding(
                    host,
                    observed="logrotate is not installed, yet %s exists" % ((section.get("config") or {}).get("main")),
                    expected="logrotate installed and run daily",
                    fix="Install logrotate (apt-get install logrotate).",
                    evidence={"binary": None},
                )
            ]
        return []
    found = schedule(section)
    if found is None:
        return [
            NO_SCHEDULE.finding(
                host,
                observed="logrotate %s is installed, but no active logrotate.timer and no cron line runs it "
                "(service manager: %s, cron files: %d)"
                % (
                    section.get("version"),
                    section.get("service_manager") or "none",
                    len(((section.get("cron") or {}).get("files") or {})),
                ),
                expected="logrotate run once a day, at a slot of its own",
                fix="Apply the logrotate_schedule role: it writes the timer drop-in or the cron line.",
                evidence={"service_manager": section.get("service_manager")},
            )
        ]
    findings = []
    if found.get("random") and not found.get("fixed_random"):
        findings.append(
            DAILY_RANDOM.finding(
                host,
                observed="%s: RandomizedDelaySec=%ss, FixedRandomDelay=no (%s)"
                % (found["label"], int(found["delay_s"]), found["where"]),
                expected="one known slot per host (FixedRandomDelay=yes or an explicit time)",
                fix="Apply the logrotate_schedule role: a fixed slot per host, no random delay.",
                evidence=found,
            )
        )
    elif not found.get("random") and found.get("minute") is not None and (not found["chosen"] or found["minute"] == 0):
        findings.append(
            FIXED_TIME.finding(
                host,
                observed="%s at %s (%s)%s"
                % (
                    found["label"],
                    _hhmm(found["minute"]),
                    found["where"],
                    "; AccuracySec=%ss coalesces, it does not spread" % int(found["accuracy_s"])
                    if found.get("accuracy_s")
                    else "",
                ),
                expected="a slot derived from this host's place in its pool",
                fix="Apply the logrotate_schedule role: a deterministic per-host slot in the window.",
                evidence=found,
            )
        )
    return findings


def check_config(host, evidence, policy):
    section = _section(evidence)
    if not section or not section.get("config"):
        return []
    model = load_model(section)
    findings = []
    for error in model["errors"]:
        where = "%s:%s" % (error["file"], error["line"]) if error.get("line") else error["file"]
        findings.append(
            CONFIG_ERROR.finding(
                host,
                observed="%s: %s%s"
                % (where, error["message"], " (logrotate -d exits 0 on this)" if error.get("accepted") else ""),
                expected="a configuration logrotate reads without an error line",
                fix="Fix the line named; logrotate_schedule refuses to write over a configuration it cannot "
                "parse in full.",
                evidence=error,
            )
        )
    return findings


def _block_where(block):
    return "%s:%d" % (block["file"], block["line"])


def check_scripts(host, evidence, policy):
    section = _section(evidence)
    if not section or not section.get("config"):
        return []
    model = load_model(section)
    findings = []
    for block in live_blocks(model):
        disruptive = [signal for signal in block["signals"] if signal["action"] in ("reload", "restart")]
        for signal in disruptive:
            findings.append(
                RELOAD_IN_POSTROTATE.finding(
                    host,
                    observed="%s:%d (%s of %s): %r %ss %s"
                    % (
                        block["file"],
                        signal["line"],
                        signal["script"],
                        " ".join(block["patterns"]),
                        signal["command"],
                        signal["action"],
                        signal["daemon"],
                    ),
                    expected="USR1 only: php8.2-fpm-reopenlogs for php-fpm, invoke-rc.d nginx rotate for nginx",
                    fix="Apply the logrotate_schedule role: it takes over the stanza with USR1 signals and "
                    "sharedscripts.",
                    evidence={"block": _block_where(block), "signal": signal},
                )
            )
        multi = len(block["patterns"]) > 1 or any(c in "".join(block["patterns"]) for c in "*?[")
        if block["signals"] and multi and not block["settings"].get("sharedscripts"):
            findings.append(
                UNSHARED_SIGNAL.finding(
                    host,
                    observed="%s: %s matches %d log(s) now and signals %s in its %s, without sharedscripts"
                    % (
                        _block_where(block),
                        " ".join(block["patterns"]),
                        len(block["matches"]),
                        "/".join(sorted(set(signal["daemon"] for signal in block["signals"]))),
                        "/".join(sorted(set(signal["script"] for signal in block["signals"]))),
                    ),
                    expected="sharedscripts: one signal per run",
                    fix="Add sharedscripts to the block (the logrotate_schedule role does in its managed stanza).",
                    evidence={"block": _block_where(block), "matches": block["matches"]},
                )
            )
    return findings


def _rotated_base(path):
    """The live log a rotated copy belongs to: strip .N[.gz] or -DATE[.gz]."""
    return re.sub(r"(\.\d+|-\d{8,10}(?:\d{2}){0,2})(\.[A-Za-z0-9]+)?$", "", path)


def deletion_preview(section, block, now):
    """(files, bytes) of the rotated copies of a block the next run deletes (rotate N, maxage D)."""
    settings = block["settings"]
    rotated = (section.get("logs") or {}).get("rotated") or []
    by_base = {}
    for record in rotated:
        base = _rotated_base(record["path"])
        if any(_model.glob_match(pattern, base) for pattern in block["patterns"]):
            by_base.setdefault(base, []).append(record)
    files, size = 0, 0
    for records in by_base.values():
        records.sort(key=lambda record: -record["mtime"])
        for index, record in enumerate(records):
            # After the next rotation the live log becomes copy 1: copies from rotate N on go.
            over_count = index + 1 >= (settings.get("rotate") or 0)
            too_old = settings.get("maxage") is not None and now - record["mtime"] > settings["maxage"] * 86400
            if over_count or too_old:
                files += 1
                size += record["size"]
    return files, size


def _human(size):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return ("%d %s" if unit == "B" else "%.1f %s") % (size, unit)
        size /= 1024.0
    return str(size)


def check_deletion(host, evidence, policy):
    section = _section(evidence)
    if not section:
        return []
    findings = []
    when = schedule(section) or {}
    if section.get("config"):
        model = load_model(section)
        total_files, total_bytes, worst = 0, 0, []
        for block in live_blocks(model):
            files, size = deletion_preview(section, block, section.get("now") or 0)
            if files:
                total_files += files
                total_bytes += size
                worst.append((size, files, block))
        rotation_peak = (
            _peak(when["minute"], policy["logrotate_peak_hours"]) if when.get("minute") is not None else None
        )
        if total_files > policy["logrotate_delete_files_max"] or total_bytes > policy["logrotate_delete_bytes_max"]:
            worst.sort(key=lambda item: (-item[0], -item[1]))
            findings.append(
                DELETION_IN_RUN.finding(
                    host,
                    observed="the next run (%s%s) deletes %d rotated file(s), %s: %s"
                    % (
                        when.get("label") or "unscheduled",
                        ", in peak hours %s" % rotation_peak if rotation_peak else "",
                        total_files,
                        _human(total_bytes),
                        "; ".join(
                            "%s %s: %d file(s), %s (rotate %s%s)"
                            % (
                                _block_where(block),
                                " ".join(block["patterns"]),
                                files,
                                _human(size),
                                block["settings"].get("rotate"),
                                ", maxage %s" % block["settings"]["maxage"]
                                if block["settings"].get("maxage") is not None
                                else "",
                            )
                            for size, files, block in worst[:5]
                        ),
                    ),
                    expected="at most %d files and %s deleted inside the rotation run"
                    % (policy["logrotate_delete_files_max"], _human(policy["logrotate_delete_bytes_max"])),
                    fix="Keep fewer copies per run or move the deletion to the logrotate_schedule role's throttled "
                    "prune job, in its own slot after rotation.",
                    evidence={"files": total_files, "bytes": total_bytes, "peak_hours": rotation_peak},
                    severity="error" if rotation_peak else None,
                )
            )
    rotation_minute = when.get("minute")
    for job in deletion_jobs(section):
        if job["acceptq"] or job["throttled"]:
            continue
        minutes = job["minutes"] or []
        peak = [span for span in (_peak(minute, policy["logrotate_peak_hours"]) for minute in minutes) if span]
        clash = rotation_minute is not None and rotation_minute in minutes
        findings.append(
            DELETION_JOB.finding(
                host,
                observed="%s (%s): %r deletes in one go%s%s"
                % (
                    job["where"],
                    job["when"],
                    job["deletes"],
                    "; in the rotation's minute %s" % _hhmm(rotation_minute) if clash else "",
                    "; during peak hours %s" % peak[0] if peak else "",
                ),
                expected="deletion in batches with pauses, in a slot of its own outside peak hours",
                fix="Replace it with the logrotate_schedule role's prune job (logrotate_schedule_prune, "
                "logrotate_schedule_prune_replaces).",
                evidence=job,
                severity="error" if clash or peak else None,
            )
        )
    return findings


def check_io_priority(host, evidence, policy):
    section = _section(evidence)
    if not section:
        return []
    io = section.get("io") or {}
    scheduler = io.get("scheduler")
    if scheduler in (None, "bfq"):
        return []  # BFQ honours priorities; without a block device there is nothing to say
    relied = []
    service = _service(section, "logrotate.service") or {}
    if service.get("IOSchedulingClass") in ("3", "idle") or "IOSchedulingClass" in "".join(
        (record.get("text") or "") for record in ((section.get("systemd") or {}).get("unit_files") or {}).values()
    ):
        relied.append("logrotate.service IOSchedulingClass=%s" % service.get("IOSchedulingClass"))
    for job in deletion_jobs(section):
        if "ionice" in job["command"]:
            relied.append("%s: %s" % (job["where"], job["command"]))
    if not relied:
        return []
    return [
        IGNORED_PRIORITY.finding(
            host,
            observed="%s on %s (%s) whose scheduler is %s: %s"
            % (io.get("path"), io.get("block") or io.get("device"), io.get("device"), scheduler, "; ".join(relied)),
            expected="pauses between deletion batches, or the bfq scheduler where I/O priority is relied on",
            fix="Throttle deletion with pauses (the prune job does), or switch the device to bfq.",
            evidence={"io": io, "relied": relied},
        )
    ]


def check_copytruncate(host, evidence, policy):
    section = _section(evidence)
    if not section or not section.get("config"):
        return []
    sizes = dict((record["path"], record["size"]) for record in (section.get("logs") or {}).get("live") or [])
    findings = []
    for block in live_blocks(load_model(section)):
        if not block["settings"].get("copytruncate"):
            continue
        large = [
            (path, sizes[path])
            for path in block["matches"]
            if sizes.get(path, 0) > policy["logrotate_copytruncate_bytes_max"]
        ]
        if large:
            findings.append(
                COPYTRUNCATE.finding(
                    host,
                    observed="%s: copytruncate on %s"
                    % (_block_where(block), ", ".join("%s (%s)" % (path, _human(size)) for path, size in large)),
                    expected="copytruncate only on logs under %s" % _human(policy["logrotate_copytruncate_bytes_max"]),
                    fix="Drop copytruncate and signal the writer to reopen its log (USR1) in postrotate.",
                    evidence={"block": _block_where(block), "large": large},
                )
            )
    return findings


def _signals(section):
    if not section or not section.get("config"):
        return []
    return [dict(signal, block=block) for block in live_blocks(load_model(section)) for signal in block["signals"]]


def control_timeout_seconds(value):
    """php-fpm's process_control_timeout (30, 30s, 1m) in seconds; None when unreadable."""
    match = re.match(r"^(\d+)\s*([smhd]?)$", value or "")
    if not match:
        return None
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def check_php_fpm(host, evidence, policy):
    section = _section(evidence)
    signals = [signal for signal in _signals(section) if signal["daemon"] == "php-fpm"]
    findings = []
    usr1 = [signal for signal in signals if signal["action"] == "usr1"]
    reloads = [signal for signal in signals if signal["action"] == "reload"]
    if usr1:
        for pool in _pools(evidence):
            access = (pool.get("settings") or {}).get("access.log")
            if access and access != "undefined":
                findings.append(
                    ACCESS_LOG_USR1.finding(
                        host,
                        observed="pool %s sets access.log = %s; %s:%d sends USR1 on rotation"
                        % (pool.get("name"), access, usr1[0]["block"]["file"], usr1[0]["line"]),
                        expected="no access.log in the pool (nginx logs requests), or a rotation that does not signal",
                        fix="Log requests in nginx and unset access.log, or accept a respawn of every worker per "
                        "rotation in a slot where the pool has spare capacity.",
                        evidence={"pool": pool.get("name"), "access.log": access},
                    )
                )
    if reloads:
        for settings in _php_globals(evidence):
            value = (settings.get("process_control_timeout") or "0").strip()
            if control_timeout_seconds(value) == 0:
                findings.append(
                    NO_CONTROL_TIMEOUT.finding(
                        host,
                        observed="process_control_timeout = %s and %s:%d reloads php-fpm (%r)"
                        % (value or "0", reloads[0]["block"]["file"], reloads[0]["line"], reloads[0]["command"]),
                        expected="no reload on rotation; where php-fpm is reloaded, process_control_timeout at least "
                        "the longest request",
                        fix="Replace the reload with USR1 (logrotate_schedule) and set process_control_timeout = 30s "
                        "in php-fpm.conf's [global].",
                        evidence={"process_control_timeout": value, "reload": reloads[0]["command"]},
                    )
                )
    return findings


def check_stale(host, evidence, policy):
    section = _section(evidence)
    if not section or not section.get("config") or not section.get("state") or not section["state"].get("text"):
        return []
    entries, _errors = _model.parse_state(section["state"]["text"])
    now = section.get("now") or 0
    sizes = dict((record["path"], record["size"]) for record in (section.get("logs") or {}).get("live") or [])
    findings = []
    for block in live_blocks(load_model(section)):
        period = _model.PERIOD_DAYS.get(block["settings"].get("frequency") or "daily")
        limit = (period + policy["logrotate_stale_grace_days"]) * 86400
        stale = [
            (path, entries[path])
            for path in block["matches"]
            if path in entries and now - entries[path] > limit and (sizes.get(path) or block["settings"].get("ifempty"))
        ]
        if stale:
            path, last = stale[0]
            findings.append(
                NOT_ROTATING.finding(
                    host,
                    observed="%s (%s): %s last rotated %.1f days ago per %s%s"
                    % (
                        _block_where(block),
                        block["settings"].get("frequency") or "daily",
                        path,
                        (now - last) / 86400.0,
                        section["state"].get("path"),
                        " (and %d more)" % (len(stale) - 1) if len(stale) > 1 else "",
                    ),
                    expected="rotated within %.0f days" % (limit / 86400.0),
                    fix="Check that logrotate.timer is active and that logrotate.service succeeds "
                    "(journalctl -u logrotate).",
                    evidence={"stale": stale},
                )
            )
    return findings


def check_schedule_errors(host, evidence, policy):
    section = _section(evidence)
    if not section:
        return []
    _jobs, errors = _cron_jobs(section)
    for timer in ((section.get("systemd") or {}).get("timers")) or []:
        # systemd refuses a timer with a bad OnCalendar= (LoadState=bad-setting): it never fires.
        if timer.get("LoadState") not in (None, "loaded", "masked", "not-found"):
            errors.append(
                {
                    "file": timer.get("FragmentPath") or timer.get("Id"),
                    "line": None,
                    "message": "%s does not load (LoadState=%s)" % (timer.get("Id"), timer.get("LoadState")),
                }
            )
    return [
        SCHEDULE_ERROR.finding(
            host,
            observed="%s: %s"
            % ("%s:%d" % (error["file"], error["line"]) if error["line"] else error["file"], error["message"]),
            expected="a valid cron line or timer",
            fix="Fix or remove it; cron ignores the line and systemd never starts the timer.",
            evidence=error,
        )
        for error in errors
    ]


CHECKS = (
    check_schedule,
    check_config,
    check_scripts,
    check_deletion,
    check_io_priority,
    check_copytruncate,
    check_php_fpm,
    check_stale,
    check_schedule_errors,
)


# -- fleet checks


def _capacity(evidence):
    total = 0
    for pool in _pools(evidence):
        try:
            total += int((pool.get("settings") or {}).get("pm.max_children"))
        except (TypeError, ValueError):
            continue
    return total or 1


def pools_of(fleet):
    """{label: [host names]}: each inventory group, and the backend hosts behind each nginx upstream."""
    pools = dict(("group %s" % group, names) for group, names in fleet.groups().items() if len(names) > 1)
    upstreams = {}
    for link in fleet.links:
        if link.backend_host:
            key = "upstream %s on %s" % (link.upstream or link.target, link.nginx_host)
            upstreams.setdefault(key, set()).add(link.backend_host)
    for key, names in upstreams.items():
        if len(names) > 1:
            pools[key] = sorted(names)
    return pools


def _host_activities(host):
    """[(minute, what)] this host rotates or deletes at, fixed minutes only."""
    section = _section(host.evidence) if host.gathered else None
    if not section or not section.get("binary"):
        return []
    found = []
    when = schedule(section)
    if when and when.get("minute") is not None:
        found.append((when["minute"], "rotates (%s)" % when["label"]))
    for job in deletion_jobs(section):
        for minute in job["minutes"] or []:
            if not (when and when.get("minute") == minute):
                found.append((minute, "deletes (%s)" % job["where"]))
    return found


def check_fleet_minutes(fleet, policy):
    findings = []
    seen = set()
    for label, names in sorted(pools_of(fleet).items()):
        hosts = [fleet.hosts[name] for name in names if name in fleet.hosts]
        by_minute = {}
        for host in hosts:
            for minute, what in _host_activities(host):
                by_minute.setdefault(minute, {}).setdefault(host.name, what)
        capacity = dict((host.name, _capacity(host.evidence)) for host in hosts)
        total = sum(capacity.values())
        for minute, members in sorted(by_minute.items()):
            if len(members) < 2:
                continue
            key = (minute, tuple(sorted(members)))
            if key in seen:
                continue
            seen.add(key)
            share = sum(capacity[name] for name in members) / float(total)
            findings.append(
                FLEET_SAME_MINUTE.finding(
                    sorted(members)[0],
                    observed="%d of %d hosts of %s act at %s: %s; %.0f%% of the pool's capacity stalls at once"
                    % (
                        len(members),
                        len(hosts),
                        label,
                        _hhmm(minute),
                        "; ".join("%s %s" % (name, what) for name, what in sorted(members.items())),
                        share * 100,
                    ),
                    expected="each host of the pool in its own minute",
                    fix="Apply the logrotate_schedule role to the group: a slot per host, unique within the pool.",
                    evidence={
                        "pool": label,
                        "minute": minute,
                        "hosts": sorted(members),
                        "capacity_share": round(share, 3),
                    },
                )
            )
    return findings


def check_machine_id_clones(fleet, policy):
    by_hash = {}
    for name, host in sorted(fleet.hosts.items()):
        section = _section(host.evidence) if host.gathered else None
        if section and section.get("machine_id_sha256"):
            by_hash.setdefault(section["machine_id_sha256"], []).append(name)
    findings = []
    for digest, names in sorted(by_hash.items()):
        if len(names) < 2:
            continue
        fixed = [name for name in names if (schedule(_section(fleet.hosts[name].evidence)) or {}).get("fixed_random")]
        findings.append(
            MACHINE_ID_CLONE.finding(
                names[0],
                observed="%s share one /etc/machine-id (sha256 %s...)%s"
                % (
                    ", ".join(names),
                    digest[:12],
                    "; FixedRandomDelay is on for %s" % ", ".join(fixed) if fixed else "",
                ),
                expected="a machine-id of its own per host",
                fix="On each clone: truncate /etc/machine-id and run systemd-machine-id-setup (then reboot).",
                evidence={"hosts": names, "fixed_random_delay": fixed},
                severity="error" if fixed else None,
            )
        )
    return findings


FLEET_CHECKS = (check_fleet_minutes, check_machine_id_clones)

CONCERN = Concern(
    "logrotate",
    "log rotation scheduling",
    rules=DEFINITIONS,
    policy=POLICY,
    checks=CHECKS,
    fleet_checks=FLEET_CHECKS,
    doc=(
        "When logrotate runs on each host and across the fleet, what its scripts signal, and what it and\n"
        "other scheduled jobs delete. Evidence: the `logrotate` section (timers and services from\n"
        "`systemctl show`, crontabs, logrotate's files as text, the state file, rotated copies on disk,\n"
        "the I/O scheduler under /var/log, a hash of /etc/machine-id), and the `php_fpm` section.\n"
    ),
)
