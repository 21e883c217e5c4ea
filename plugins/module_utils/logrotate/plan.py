# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the logrotate_schedule role writes, planned from the parsed evidence (controller side).

Pure functions: a per-host slot unique within its pool, the logrotate.timer
drop-in (or a cron line), a managed stanza that takes over blocks whose
scripts reload or restart php-fpm/nginx (USR1 instead, sharedscripts), the
prune job's units and configuration, and the deletion cron lines it replaces
(commented out, never deleted). A configuration that did not parse in full is
refused, never written over.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import re

from ansible_collections.acceptq.remediation.plugins.module_utils.logrotate import model as _model

DROPIN = "/etc/systemd/system/logrotate.timer.d/acceptq-slot.conf"
CRON_FILE = "/etc/cron.d/acceptq-logrotate"
STANZA = "/etc/logrotate.d/00-acceptq"
PRUNE_CONFIG = "/etc/acceptq/prune.json"
PRUNE_SCRIPT = "/usr/local/lib/acceptq/acceptq_prune.py"
PRUNE_SERVICE = "/etc/systemd/system/acceptq-prune.service"
PRUNE_TIMER = "/etc/systemd/system/acceptq-prune.timer"
HEADER = "# Managed by acceptq (role logrotate_schedule); edits are overwritten.\n"


class PlanError(Exception):
    """The plan cannot be made; the message says why."""


def parse_hhmm(text):
    match = re.match(r"^(\d\d?):(\d\d)$", str(text).strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise PlanError("%r is not a time of day HH:MM" % (text,))
    return int(match.group(1)) * 60 + int(match.group(2))


def hhmm(minute):
    minute %= 1440
    return "%02d:%02d" % (minute // 60, minute % 60)


def _digest(*parts):
    return int(hashlib.sha256(":".join(str(part) for part in parts).encode("utf-8")).hexdigest(), 16)


def slots(members, window_start, window_end, seed, prune_delay=None):
    """{host: (rotation minute, prune minute or None)}: deterministic, unique within the pool.

    Hosts take turns in an order drawn from the seed; each starts at its own
    hashed minute of the window and moves on to the next free one, so a slot
    depends only on the seed and the members, never on the run. Rotation and
    prune minutes of one pool never coincide.
    """
    start, end = parse_hhmm(window_start), parse_hhmm(window_end)
    width = (end - start) % 1440 or 1440
    members = sorted(set(members))
    if len(members) > width:
        raise PlanError(
            "the window %s-%s has %d minutes for %d hosts of the pool" % (window_start, window_end, width, len(members))
        )
    taken, found = set(), {}
    for host in sorted(members, key=lambda name: _digest(seed, name, "order")):
        offset = _digest(seed, name_key(host)) % width
        for step in range(width):
            minute = (start + (offset + step) % width) % 1440
            prune = (minute + prune_delay) % 1440 if prune_delay is not None else None
            if minute in taken or (prune is not None and (prune in taken or prune == minute)):
                continue
            taken.add(minute)
            if prune is not None:
                taken.add(prune)
            found[host] = (minute, prune)
            break
        else:
            raise PlanError(
                "no free minute left in %s-%s for %s (%d hosts, rotation and prune slots)"
                % (window_start, window_end, host, len(members))
            )
    return found


def name_key(host):
    return "slot:%s" % host


def dropin_text(minute, label):
    return (
        HEADER + "# %s\n"
        "# OnCalendar= is reset so that only this slot fires; AccuracySec=1s keeps systemd from\n"
        "# coalescing it with other timers, and no random delay moves it.\n"
        "[Timer]\n"
        "OnCalendar=\n"
        "OnCalendar=*-*-* %s:00\n"
        "AccuracySec=1s\n"
        "RandomizedDelaySec=0\n" % (label, hhmm(minute))
    )


def cron_text(minute, label, binary, conf):
    return HEADER + "# %s\n%d %d * * * root test -x %s && %s %s\n" % (
        label,
        minute % 60,
        minute // 60,
        binary,
        binary,
        conf,
    )


def version_tuple(text):
    return tuple(int(part) for part in re.findall(r"\d+", text or "")[:3]) or (0,)


def _usr1(daemon, signal, reopen_scripts):
    """The USR1 command for a daemon a script reloaded or restarted; None when unknown."""
    if daemon == "nginx":
        return "invoke-rc.d nginx rotate >/dev/null 2>&1"
    version = re.search(r"php(\d+\.\d+)", signal["command"])
    wanted = "/usr/lib/php/php%s-fpm-reopenlogs" % version.group(1) if version else None
    if wanted in reopen_scripts:
        return wanted
    if not version and len(reopen_scripts) == 1:
        return reopen_scripts[0]
    return None


def block_fix(block, reopen_scripts):
    """(new script lines by script name, needs sharedscripts, reasons) for one block, or raises PlanError."""
    disruptive = [signal for signal in block["signals"] if signal["action"] in ("reload", "restart")]
    multi = len(block["patterns"]) > 1 or any(c in "".join(block["patterns"]) for c in "*?[")
    unshared = bool(block["signals"]) and multi and not block["settings"].get("sharedscripts")
    if not disruptive and not unshared:
        return None
    replaced = {}
    reasons = []
    for signal in disruptive:
        command = _usr1(signal["daemon"], signal, reopen_scripts)
        if command is None:
            raise PlanError(
                "%s:%d: %r %ss %s and no packaged reopen script matches it (found: %s)"
                % (
                    block["file"],
                    signal["line"],
                    signal["command"],
                    signal["action"],
                    signal["daemon"],
                    ", ".join(reopen_scripts) or "none",
                )
            )
        replaced[signal["line"]] = command
        reasons.append(
            "%s:%d %s of %s -> USR1 (%s)" % (block["file"], signal["line"], signal["action"], signal["daemon"], command)
        )
    if unshared:
        reasons.append("%s:%d signals once per file -> sharedscripts" % (block["file"], block["line"]))
    scripts = {}
    for name, script in block["scripts"].items():
        lines = []
        for number, raw in script["lines"]:
            if number in replaced:
                indent = raw[: len(raw) - len(raw.lstrip())]
                lines.append(indent + replaced[number])
            else:
                lines.append(raw)
        scripts[name] = lines
    return {"scripts": scripts, "sharedscripts": multi, "reasons": reasons}


def _quote(pattern):
    return '"%s"' % pattern if any(c.isspace() for c in pattern) else pattern


def stanza_block(block, fix):
    """A copy of the block for the managed file: first, ignoreduplicates, USR1, sharedscripts."""
    lines = [
        "# Takes over %s:%d (%s)." % (block["file"], block["line"], "; ".join(fix["reasons"])),
        "%s {" % " ".join(_quote(pattern) for pattern in block["patterns"]),
        "\tignoreduplicates",
    ]
    names = [directive["name"] for directive in block["directives"]]
    if not any(name in _model.FREQUENCIES for name in names) and block["settings"].get("frequency"):
        lines.append("\t%s" % block["settings"]["frequency"])
    if "rotate" not in names:
        lines.append("\trotate %d" % (block["settings"].get("rotate") or 0))
    for directive in block["directives"]:
        if directive["name"] in ("sharedscripts", "nosharedscripts", "ignoreduplicates"):
            continue
        lines.append(("\t%s %s" % (directive["name"], directive["value"])).rstrip())
    if fix["sharedscripts"] or block["settings"].get("sharedscripts"):
        lines.append("\tsharedscripts")
    for name in sorted(fix["scripts"]):
        lines.append("\t%s" % name)
        lines.extend(fix["scripts"][name])
        lines.append("\tendscript")
    lines.append("}")
    return "\n".join(lines) + "\n"


def edit_in_place(text, block, fix):
    """For logrotate < 3.21 (no ignoreduplicates): the block's file with the fix at its lines."""
    lines = text.split("\n")
    for name, script in block["scripts"].items():
        for (number, _raw), new in zip(script["lines"], fix["scripts"][name]):
            lines[number - 1] = new
    if fix["sharedscripts"] and not block["settings"].get("sharedscripts"):
        lines.insert(block["open_line"], "\tsharedscripts")
    return "\n".join(lines)


def prune_units(minute, label, scheduler, python="/usr/bin/python3"):
    idle = "IOSchedulingClass=idle\n" if scheduler == "bfq" else ""
    service = (
        HEADER + "# %s\n"
        "[Unit]\n"
        "Description=acceptq: throttled deletion of old rotated logs\n"
        "Documentation=https://github.com/acceptq/acceptq\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        "ExecStart=%s %s %s\n"
        "Nice=19\n"
        "%s" % (label, python, PRUNE_SCRIPT, PRUNE_CONFIG, idle)
    )
    timer = (
        HEADER + "# %s\n"
        "[Unit]\n"
        "Description=acceptq: throttled deletion of old rotated logs, after rotation\n"
        "\n"
        "[Timer]\n"
        "OnCalendar=*-*-* %s:00\n"
        "AccuracySec=1s\n"
        "RandomizedDelaySec=0\n"
        "\n"
        "[Install]\n"
        "WantedBy=timers.target\n" % (label, hhmm(minute))
    )
    return service, timer


def prune_config(targets, batch, pause_ms):
    return json.dumps({"targets": targets, "batch": batch, "pause_ms": pause_ms}, indent=2, sort_keys=True) + "\n"


def disable_deletion_lines(path, text):
    """A cron file with its deletion lines commented out; (new text, lines disabled)."""
    out, disabled = [], []
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and _model.deletion_command(stripped):
            out.append("# disabled by acceptq (logrotate_schedule, replaced by acceptq-prune.timer): " + line)
            disabled.append("%s:%d" % (path, number))
        else:
            out.append(line)
    return "\n".join(out), disabled


def plan(host, section, model, options, disk):
    """{files: [{path, content, reason}], slot, prune_slot, refused, notes}.

    options: pool, members, window_start, window_end, seed, prune (targets),
    prune_delay_minutes, prune_batch, prune_pause_ms, prune_replaces, manage_signals.
    disk: {path: text} of the files as read back now (missing files absent).
    """
    result = {"files": [], "refused": [], "notes": [], "slot": None, "prune_slot": None, "daemon_reload": False}
    if not section or not section.get("binary"):
        result["refused"].append({"file": None, "message": "logrotate is not installed"})
        return result
    if not model["complete"]:
        for error in model["errors"]:
            result["refused"].append(dict(error, message="does not parse in full: %s" % error["message"]))
        return result
    members = list(options.get("members") or []) or [host]
    if host not in members:
        members.append(host)
    prune = options.get("prune") or []
    delay = options.get("prune_delay_minutes") if prune else None
    table = slots(
        members, options["window_start"], options["window_end"], options.get("seed") or options["pool"], delay
    )
    minute, prune_minute = table[host]
    result["slot"], result["prune_slot"] = hhmm(minute), hhmm(prune_minute) if prune_minute is not None else None
    label = "slot %s in %s-%s for pool %s (%d host(s))" % (
        hhmm(minute),
        options["window_start"],
        options["window_end"],
        options["pool"],
        len(set(members)),
    )

    def write(path, content, reason):
        if disk.get(path) != content:
            result["files"].append({"path": path, "content": content, "reason": reason})

    if section.get("service_manager") == "systemd":
        write(DROPIN, dropin_text(minute, label), "logrotate.timer at %s" % hhmm(minute))
        result["daemon_reload"] = True
    else:
        write(CRON_FILE, cron_text(minute, label, section["binary"], model["main"]), "cron at %s" % hhmm(minute))
        if "/etc/cron.daily/logrotate" in ((section.get("cron") or {}).get("files") or {}):
            result["notes"].append(
                "/etc/cron.daily/logrotate still runs logrotate daily through run-parts; remove or divert it "
                "(dpkg-divert) so that only the slot runs it"
            )
    if options.get("manage_signals", True):
        fixes = []
        for block in model["blocks"]:
            if block["file"] == STANZA:
                continue
            try:
                fix = block_fix(block, section.get("reopen_scripts") or [])
            except PlanError as exc:
                result["refused"].append({"file": block["file"], "line": block["line"], "message": str(exc)})
                continue
            if fix:
                fixes.append((block, fix))
        if version_tuple(section.get("version")) >= (3, 21):
            text = "".join(stanza_block(block, fix) for block, fix in fixes)
            if fixes or STANZA in disk:
                write(
                    STANZA, (HEADER + text) if text else HEADER, "; ".join(r for _b, f in fixes for r in f["reasons"])
                )
        else:
            by_file = {}
            for block, fix in fixes:
                by_file.setdefault(block["file"], []).append((block, fix))
            for path, items in sorted(by_file.items()):
                if path not in disk:
                    result["refused"].append({"file": path, "message": "cannot be read back to edit"})
                    continue
                text = disk[path]
                # From the bottom up, so that an inserted line does not move the next block's lines.
                for block, fix in sorted(items, key=lambda item: -item[0]["line"]):
                    text = edit_in_place(text, block, fix)
                write(path, text, "; ".join(r for _b, f in items for r in f["reasons"]))
    if prune:
        service, timer = prune_units(prune_minute, label, (section.get("io") or {}).get("scheduler"))
        write(
            PRUNE_CONFIG,
            prune_config(prune, options.get("prune_batch"), options.get("prune_pause_ms")),
            "prune targets",
        )
        write(PRUNE_SERVICE, service, "prune job")
        write(PRUNE_TIMER, timer, "prune job at %s" % hhmm(prune_minute))
        result["daemon_reload"] = True
        for path in options.get("prune_replaces") or []:
            if path not in disk:
                result["refused"].append({"file": path, "message": "listed in prune_replaces but cannot be read"})
                continue
            text, disabled = disable_deletion_lines(path, disk[path])
            if disabled:
                write(path, text, "replaced by the prune job: %s" % ", ".join(disabled))
            elif "acceptq-prune" not in disk[path] and "disabled by acceptq" not in disk[path]:
                result["refused"].append(
                    {"file": path, "message": "listed in prune_replaces but holds no deletion line"}
                )
    return result
