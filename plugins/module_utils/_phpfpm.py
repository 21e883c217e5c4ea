# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""php-fpm pools' effective configuration, from ``php-fpm -tt``.

Python 3 standard library only. ``-tt`` prints every pool's effective values
after includes, defaults and $pool expansion, which is what the running
master uses; parsing it is more truthful than reading the pool files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re
import subprocess

BINARY_GLOBS = ("/usr/sbin/php-fpm*", "/usr/local/sbin/php-fpm*")
# "[22-Nov-2026 22:48:10] NOTICE: \tlisten.backlog = -1"
_LINE = re.compile(r"^\[[^\]]*\]\s+(?P<level>[A-Z]+):\s?(?P<text>.*)$")
_SECTION = re.compile(r"^\[(?P<name>[^\]]+)\]$")
_LOCATED = re.compile(r"^\[(?P<file>[^\]:]+):(?P<line>\d+)\]\s*(?P<message>.*)$")
POOL_KEYS = (
    "listen",
    "listen.backlog",
    "pm",
    "pm.max_children",
    "pm.start_servers",
    "pm.min_spare_servers",
    "pm.max_spare_servers",
    "pm.max_requests",
    "request_terminate_timeout",
    "pm.status_path",
    "pm.status_listen",
    "slowlog",
    "request_slowlog_timeout",
)


def parse_test_output(text):
    """Parse ``php-fpm -tt`` output into global settings, pools and errors."""
    result = {"ok": False, "global": {}, "pools": [], "errors": []}
    section = None
    for line in text.splitlines():
        match = _LINE.match(line.strip("\r"))
        if not match:
            continue
        level, body = match.group("level"), match.group("text")
        if level in ("ERROR", "ALERT"):
            located = _LOCATED.match(body)
            error = {"message": body}
            if located:
                error = {
                    "file": located.group("file"),
                    "line": int(located.group("line")),
                    "message": located.group("message"),
                }
            result["errors"].append(error)
            continue
        stripped = body.strip()
        header = _SECTION.match(stripped)
        if header and not body.startswith("\t"):
            name = header.group("name")
            if name == "global":
                section = result["global"]
            else:
                section = {}
                result["pools"].append({"name": name, "settings": section})
            continue
        if stripped.endswith("test is successful"):
            result["ok"] = True
            continue
        if section is not None and " = " in stripped:
            key, _sep, value = stripped.partition(" = ")
            section[key] = value
    return result


def listen_kind(listen):
    """'unix', 'tcp' or None, for a php-fpm listen value."""
    if not listen or listen == "undefined":
        return None
    return "unix" if listen.startswith("/") else "tcp"


def effective_backlog(value):
    """listen.backlog as php-fpm passes it to listen(): -1 means 'as large as allowed'."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def pool_record(binary, pool):
    settings = pool["settings"]
    listen = settings.get("listen")
    return {
        "binary": binary,
        "name": pool["name"],
        "listen": listen,
        "listen_kind": listen_kind(listen),
        "listen_backlog": effective_backlog(settings.get("listen.backlog")),
        "settings": dict((key, settings[key]) for key in POOL_KEYS if key in settings),
    }


def find_binaries(patterns=BINARY_GLOBS):
    found = []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            name = os.path.basename(path)
            # php-fpm8.2, php-fpm: not php-fpm-socket-helper or other helpers.
            if re.match(r"^php-fpm(\d+(\.\d+)?)?$", name) and os.access(path, os.X_OK):
                found.append(path)
    return found


def collect_php_fpm(context, binaries=None, timeout=15):
    """Every installed php-fpm's pools; a failing binary becomes an error, not a stop."""
    section = {"binaries": [], "pools": []}
    for binary in find_binaries() if binaries is None else binaries:
        try:
            completed = subprocess.run(
                [binary, "-tt"],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                universal_newlines=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            context["errors"].append({"section": "php_fpm", "source": "%s -tt" % binary, "message": str(exc)})
            continue
        parsed = parse_test_output(completed.stdout)
        section["binaries"].append(
            {
                "binary": binary,
                "ok": parsed["ok"] and completed.returncode == 0,
                "returncode": completed.returncode,
                "errors": parsed["errors"],
                "global": parsed["global"],
            }
        )
        for error in parsed["errors"]:
            where = "%s:%s: " % (error["file"], error["line"]) if "file" in error else ""
            context["errors"].append(
                {"section": "php_fpm", "source": "%s -tt" % binary, "message": where + error["message"]}
            )
        if completed.returncode != 0 and not parsed["errors"]:
            context["errors"].append(
                {
                    "section": "php_fpm",
                    "source": "%s -tt" % binary,
                    "message": "exited with %d and no message" % completed.returncode,
                }
            )
        section["pools"].extend(pool_record(binary, pool) for pool in parsed["pools"])
    return section
