# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""logrotate's configuration, parsed on the controller with file:line.

Controller side. It accepts what logrotate 3.21 accepts and records, beside
logrotate's own complaints (``error:`` lines), what ``logrotate -d`` lets pass
with exit status 0: an unknown directive (logged and ignored), a block whose
closing brace is missing (nothing logged at all), an endscript that never
comes. A model with any such entry is not ``complete``, and the remediation
refuses to write over it.

Also here: which signals a script sends (reload, restart, USR1...) to which
daemon, cron lines and ``systemctl show`` values, each as data for the rules.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import re

from ansible_collections.acceptq.remediation.plugins.module_utils.logrotate.collect import SCRIPT_STARTS

FREQUENCIES = ("hourly", "daily", "weekly", "monthly", "yearly")
PERIOD_DAYS = {"hourly": 1.0 / 24, "daily": 1, "weekly": 7, "monthly": 31, "yearly": 366}
# Directive -> the setting it turns on (True) or off (False).
FLAGS = {
    "compress": ("compress", True),
    "nocompress": ("compress", False),
    "copy": ("copy", True),
    "nocopy": ("copy", False),
    "copytruncate": ("copytruncate", True),
    "nocopytruncate": ("copytruncate", False),
    "nocreate": ("create", False),
    "createolddir": ("createolddir", True),
    "nocreateolddir": ("createolddir", False),
    "dateext": ("dateext", True),
    "nodateext": ("dateext", False),
    "dateyesterday": ("dateyesterday", True),
    "datehourago": ("datehourago", True),
    "delaycompress": ("delaycompress", True),
    "nodelaycompress": ("delaycompress", False),
    "ifempty": ("ifempty", True),
    "notifempty": ("ifempty", False),
    "missingok": ("missingok", True),
    "nomissingok": ("missingok", False),
    "nomail": ("mail", None),
    "mailfirst": ("mailfirst", True),
    "maillast": ("mailfirst", False),
    "noolddir": ("olddir", None),
    "sharedscripts": ("sharedscripts", True),
    "nosharedscripts": ("sharedscripts", False),
    "shred": ("shred", True),
    "noshred": ("shred", False),
    "renamecopy": ("renamecopy", True),
    "norenamecopy": ("renamecopy", False),
    "allowhardlink": ("allowhardlink", True),
    "noallowhardlink": ("allowhardlink", False),
    "ignoreduplicates": ("ignoreduplicates", True),
}
INTEGERS = ("rotate", "maxage", "minage", "start", "shredcycles")
SIZES = ("size", "minsize", "maxsize")
VALUED = (
    "create",
    "compresscmd",
    "uncompresscmd",
    "compressext",
    "compressoptions",
    "dateformat",
    "extension",
    "addextension",
    "mail",
    "olddir",
    "su",
    "tabooext",
    "taboopat",
)
KNOWN = set(FLAGS) | set(INTEGERS) | set(SIZES) | set(VALUED) | set(FREQUENCIES) | set(SCRIPT_STARTS)
KNOWN |= set(["include", "endscript"])
DEFAULTS = {
    "frequency": None,  # logrotate's own default: rotate whenever run (daily under the stock timer)
    "rotate": 0,
    "maxage": None,
    "compress": False,
    "copytruncate": False,
    "sharedscripts": False,
    "ignoreduplicates": False,
    "ifempty": True,
    "missingok": False,
    "dateext": False,
    "olddir": None,
    "size": None,
}
_SIZE = re.compile(r"^\+?(\d+)([kKmMgG]?)$")


def parse_size(value):
    """logrotate's size argument (100, 100k, 10M, 1G) in bytes; None when it is not one."""
    match = _SIZE.match(value or "")
    if not match:
        return None
    return int(match.group(1)) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match.group(2).lower()]


def _tokens(text):
    """Split like logrotate: whitespace, with double- or single-quoted words."""
    tokens, current, quote = [], "", None
    for char in text:
        if quote:
            if char == quote:
                quote = None
            else:
                current += char
        elif char in "\"'":
            quote = char
        elif char.isspace():
            if current:
                tokens.append(current)
            current = ""
        else:
            current += char
    if current:
        tokens.append(current)
    return tokens, quote is not None


class _Parser(object):
    def __init__(self, files, includes):
        self.files = files
        self.includes = dict(((entry["file"], entry["line"]), entry) for entry in includes or ())
        self.settings = dict(DEFAULTS)
        self.globals = {}
        self.blocks = []
        self.errors = []
        self.read = []
        self.stack = []

    def error(self, path, line, message, accepted):
        """accepted: logrotate -d exits 0 on it (whether or not it prints an error line)."""
        self.errors.append({"file": path, "line": line, "message": message, "accepted": accepted})

    def parse_file(self, path):
        if path in self.stack:
            self.error(path, None, "included from itself (%s)" % " -> ".join(self.stack + [path]), False)
            return
        record = self.files.get(path)
        if record is None or record.get("text") is None:
            message = (record or {}).get("error") or "not read on the host"
            self.error(path, None, "cannot read: %s" % message, False)
            return
        if record.get("truncated"):
            self.error(path, None, "larger than the evidence bounds: only its start was read", False)
        self.read.append(path)
        self.stack.append(path)
        try:
            self._parse_text(path, record["text"])
        finally:
            self.stack.pop()

    def _apply(self, target, name, args, path, number):
        """One directive into a settings dict; False when logrotate would reject it."""
        if name in FLAGS:
            key, value = FLAGS[name]
            target[key] = value
        elif name in FREQUENCIES:
            target["frequency"] = name
        elif name in INTEGERS:
            if len(args) != 1 or not re.match(r"^-?\d+$", args[0]):
                self.error(path, number, "%s needs one integer, got %r" % (name, " ".join(args)), False)
                return False
            target[name] = int(args[0])
        elif name in SIZES:
            size = parse_size(args[0] if len(args) == 1 else "")
            if size is None:
                self.error(path, number, "%s needs a size (100k, 10M, 1G), got %r" % (name, " ".join(args)), False)
                return False
            target[name] = size
        elif name == "create":
            target["create"] = " ".join(args) or True
        elif name in VALUED:
            if not args:
                self.error(path, number, "%s needs a value" % name, False)
                return False
            target[name] = " ".join(args)
        return True

    def _parse_text(self, path, text):
        block = None
        script = None
        pending = None  # patterns read on lines before the '{'
        lines = text.splitlines()
        for number, raw in enumerate(lines, 1):
            stripped = raw.strip()
            if script is not None:
                if stripped.split(None, 1)[:1] == ["endscript"]:
                    script["end_line"] = number
                    script = None
                else:
                    script["lines"].append((number, raw))
                continue
            if not stripped or stripped.startswith("#"):
                continue
            if block is None and (pending is not None or stripped[0] in "/\"'" or stripped.endswith("{")):
                opens = stripped.endswith("{")
                tokens, open_quote = _tokens(stripped[:-1] if opens else stripped)
                if open_quote:
                    self.error(path, number, "unterminated quote", False)
                    pending = None
                    continue
                if pending is None:
                    pending = {"line": number, "patterns": []}
                pending["patterns"].extend(tokens)
                if "{" in "".join(tokens) or "}" in "".join(tokens):
                    self.error(path, number, "stray brace in %r" % stripped, False)
                if opens:
                    if not pending["patterns"]:
                        self.error(path, number, "a block without a log file pattern", False)
                    block = {
                        "file": path,
                        "line": pending["line"],
                        "open_line": number,
                        "end_line": None,
                        "patterns": pending["patterns"],
                        "directives": [],
                        "scripts": {},
                        "settings": dict(self.settings),
                    }
                    pending = None
                continue
            if stripped == "}":
                if block is None:
                    self.error(path, number, "unexpected } outside a block", False)
                    continue
                block["end_line"] = number
                self.blocks.append(block)
                block = None
                continue
            fields = stripped.split(None, 1)
            name = fields[0].lower()
            args, _open_quote = _tokens(fields[1]) if len(fields) > 1 else ([], False)
            if name in SCRIPT_STARTS:
                if block is None:
                    self.error(path, number, "%s outside a block" % name, False)
                    script = {"line": number, "lines": [], "end_line": None}
                    continue
                script = {"line": number, "lines": [], "end_line": None}
                block["scripts"][name] = script
                continue
            if name == "endscript":
                self.error(path, number, "endscript without a script", False)
                continue
            if name not in KNOWN:
                # logrotate prints "error: FILE:LINE unknown option" yet exits 0.
                self.error(path, number, "unknown option %r -- logrotate ignores the line" % name, True)
                continue
            if name == "include":
                if block is not None:
                    self.error(path, number, "include inside a block", False)
                    continue
                self._include(path, number, args)
                continue
            target = block["settings"] if block is not None else self.settings
            if self._apply(target, name, args, path, number):
                entry = {"name": name, "value": " ".join(args), "line": number}
                if block is not None:
                    block["directives"].append(entry)
                else:
                    self.globals[name] = dict(entry, file=path)
        if script is not None:
            self.error(path, script["line"], "script never ends: endscript missing", True)
        if block is not None:
            self.error(
                path,
                block["line"],
                "block for %s never closed: '}' missing (logrotate -d prints nothing)" % " ".join(block["patterns"]),
                True,
            )
            block["end_line"] = len(lines)
            block["unterminated"] = True
            self.blocks.append(block)
        if pending is not None:
            self.error(path, pending["line"], "log file pattern without a block", False)

    def _include(self, path, number, args):
        entry = self.includes.get((path, number))
        if entry is None or not args:
            self.error(path, number, "include %s was not followed on the host" % " ".join(args), False)
            return
        if entry["kind"] == "missing":
            self.error(path, number, "include %s: no such file or directory" % entry["target"], False)
            return
        if entry.get("error"):
            self.error(path, number, "include %s: %s" % (entry["target"], entry["error"]), False)
        for included in entry["files"]:
            self.parse_file(included)


def glob_match(pattern, path):
    """glob(3) semantics: a wildcard never crosses '/'."""
    parts, names = pattern.split("/"), path.split("/")
    return len(parts) == len(names) and all(fnmatch.fnmatchcase(name, part) for name, part in zip(names, parts))


def parse(section):
    """The model of a host's logrotate configuration from its evidence section."""
    config = section.get("config") or {}
    parser = _Parser(section.get("files") or {}, config.get("includes"))
    if config.get("main"):
        parser.parse_file(config["main"])
    live = [record["path"] for record in (section.get("logs") or {}).get("live", [])]
    _duplicates(parser, live)
    for block in parser.blocks:
        for script in block["scripts"].values():
            script["text"] = "\n".join(raw for _number, raw in script["lines"])
            script["actions"] = script_actions(script["lines"])
        block["signals"] = [
            dict(action, script=name) for name, script in block["scripts"].items() for action in script["actions"]
        ]
        block["matches"] = sorted(path for path in live if any(glob_match(p, path) for p in block["patterns"]))
    return {
        "main": config.get("main"),
        "files": parser.read,
        "globals": parser.globals,
        "settings": parser.settings,
        "blocks": parser.blocks,
        "errors": parser.errors,
        "complete": not parser.errors,
    }


def _duplicates(parser, live):
    """logrotate refuses a second block for the same log: an error and exit 1, every night.

    Where the first block says ignoreduplicates, logrotate skips the later
    entries instead; a block left with nothing of its own is marked
    ``superseded_by`` that block (its scripts never run), which is how a
    managed stanza that sorts first takes a package's stanza over.
    """
    owner = {}
    for block in parser.blocks:
        names = set(pattern for pattern in block["patterns"] if not any(c in pattern for c in "*?["))
        names |= set(path for path in live if any(glob_match(pattern, path) for pattern in block["patterns"]))
        ignored_by = set()
        for name in sorted(names):
            first = owner.get(name)
            if first is None:
                owner[name] = block
            elif first["settings"].get("ignoreduplicates"):
                ignored_by.add((first["file"], first["line"]))
            else:
                parser.error(
                    block["file"],
                    block["line"],
                    "duplicate log entry for %s (first at %s:%d): logrotate skips the rest of this file and "
                    "exits 1" % (name, first["file"], first["line"]),
                    False,
                )
                block.setdefault("duplicates", []).append(name)
        # With no log on disk yet, the same patterns under an earlier ignoreduplicates block tell.
        if not names:
            earlier = [owner.get(("pattern", pattern)) for pattern in block["patterns"]]
            if earlier and all(first is not None and first["settings"].get("ignoreduplicates") for first in earlier):
                ignored_by.update((first["file"], first["line"]) for first in earlier)
        for pattern in block["patterns"]:
            owner.setdefault(("pattern", pattern), block)
        if ignored_by and all(owner.get(name) is not block for name in names):
            block["superseded_by"] = "%s:%d" % sorted(ignored_by)[0]


# What a script does to a daemon. A reload or restart of php-fpm kills requests in flight
# (USR2 with process_control_timeout = 0) or resets the queue; USR1 only reopens logs.
_DAEMON = r"(?P<unit>[\w@.-]*(?:php[\w.-]*fpm|nginx)[\w@.-]*)"
_ACTIONS = (
    (
        re.compile(
            r"\bsystemctl\s+(?:-\S+\s+)*(?P<verb>reload|restart|try-restart|reload-or-restart|"
            r"try-reload-or-restart|force-reload|kill)\s+(?:-\S+\s+)*" + _DAEMON
        ),
        None,
    ),
    (re.compile(r"\b(?:service|invoke-rc\.d)\s+" + _DAEMON + r"\s+(?P<verb>reload|restart|force-reload|rotate)"), None),
    (re.compile(r"/etc/init\.d/" + _DAEMON + r"\s+(?P<verb>reload|restart|force-reload|rotate)"), None),
    (re.compile(r"\b(?P<unit>nginx)\s+-s\s+(?P<verb>reload|reopen|stop|quit)"), None),
    (re.compile(r"(?P<unit>php[\w.]*-fpm[\w.]*)-reopenlogs\b"), "usr1"),
    (
        re.compile(
            r"\b(?:kill|pkill|killall)\s+(?:-s\s+)?-?(?:SIG)?(?P<verb>USR1|USR2|HUP|TERM|QUIT|KILL|10|12|1|15)\b"
            r"(?P<rest>.*)"
        ),
        "kill",
    ),
)
_VERBS = {
    "reload": "reload",
    "force-reload": "reload",
    "reload-or-restart": "reload",
    "try-reload-or-restart": "reload",
    "restart": "restart",
    "try-restart": "restart",
    "rotate": "usr1",
    "reopen": "usr1",
    "USR1": "usr1",
    "10": "usr1",
    "USR2": "reload",
    "12": "reload",
    "HUP": "reload",
    "1": "reload",
    "TERM": "restart",
    "15": "restart",
    "QUIT": "restart",
    "KILL": "restart",
    "stop": "restart",
    "quit": "restart",
    "kill": "restart",
}


def _daemon(name):
    name = (name or "").lower()
    if "php" in name and "fpm" in name:
        return "php-fpm"
    if "nginx" in name:
        return "nginx"
    return None


def script_actions(lines):
    """[{line, daemon, action (reload|restart|usr1), command}] for each signalling line of a script."""
    actions = []
    for number, raw in lines:
        text = raw.split("#", 1)[0] if not raw.lstrip().startswith("#") else ""
        # "[ -x /usr/lib/php/php8.2-fpm-reopenlogs ]" tests for a script; it runs nothing.
        text = re.sub(r"\[\s[^\]]*\]|\btest\s+-\w\s+\S+", "", text)
        for pattern, kind in _ACTIONS:
            for match in pattern.finditer(text):
                if kind == "usr1":
                    daemon, action = _daemon(match.group("unit")), "usr1"
                elif kind == "kill":
                    daemon, action = _daemon(match.group("rest")), _VERBS.get(match.group("verb"))
                else:
                    daemon, action = _daemon(match.group("unit")), _VERBS.get(match.group("verb"))
                if daemon and action:
                    actions.append({"line": number, "daemon": daemon, "action": action, "command": raw.strip()})
    return actions


# Deletion commands in cron lines, scripts and services.
# rm counts when recursive or globbing: a script removing its own lock file is no mass deletion.
_DELETION = re.compile(
    r"(\bfind\b[^|;&]*?(?:-delete\b|-exec\s+rm\b)|\brm\s+(?:-\w*[rR]\w*\s+)[^|;&]*|\brm\s[^|;&]*\*[^|;&]*"
    r"|\btmpwatch\b|\btmpreaper\b|\bacceptq[-_]prune\b)"
)
_THROTTLE = re.compile(r"\bionice\b|\bsleep\b|\bacceptq[-_]prune\b|\bnice\b")


def deletion_command(text):
    """The deletion a command line runs (find -delete, rm, tmpwatch), or None."""
    match = _DELETION.search(text)
    return match.group(1).strip() if match else None


def is_throttled(text):
    return bool(_THROTTLE.search(text))


_CRON_SPECIAL = {
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_CRON_FIELD = re.compile(r"^[\d*/,\-A-Za-z]+$")


def parse_cron(path, text, system=True):
    """(jobs, errors) of a crontab: jobs {file, line, minute, hour, when, user, command}.

    system: /etc/crontab and /etc/cron.d carry a user field; users' crontabs do not.
    """
    jobs, errors = [], []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*\s*=", line):
            continue  # an environment line
        fields = line.split()
        if fields[0].startswith("@"):
            if fields[0] == "@reboot":
                continue
            spec = _CRON_SPECIAL.get(fields[0])
            if spec is None:
                errors.append({"file": path, "line": number, "message": "unknown schedule %r" % fields[0]})
                continue
            fields = spec.split() + fields[1:]
        need = 7 if system else 6
        if len(fields) < need or not all(_CRON_FIELD.match(field) for field in fields[:5]):
            errors.append({"file": path, "line": number, "message": "not a cron line: %r" % line[:120]})
            continue
        user = fields[5] if system else None
        command = " ".join(fields[6:] if system else fields[5:])
        jobs.append(
            {
                "file": path,
                "line": number,
                "minute": fields[0],
                "hour": fields[1],
                "when": " ".join(fields[:5]),
                "user": user,
                "command": command,
            }
        )
    return jobs, errors


def parse_anacron(path, text):
    """anacrontab jobs: {file, line, period, delay, command}."""
    jobs, errors = [], []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or re.match(r"^[A-Za-z_][A-Za-z0-9_]*\s*=", line):
            continue
        fields = line.split(None, 3)
        if len(fields) < 4:
            errors.append({"file": path, "line": number, "message": "not an anacron line: %r" % line[:120]})
            continue
        jobs.append({"file": path, "line": number, "period": fields[0], "delay": fields[1], "command": fields[3]})
    return jobs, errors


def fixed_minutes(minute, hour):
    """Minutes of the day a cron line fires, when both fields name fixed values; None otherwise."""
    try:
        minutes = [int(value) for value in minute.split(",")]
        hours = [int(value) for value in hour.split(",")]
    except ValueError:
        return None
    return sorted(h * 60 + m for h in hours for m in minutes)


_USEC_UNITS = {
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1,
    "sec": 1,
    "min": 60,
    "m": 60,
    "h": 3600,
    "hr": 3600,
    "d": 86400,
    "day": 86400,
    "w": 604800,
}


def parse_timespan(text):
    """systemd's time span ("1h", "1min 30s", "0", "infinity") in seconds; None when unreadable."""
    text = (text or "").strip()
    if not text:
        return None
    if text == "infinity":
        return float("inf")
    total = 0.0
    for value, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text):
        factor = _USEC_UNITS.get(unit or "s")
        if factor is None:
            return None
        total += float(value) * factor
    return total


def calendar_specs(timer):
    """The OnCalendar expressions of a shown timer, from TimersCalendar."""
    return re.findall(r"OnCalendar=([^;]+?)\s*;", timer.get("TimersCalendar") or "")


def elapse_minute(text):
    """Minute of the day (UTC as shown) of a systemctl timestamp like 'Thu 2026-12-03 00:00:00 UTC'."""
    match = re.search(r"\d{4}-\d\d-\d\d (\d\d):(\d\d):\d\d", text or "")
    return int(match.group(1)) * 60 + int(match.group(2)) if match else None


def exec_argv(exec_start):
    """argv of a shown ExecStart ('{ path=... ; argv[]=/usr/sbin/logrotate /etc/logrotate.conf ; ...}')."""
    match = re.search(r"argv\[\]=([^;]*)", exec_start or "")
    return match.group(1).split() if match else []


def parse_state(text):
    """logrotate's state file: {path: epoch seconds of the last rotation}, and errors by line."""
    import calendar

    entries, errors = {}, []
    for number, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("logrotate state"):
            continue
        match = re.match(r'^"?(.*?)"?\s+(\d{4})-(\d{1,2})-(\d{1,2})(?:-(\d{1,2}):(\d{1,2}):(\d{1,2}))?$', line)
        if not match:
            errors.append({"line": number, "message": "unreadable state entry %r" % line[:120]})
            continue
        parts = [int(value or 0) for value in match.groups()[1:]]
        entries[match.group(1)] = calendar.timegm((parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]))
    return entries, errors
