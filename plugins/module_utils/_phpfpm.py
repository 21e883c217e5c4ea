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
import json
import os
import re
import socket
import struct
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
        for pool in parsed["pools"]:
            record = pool_record(binary, pool)
            record["status"] = None
            if record["settings"].get("pm.status_path", "undefined") != "undefined":
                try:
                    record["status"] = read_status(record)
                except StatusError as exc:
                    context["errors"].append(
                        {"section": "php_fpm", "source": "status page of pool %s" % record["name"], "message": str(exc)}
                    )
            section["pools"].append(record)
    return section


# FastCGI, just enough to ask a pool for its status page (JSON), without nginx.
_FCGI_HEADER = struct.Struct("!BBHHBx")
FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6
STATUS_FIELDS = (
    "pool",
    "process manager",
    "accepted conn",
    "listen queue",
    "max listen queue",
    "listen queue len",
    "idle processes",
    "active processes",
    "total processes",
    "max active processes",
    "max children reached",
    "slow requests",
)


class StatusError(Exception):
    """The status page could not be read or did not make sense."""


def _fcgi_record(record_type, content, request_id=1):
    return _FCGI_HEADER.pack(1, record_type, request_id, len(content), 0) + content


def _fcgi_pair(name, value):
    encoded = b""
    for item in (name, value):
        size = len(item)
        encoded += struct.pack("!B", size) if size < 128 else struct.pack("!I", size | 0x80000000)
    return encoded + name + value


def status_address(pool):
    """(family, address) to reach a pool's status page, or None."""
    listen = pool["settings"].get("pm.status_listen")
    if not listen or listen == "undefined":
        listen = pool.get("listen")
    if not listen or listen == "undefined":
        return None
    if listen.startswith("/"):
        return socket.AF_UNIX, listen
    host, _sep, port = listen.rpartition(":")
    host = host.strip("[]")
    if not host or host in ("0.0.0.0", "*"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return family, (host, int(port))


def parse_status_response(stdout):
    head, sep, body = stdout.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = stdout.partition(b"\n\n")
    status_line = head.split(b"\n", 1)[0].decode("latin-1")
    if status_line.lower().startswith("status:") and not status_line.split()[1].startswith("2"):
        raise StatusError("answered %s" % status_line.strip())
    try:
        document = json.loads(body.decode("utf-8"))
    except ValueError:
        raise StatusError("answered something that is not JSON: %r" % body[:80]) from None
    if not isinstance(document, dict) or "accepted conn" not in document:
        raise StatusError("answered JSON without the status fields: %r" % body[:80])
    return dict((key, document.get(key)) for key in STATUS_FIELDS)


def read_status(pool, timeout=2.0):
    """The pool's status page as a dict; raise StatusError when it cannot be read."""
    path = pool["settings"].get("pm.status_path")
    address = status_address(pool)
    if not path or path == "undefined" or address is None:
        raise StatusError("no pm.status_path")
    family, target = address
    params = b"".join(
        _fcgi_pair(name.encode(), value.encode())
        for name, value in (
            ("SCRIPT_NAME", path),
            ("SCRIPT_FILENAME", path),
            ("REQUEST_URI", path + "?json"),
            ("DOCUMENT_URI", path),
            ("QUERY_STRING", "json"),
            ("REQUEST_METHOD", "GET"),
            ("SERVER_PROTOCOL", "HTTP/1.1"),
            ("GATEWAY_INTERFACE", "CGI/1.1"),
        )
    )
    request = (
        _fcgi_record(FCGI_BEGIN_REQUEST, struct.pack("!HB5x", 1, 0))
        + _fcgi_record(FCGI_PARAMS, params)
        + _fcgi_record(FCGI_PARAMS, b"")
        + _fcgi_record(FCGI_STDIN, b"")
    )
    stdout = b""
    try:
        with socket.socket(family, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(target)
            conn.sendall(request)
            buffer = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                buffer += chunk
                while len(buffer) >= _FCGI_HEADER.size:
                    _version, record_type, _rid, length, padding = _FCGI_HEADER.unpack_from(buffer)
                    end = _FCGI_HEADER.size + length + padding
                    if len(buffer) < end:
                        break
                    if record_type == FCGI_STDOUT:
                        stdout += buffer[_FCGI_HEADER.size : _FCGI_HEADER.size + length]
                    elif record_type == FCGI_END_REQUEST:
                        return parse_status_response(stdout)
                    buffer = buffer[end:]
    except (OSError, ValueError) as exc:
        raise StatusError("unreachable at %s: %s" % (target, exc)) from None
    raise StatusError("closed the connection before the end of the response")
