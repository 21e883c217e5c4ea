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

from ansible_collections.acceptq.remediation.plugins.module_utils.core.evidence import Section
from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import collect as _nginx_collect

BINARY_DIRS = ("/usr/sbin", "/usr/local/sbin")
# php-fpm8.2, php-fpm: not php-fpm-socket-helper or other helpers.
_BINARY_NAME = re.compile(r"^php-fpm(\d+(\.\d+)?)?$")
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
    "access.log",
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


_CONF_TESTED = re.compile(r"configuration file (?P<path>/\S+) test is successful$")
_CONF_FAILED = re.compile(r"failed to load configuration file '(?P<path>/[^']+)'")
DEFAULT_CONFS = ("/etc/php/{version}/fpm/php-fpm.conf", "/usr/local/etc/php-fpm.conf", "/etc/php-fpm.conf")
# php-fpm's ini syntax, as far as pool files use it: "[name]", "key = value" with
# an optional quoted value and a trailing "; comment", and ";" comment lines.
_INI_SECTION = re.compile(r"^\[(?P<name>[^\]]+)\]\s*(?:;.*)?$")
_INI_ENTRY = re.compile(r"^(?P<key>[A-Za-z0-9_.\-]+(?:\[[^\]]*\])?)\s*=\s*(?P<value>.*)$")
# php-fpm hands each line to the Zend ini scanner, whose newline is \r\n, \n or \r:
# never str.splitlines(), which also breaks at form feeds, U+0085 and U+2028.
_NEWLINE = re.compile(r"\r\n|\n|\r")
_GLOB_MAGIC = re.compile(r"[*?[]")
MAX_INCLUDE_DEPTH = 8
MAX_FILES = 512
MAX_BYTES = 16 * 1024 * 1024
BOM = "\ufeff"


def split_lines(text):
    """[(line, ending)] as php-fpm's ini scanner splits text."""
    lines, position = [], 0
    for newline in _NEWLINE.finditer(text):
        lines.append((text[position : newline.start()], newline.group()))
        position = newline.end()
    if position < len(text):
        lines.append((text[position:], ""))
    return lines


def decode(data):
    """Text of a pool file's bytes: UTF-8, other bytes (Latin-1 comments) kept as surrogates so that
    encoding back with surrogateescape gives the same bytes."""
    return data.decode("utf-8", "surrogateescape")


def display(text):
    """text with undecodable bytes shown as U+FFFD: safe for JSON evidence and messages."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def conf_path(binary, text):
    """The main configuration file a php-fpm -tt run read, from its own output or the usual places."""
    for pattern in (_CONF_TESTED, _CONF_FAILED):
        for line in text.splitlines():
            found = pattern.search(line.strip())
            if found:
                return found.group("path")
    version = binary_version(binary)
    for candidate in DEFAULT_CONFS:
        if "{version}" in candidate and not version:
            continue
        path = candidate.format(version=version)
        if os.path.isfile(path):
            return path
    return None


def binary_version(binary):
    """'8.2' for /usr/sbin/php-fpm8.2; None for a bare php-fpm."""
    found = re.match(r"^php-fpm(\d+\.\d+)$", os.path.basename(binary or ""))
    return found.group(1) if found else None


def binary_prefix(binary):
    """The install prefix php-fpm resolves relative include= paths against: /usr for /usr/sbin/php-fpm8.2
    (Debian builds with --prefix=/usr; only php-fpm -p overrides it)."""
    if not binary:
        return None
    return os.path.dirname(os.path.dirname(os.path.abspath(binary))) or None


def split_value(raw):
    """(value, comment) of the text after 'key =': the value unquoted, the trailing '; comment' with the
    blanks before it ('' when none); value None when a quote is not closed."""
    stripped = raw.lstrip()
    if stripped[:1] in ("'", '"'):
        end = stripped.find(stripped[0], 1)
        if end < 0:
            return None, ""
        rest = stripped[end + 1 :]
        semicolon = rest.find(";")
        comment = rest[len(rest[:semicolon].rstrip()) :] if semicolon >= 0 else ""
        return stripped[1:end], comment.rstrip()
    semicolon = stripped.find(";")
    if semicolon < 0:
        return stripped.strip(), ""
    value = stripped[:semicolon].rstrip()
    return value, stripped[len(value) :].rstrip()


def _ini_value(raw):
    """The value of 'key = value ; comment', unquoted; None when a quote is not closed."""
    return split_value(raw)[0]


class _PoolScan:
    """Where each pool is defined: a line scan of php-fpm's main file and its include= globs.

    Like php-fpm, the section being filled carries on across an include, and a
    pool name met twice continues the same pool. Every expansion is bounded: include
    depth, a file met again on its own include path (a loop), files and bytes read.
    """

    def __init__(self, read=None, prefix=None):
        self.read = read or _read_conf
        self.prefix = prefix
        self.sections = []  # every [section] met, in php-fpm's reading order
        self.errors = []
        self.files = []
        self.bytes = 0
        self.current = None

    def error(self, path, line, message):
        self.errors.append({"file": path, "line": line, "message": message})

    def unparsed(self, path, number, message):
        self.error(path, number, message)
        if self.current is not None:
            self.current["unparsed"] = True

    def scan(self, path, depth=0, included_from=None, stack=()):
        where = included_from or (path, None)
        if len(self.files) >= MAX_FILES:
            self.error(where[0], where[1], "more than %d files included: %s not read" % (MAX_FILES, path))
            return
        try:
            text = self.read(path)
        except (IOError, OSError, UnicodeDecodeError) as exc:
            self.error(where[0], where[1], "cannot read %s: %s" % (path, getattr(exc, "strerror", None) or exc))
            return
        self.bytes += len(text)
        if self.bytes > MAX_BYTES:
            self.error(where[0], where[1], "more than %d bytes of configuration: %s not read" % (MAX_BYTES, path))
            return
        self.files.append(path)
        if text.startswith(BOM):
            text = text[1:]  # php-fpm reads a UTF-8 BOM as nothing
        for number, (line, _ending) in enumerate(split_lines(text), 1):
            self.line(path, number, line, depth, stack)

    def line(self, path, number, line, depth, stack):
        stripped = line.strip()
        if not stripped or stripped.startswith(";"):
            return
        if stripped.startswith("#"):
            # PHP 7 took '#' comments out of the ini syntax: php-fpm stops on this line.
            self.unparsed(path, number, "a '#' comment, which php-fpm rejects (use ';')")
            return
        section = _INI_SECTION.match(stripped)
        if section:
            self.current = {"name": section.group("name").strip(), "file": path, "line": number, "keys": {}}
            self.sections.append(self.current)
            return
        entry = _INI_ENTRY.match(stripped)
        if not entry:
            self.unparsed(path, number, "not a [pool] header, key = value or ; comment: %r" % display(stripped[:80]))
            return
        key, value = entry.group("key"), _ini_value(entry.group("value"))
        if value is None:
            self.unparsed(path, number, "%s: unterminated quote" % key)
        elif key == "include":
            self.include(path, number, value, depth, stack + (path,))
        elif self.current is not None:
            self.current["keys"][key] = {"value": display(value), "file": path, "line": number, "text": display(line)}

    def include(self, path, number, pattern, depth, stack):
        if depth >= MAX_INCLUDE_DEPTH:
            self.error(path, number, "include nested deeper than %d files: %s" % (MAX_INCLUDE_DEPTH, pattern))
            return
        if not pattern.startswith("/"):
            if not self.prefix:
                self.error(path, number, "relative include %s: acceptq only follows absolute paths" % pattern)
                return
            pattern = os.path.join(self.prefix, pattern)  # as php-fpm does: its prefix, not the file's directory
        names = sorted(glob.glob(pattern))
        if not names and not os.path.isdir(os.path.dirname(_GLOB_MAGIC.split(pattern, 1)[0]) or "/"):
            # glob(GLOB_ERR) fails on a missing directory: php-fpm stops ("Unable to globalize").
            self.error(path, number, "include %s: its directory does not exist, so php-fpm fails" % pattern)
        for name in names:
            if not os.path.isfile(name):
                continue
            if name in stack:
                self.error(path, number, "include loop: %s includes itself through %s" % (name, " -> ".join(stack)))
                continue
            self.scan(name, depth + 1, (path, number), stack)


def _read_conf(path):
    with open(path, "rb") as handle:
        return decode(handle.read(MAX_BYTES + 1))


def locate_pools(conf, read=None, prefix=None):
    """{"conf", "files", "errors", "pools": {name: definition}} for a php-fpm main file.

    A definition lists the pool's sections (file, header line, keys with their
    lines), the line that sets listen.backlog last (None when unset), and
    whether every line of those sections parsed ("complete").
    """
    scan = _PoolScan(read, prefix)
    if conf:
        scan.scan(conf)
    pools = {}
    for section in scan.sections:
        if section["name"] == "global":
            continue
        definition = pools.setdefault(
            section["name"], {"file": section["file"], "line": section["line"], "sections": [], "complete": True}
        )
        definition["sections"].append({"file": section["file"], "line": section["line"], "keys": section["keys"]})
        if section.get("unparsed"):
            definition["complete"] = False
        if "listen.backlog" in section["keys"]:
            definition["backlog"] = section["keys"]["listen.backlog"]
    for definition in pools.values():
        definition.setdefault("backlog", None)
        definition["errors"] = [
            error
            for error in scan.errors
            if any(error["file"] == section["file"] for section in definition["sections"])
        ]
    return {"conf": conf, "files": scan.files, "errors": scan.errors, "pools": pools, "global": global_record(scan)}


def global_record(scan):
    """Where [global] is, and its last process_control_timeout line (None when unset): for the fix."""
    sections = [section for section in scan.sections if section["name"] == "global"]
    if not sections:
        return None
    setting = None
    for section in sections:
        setting = section["keys"].get("process_control_timeout", setting)
    return {
        "file": sections[0]["file"],
        "line": sections[0]["line"],
        "complete": not any(section.get("unparsed") for section in sections),
        "process_control_timeout": setting,
    }


def definition_record(located, name):
    """What the pool record carries about where the pool is defined (no key texts)."""
    definition = located["pools"].get(name)
    if definition is None:
        return None
    return {
        "file": definition["file"],
        "line": definition["line"],
        "complete": definition["complete"] and not definition["errors"],
        "errors": definition["errors"],
        "backlog": definition["backlog"],
        "sections": [
            {
                "file": section["file"],
                "line": section["line"],
                "listen": section["keys"].get("listen"),
                "listen.backlog": section["keys"].get("listen.backlog"),
            }
            for section in definition["sections"]
        ],
    }


def listen_kind(listen):
    """'unix', 'tcp' or None, for a php-fpm listen value."""
    if not listen or listen == "undefined":
        return None
    return "unix" if listen.startswith("/") else "tcp"


def parse_backlog(value):
    """listen.backlog as an integer (-1: as large as somaxconn allows; see _sizing.effective_backlog)."""
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
        "listen_backlog": parse_backlog(settings.get("listen.backlog")),
        "settings": dict((key, settings[key]) for key in POOL_KEYS if key in settings),
    }


def find_binaries(directories=BINARY_DIRS):
    """Every php-fpm binary in the directories (a name test per entry: no glob, no stat of the rest)."""
    found = []
    for directory in directories:
        try:
            names = sorted(name for name in os.listdir(directory) if name.startswith("php-fpm"))
        except OSError:
            continue
        for name in names:
            path = os.path.join(directory, name)
            if _BINARY_NAME.match(name) and os.access(path, os.X_OK):
                found.append(path)
    return found


def fpm_processes(proc_root, conf):
    """(masters, workers) of the php-fpm running ``conf``: masters {pid: command line}, worker pids."""
    masters, parents = {}, {}
    for pid, cmdline in _nginx_collect.command_lines(proc_root):
        if cmdline == "php-fpm: master process (%s)" % conf:
            masters[int(pid)] = cmdline
        elif cmdline.startswith("php-fpm: pool "):
            try:
                with open(os.path.join(proc_root, pid, "stat"), "rb") as handle:
                    stat = handle.read().decode("ascii", "replace")
                parents[int(pid)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (IOError, OSError, ValueError, IndexError):
                continue
    workers = sorted(pid for pid, parent in parents.items() if parent in masters)
    return masters, workers


def fpm_liveness(proc_root, conf, paths):
    """Whether php-fpm has read its files since they last changed (a reload respawns every worker)."""
    masters, workers = fpm_processes(proc_root, conf)
    return _nginx_collect.liveness(proc_root, masters, workers, paths, "php-fpm: master process (%s)" % conf)


_MASTER = "php-fpm: master process ("


def running_configs(proc_root, binary):
    """The configuration files the running masters of ``binary`` were started with (``-y`` /
    ``--fpm-config``), read from their process titles; [] when none of them runs."""
    try:
        wanted = os.path.realpath(binary)
    except (IOError, OSError):
        return []
    found = []
    for pid, cmdline in _nginx_collect.command_lines(proc_root):
        if not cmdline.startswith(_MASTER) or not cmdline.endswith(")"):
            continue
        try:
            exe = os.readlink(os.path.join(proc_root, pid, "exe"))
        except (IOError, OSError):
            continue
        conf = cmdline[len(_MASTER) : -1]
        if os.path.realpath(exe.replace(" (deleted)", "")) == wanted and conf not in found:
            found.append(conf)
    return found


def collect_php_fpm(context, binaries=None, timeout=15):
    """Every installed php-fpm's pools; a failing binary becomes an error, not a stop.

    A running master's own configuration (php-fpm -y FILE) is what is read, not the packaged
    default; the section says which (``conf_source``).
    """
    section = {"binaries": [], "pools": []}
    proc_root = context.get("proc_root") or "/proc"
    for binary in find_binaries() if binaries is None else binaries:
        running = running_configs(proc_root, binary)
        argv = [binary, "-tt"] + (["--fpm-config", running[0]] if running else [])
        try:
            completed = subprocess.run(
                argv,
                check=False,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                universal_newlines=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            context["errors"].append({"section": "php_fpm", "source": "%s -tt" % binary, "message": str(exc)})
            continue
        parsed = parse_test_output(completed.stdout)
        located = locate_pools(conf_path(binary, completed.stdout), prefix=binary_prefix(binary))
        section["binaries"].append(
            {
                "binary": binary,
                "version": binary_version(binary),
                "conf": located["conf"],
                "conf_files": located["files"],
                "conf_errors": located["errors"],
                "ok": parsed["ok"] and completed.returncode == 0,
                "returncode": completed.returncode,
                "errors": parsed["errors"],
                "global": parsed["global"],
                "global_definition": located.get("global"),
                "liveness": fpm_liveness(context.get("proc_root") or "/proc", located["conf"], located["files"])
                if located["conf"]
                else None,
                "conf_source": "the running master's command line" if running else "the binary's default",
                "running_confs": running,
            }
        )
        if len(running) > 1:
            context["errors"].append(
                {
                    "section": "php_fpm",
                    "source": binary,
                    "message": "%d masters of this binary run with different configurations (%s); only %s was read"
                    % (len(running), ", ".join(running), running[0]),
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
            record["definition"] = definition_record(located, record["name"])
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
    "start since",
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


def fcgi_get(family, target, params, timeout):
    """The FastCGI stdout of one GET with ``params`` [(name, value)]; None when the server closed first.

    Raises OSError or ValueError when the pool cannot be reached.
    """
    encoded = b"".join(_fcgi_pair(name.encode(), value.encode()) for name, value in params)
    request = (
        _fcgi_record(FCGI_BEGIN_REQUEST, struct.pack("!HB5x", 1, 0))
        + _fcgi_record(FCGI_PARAMS, encoded)
        + _fcgi_record(FCGI_PARAMS, b"")
        + _fcgi_record(FCGI_STDIN, b"")
    )
    stdout = b""
    with socket.socket(family, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(target)
        conn.sendall(request)
        buffer = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buffer += chunk
            while len(buffer) >= _FCGI_HEADER.size:
                _version, record_type, _rid, length, padding = _FCGI_HEADER.unpack_from(buffer)
                end = _FCGI_HEADER.size + length + padding
                if len(buffer) < end:
                    break
                if record_type == FCGI_STDOUT:
                    stdout += buffer[_FCGI_HEADER.size : _FCGI_HEADER.size + length]
                elif record_type == FCGI_END_REQUEST:
                    return stdout
                buffer = buffer[end:]


def read_status(pool, timeout=2.0):
    """The pool's status page as a dict; raise StatusError when it cannot be read."""
    path = pool["settings"].get("pm.status_path")
    address = status_address(pool)
    if not path or path == "undefined" or address is None:
        raise StatusError("no pm.status_path")
    family, target = address
    params = (
        ("SCRIPT_NAME", path),
        ("SCRIPT_FILENAME", path),
        ("REQUEST_URI", path + "?json"),
        ("DOCUMENT_URI", path),
        ("QUERY_STRING", "json"),
        ("REQUEST_METHOD", "GET"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("GATEWAY_INTERFACE", "CGI/1.1"),
    )
    try:
        stdout = fcgi_get(family, target, params, timeout)
    except (OSError, ValueError) as exc:
        raise StatusError("unreachable at %s: %s" % (target, exc)) from None
    if stdout is None:
        raise StatusError("closed the connection before the end of the response")
    return parse_status_response(stdout)


SECTIONS = (Section("php_fpm", collect_php_fpm, 30),)
