# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx's effective configuration as a model, on the controller.

Parsed with ngxparse (the maintained crossplane fork) from the host's
``nginx -T`` dump, includes resolved against the dumped files. The model is
plain data: every value carries the file and line it came from, and the
upstream timeouts are resolved through nginx's inheritance
(http -> server -> location, 60 s when unset). A file that does not parse is
listed in ``unparsed`` with its errors; the rest of the model still stands.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import math
import os
import re

try:
    import crossplane
    from crossplane.ext.lua import LuaBlockPlugin

    LuaBlockPlugin().register_extension()  # *_by_lua_block bodies are Lua, not nginx syntax
    HAS_PARSER = True
except ImportError:  # pragma: no cover - the CLI's venv always has it
    crossplane = None
    HAS_PARSER = False

PASS_MODULES = ("fastcgi", "proxy", "uwsgi", "grpc")
TIMEOUT_SETTINGS = ("connect_timeout", "send_timeout", "read_timeout")
UPSTREAM_SETTINGS = TIMEOUT_SETTINGS + ("next_upstream", "next_upstream_tries", "next_upstream_timeout", "keep_conn")
DEFAULTS = {
    "connect_timeout": "60s",
    "send_timeout": "60s",
    "read_timeout": "60s",
    "next_upstream": "error timeout",
    "next_upstream_tries": "0",
    "next_upstream_timeout": "0",
    "keep_conn": "off",
}
DEFAULT_MAX_FAILS = 1
DEFAULT_FAIL_TIMEOUT = "10s"
# "2026/11/24 16:10:24 [emerg] 8#8: open() "/x" failed (2: No such file) in /etc/nginx/sites-enabled/a:3"
NGINX_ERROR = re.compile(r"\[(?:emerg|alert|crit)\] \d+#\d+: (?P<message>.*?)(?: in (?P<file>/\S+):(?P<line>\d+))?$")
DUMP_MARKER = re.compile(r"^# configuration file (?P<path>.+):$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000, "y": 31536000}
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|M|y)?")


def parse_duration(text):
    """nginx time ("100ms", "60s", "1m30s", "60") in seconds."""
    text = str(text).strip()
    if not text:
        raise ValueError("empty time value")
    seconds, position = 0.0, 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        seconds += int(match.group(1)) * _UNITS[match.group(2) or "s"]
        position = match.end()
    if position != len(text):
        raise ValueError("%r is not an nginx time value" % text)
    return seconds


def split_dump(stdout):
    """{path: text} from ``nginx -T`` output, in dump order."""
    files, path, lines = {}, None, []
    for line in stdout.splitlines():
        marker = DUMP_MARKER.match(line)
        if marker:
            if path is not None:
                files[path] = "\n".join(lines) + "\n"
            path, lines = marker.group("path"), []
        elif path is not None:
            lines.append(line)
    if path is not None:
        files[path] = "\n".join(lines) + "\n"
    return files


class _Parser:
    """Parses files on demand from the dumped texts and follows includes."""

    def __init__(self, files, prefix):
        self.files = files
        self.prefix = prefix
        self.parsed = {}
        self.errors = []
        self.unparsed = set()
        self.lines = {}

    def error(self, path, line, message):
        self.errors.append({"file": path, "line": line, "message": message})

    def statements(self, path):
        if path not in self.parsed:
            payload = crossplane.parse_string(
                self.files[path], filename=path, single=True, check_ctx=False, catch_errors=True, comments=False
            )
            for error in payload["errors"]:
                self.error(path, error.get("line"), error.get("error"))
                self.unparsed.add(path)
            self.parsed[path] = payload["config"][0]["parsed"] if payload["config"] else []
        return self.parsed[path]

    def include(self, path, statement):
        pattern = statement["args"][0] if statement["args"] else ""
        if not os.path.isabs(pattern):
            pattern = os.path.join(self.prefix, pattern)
        if any(char in pattern for char in "*?["):
            return sorted(name for name in self.files if fnmatch.fnmatchcase(name, pattern))
        if pattern in self.files:
            return [pattern]
        self.error(path, statement["line"], "include %s: no such file in the configuration" % pattern)
        self.unparsed.add(path)
        return []

    def walk(self, path, statements=None, depth=0):
        """Yield (path, statement) with includes expanded in place; blocks stay nested."""
        for statement in self.statements(path) if statements is None else statements:
            if statement["directive"] == "include" and depth < 32:
                for included in self.include(path, statement):
                    for item in self.walk(included, depth=depth + 1):
                        yield item
            else:
                yield path, statement

    def block_line(self, path, line):
        """The line of the '{' that opens the block whose directive is on ``line``."""
        if path not in self.lines:
            self.lines[path] = self.files[path].splitlines()
        lines = self.lines[path]
        for number in range(line, min(len(lines), line + 20) + 1):
            if "{" in lines[number - 1].split("#", 1)[0]:
                return number
        return line

    def block(self, path, statement):
        """The expanded children of a block statement, each with its file."""
        return list(self.walk(path, statement.get("block") or []))


def _int(text):
    return int(text) if text else None


def _located(source_file, statement, **values):
    values.update({"file": source_file, "line": statement["line"]})
    return values


def parse_listen(args):
    """address, port, unix path and backlog of a ``listen`` directive."""
    target = args[0] if args else "80"
    record = {"raw": " ".join(args), "address": None, "port": None, "unix": None, "backlog": None}
    if target.startswith("unix:"):
        record["unix"] = target[5:]
    else:
        host, sep, port = target.rpartition(":")
        if target.startswith("[") and not target.endswith("]") and sep:
            record["address"], record["port"] = host.strip("[]"), port
        elif target.startswith("["):
            record["address"], record["port"] = target.strip("[]"), "80"
        elif sep:
            record["address"], record["port"] = host, port
        elif target.isdigit():
            record["address"], record["port"] = "*", target
        else:
            record["address"], record["port"] = target, "80"
        record["port"] = int(record["port"]) if str(record["port"]).isdigit() else None
    for arg in args[1:]:
        if arg.startswith("backlog="):
            try:
                record["backlog"] = int(arg.split("=", 1)[1])
            except ValueError:
                record["backlog"] = None
    return record


def parse_upstream_server(path, statement):
    args = statement["args"]
    server = _located(
        path,
        statement,
        address=args[0] if args else None,
        max_fails=DEFAULT_MAX_FAILS,
        fail_timeout_s=parse_duration(DEFAULT_FAIL_TIMEOUT),
        backup="backup" in args,
        down="down" in args,
        declared={"max_fails": False, "fail_timeout": False},
    )
    for arg in args[1:]:
        key, _sep, value = arg.partition("=")
        try:
            if key == "max_fails":
                server["max_fails"] = int(value)
                server["declared"]["max_fails"] = True
            elif key == "fail_timeout":
                server["fail_timeout_s"] = parse_duration(value)
                server["declared"]["fail_timeout"] = True
        except ValueError:
            server.setdefault("errors", []).append("%s=%s is not valid" % (key, value))
    return server


def _setting(path, statement, scope):
    value = " ".join(statement["args"])
    return {"value": value, "file": path, "line": statement["line"], "scope": scope}


def _collect_settings(parser, items, scope, inherited):
    """Upstream-related settings declared at this level, over the inherited ones."""
    settings = dict(inherited)
    for path, statement in items:
        directive = statement["directive"]
        for module in PASS_MODULES:
            prefix = module + "_"
            if directive.startswith(prefix) and directive[len(prefix) :] in UPSTREAM_SETTINGS:
                settings[(module, directive[len(prefix) :])] = _setting(path, statement, scope)
    return settings


def _effective(settings, module):
    effective = {}
    for name in UPSTREAM_SETTINGS:
        if name == "keep_conn" and module != "fastcgi":
            continue
        value = settings.get((module, name)) or {
            "value": DEFAULTS[name],
            "file": None,
            "line": None,
            "scope": "default",
        }
        value = dict(value)
        if name in TIMEOUT_SETTINGS or name == "next_upstream_timeout":
            try:
                value["seconds"] = parse_duration(value["value"])
            except ValueError:
                value["seconds"] = None
                value["error"] = "not an nginx time value"
        effective[name] = value
    return effective


def _pass_target(module, args):
    target = args[0] if args else ""
    if module in ("proxy", "grpc", "uwsgi"):
        for scheme in ("http://", "https://", "grpc://", "grpcs://", "uwsgi://", "suwsgi://"):
            if target.startswith(scheme):
                target = target[len(scheme) :]
                break
        if not target.startswith("unix:"):
            target = target.split("/", 1)[0]
    return target


def _location(parser, model, path, statement, scope_settings, logs):
    items = parser.block(path, statement)
    settings = _collect_settings(parser, items, "location", scope_settings)
    location = _located(
        path,
        statement,
        match=" ".join(statement["args"]),
        block_line=parser.block_line(path, statement["line"]),
        **{"pass": None, "settings": {}, "locations": []},
    )
    for item_path, item in items:
        module = item["directive"][: -len("_pass")] if item["directive"].endswith("_pass") else None
        if module in PASS_MODULES:
            target = _pass_target(module, item["args"])
            location["pass"] = _located(item_path, item, module=module, target=target, upstream=None)
        elif item["directive"] == "location":
            location["locations"].append(_location(parser, model, item_path, item, settings, logs))
        elif item["directive"] == "access_log":
            logs.append(_access_log(item_path, item))
    if location["pass"]:
        location["settings"] = _effective(settings, location["pass"]["module"])
    return location


def _access_log(path, statement):
    args = statement["args"]
    return _located(path, statement, path=args[0] if args else None, format=args[1] if len(args) > 1 else "combined")


def _flatten(locations):
    for location in locations:
        yield location
        for inner in _flatten(location.pop("locations", [])):
            yield inner


def load_config(section):
    """The model of the host's nginx configuration; never raises on a bad configuration."""
    model = {
        "files": {},
        "errors": [],
        "unparsed": [],
        "worker_processes": None,
        "log_formats": {},
        "error_logs": [],
        "upstreams": {},
        "servers": [],
        "conf_path": None,
    }
    section = section or {}
    if not section.get("binary"):
        return model
    conf_path = section.get("conf_path") or "/etc/nginx/nginx.conf"
    model["conf_path"] = conf_path
    dump = section.get("dump") or {}
    files = split_dump(dump.get("stdout") or "") if dump.get("returncode") == 0 else dict(section.get("files") or {})
    model["files"] = files
    if dump.get("returncode") not in (0, None):
        for line in (dump.get("stderr") or "").splitlines():
            emerg = NGINX_ERROR.search(line)
            if emerg:
                path = emerg.group("file") or conf_path
                model["errors"].append(
                    {"file": path, "line": _int(emerg.group("line")), "message": emerg.group("message")}
                )
                model["unparsed"].append(path)
    if not HAS_PARSER:
        model["errors"].append(
            {"file": conf_path, "line": None, "message": "ngxparse is not installed on the controller"}
        )
        return model
    if conf_path not in files:
        model["errors"].append({"file": conf_path, "line": None, "message": "the main configuration file was not read"})
        model["unparsed"].append(conf_path)
        return model
    parser = _Parser(files, os.path.dirname(conf_path))
    http_settings = {}
    http_logs = []
    for path, statement in parser.walk(conf_path):
        directive = statement["directive"]
        if directive == "worker_processes":
            value = statement["args"][0] if statement["args"] else "1"
            count = section.get("cpu_count") if value == "auto" else (int(value) if value.isdigit() else None)
            model["worker_processes"] = _located(path, statement, value=value, count=count)
        elif directive == "error_log" and statement["args"]:
            model["error_logs"].append(statement["args"][0])
        elif directive == "http":
            items = parser.block(path, statement)
            http_settings = _collect_settings(parser, items, "http", {})
            for item_path, item in items:
                _http_statement(parser, model, item_path, item, http_settings, http_logs)
    for server in model["servers"]:
        server["access_logs"] = server["access_logs"] or list(http_logs)
    _resolve_upstreams(model)
    located = set((error["file"], error["line"]) for error in model["errors"])
    model["errors"].extend(error for error in parser.errors if (error["file"], error["line"]) not in located)
    model["unparsed"] = sorted(set(model["unparsed"]) | parser.unparsed)
    return model


def _http_statement(parser, model, path, statement, http_settings, http_logs):
    directive, args = statement["directive"], statement["args"]
    if directive == "log_format" and args:
        model["log_formats"][args[0]] = _located(path, statement, format="".join(args[1:]))
    elif directive == "access_log":
        http_logs.append(_access_log(path, statement))
    elif directive == "error_log" and args:
        model["error_logs"].append(args[0])
    elif directive == "upstream" and args:
        upstream = _located(
            path,
            statement,
            name=args[0],
            block_line=parser.block_line(path, statement["line"]),
            servers=[],
            keepalive=None,
        )
        for item_path, item in parser.block(path, statement):
            if item["directive"] == "server":
                upstream["servers"].append(parse_upstream_server(item_path, item))
            elif item["directive"] == "keepalive" and item["args"] and item["args"][0].isdigit():
                upstream["keepalive"] = _located(item_path, item, value=int(item["args"][0]))
        model["upstreams"][args[0]] = upstream
    elif directive == "server":
        _server(parser, model, path, statement, http_settings)


def _server(parser, model, path, statement, http_settings):
    items = parser.block(path, statement)
    settings = _collect_settings(parser, items, "server", http_settings)
    server = _located(
        path,
        statement,
        block_line=parser.block_line(path, statement["line"]),
        names=[],
        listens=[],
        access_logs=[],
        locations=[],
    )
    logs = []
    for item_path, item in items:
        if item["directive"] == "listen":
            server["listens"].append(_located(item_path, item, **parse_listen(item["args"])))
        elif item["directive"] == "server_name":
            server["names"].extend(item["args"])
        elif item["directive"] == "access_log":
            server["access_logs"].append(_access_log(item_path, item))
        elif item["directive"] == "error_log" and item["args"]:
            model["error_logs"].append(item["args"][0])
        elif item["directive"] == "location":
            server["locations"].append(_location(parser, model, item_path, item, settings, logs))
    if not server["listens"]:
        server["listens"].append(dict(parse_listen(["80"]), file=None, line=None, implicit=True))
    server["locations"] = list(_flatten(server["locations"]))
    server["access_logs"].extend(logs)
    model["servers"].append(server)


def _resolve_upstreams(model):
    for server in model["servers"]:
        for location in server["locations"]:
            passed = location.get("pass")
            if passed and passed["target"] in model["upstreams"]:
                passed["upstream"] = passed["target"]


def _endpoint(value):
    """('unix', path) or ('tcp', host, port) for an nginx target or a php-fpm listen value."""
    value = (value or "").strip()
    if value.startswith("unix:"):
        return ("unix", value[5:])
    if value.startswith("/"):
        return ("unix", value)
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = ("*", value) if value.isdigit() else (value, "80")
    host = host.strip("[]")
    if host in ("localhost", "127.0.0.1", "::1", "ip6-localhost"):
        host = "loopback"
    return ("tcp", host, port)


def listen_matches(target, php_listen):
    """Whether an nginx upstream target reaches a php-fpm pool listening on ``php_listen``."""
    theirs, ours = _endpoint(target), _endpoint(php_listen)
    if theirs[0] != ours[0]:
        return False
    if theirs[0] == "unix":
        return os.path.normpath(theirs[1]) == os.path.normpath(ours[1])
    if theirs[2] != ours[2]:
        return False
    # php-fpm on a port alone or a wildcard address answers on every local address.
    return ours[1] in ("*", "0.0.0.0", "::") or theirs[1] == ours[1]


def upstream_targets(model, location):
    """The addresses a location's pass reaches: the upstream's servers, or the target itself."""
    passed = location.get("pass")
    if not passed:
        return []
    if passed.get("upstream"):
        return [server["address"] for server in model["upstreams"][passed["upstream"]]["servers"]]
    return [passed["target"]]


def locations_for_listen(model, php_listen):
    """[(server, location)] whose pass reaches ``php_listen`` directly or through an upstream."""
    found = []
    for server in model["servers"]:
        for location in server["locations"]:
            if any(listen_matches(target, php_listen) for target in upstream_targets(model, location)):
                found.append((server, location))
    return found


def declared_for(workload, server, location, key):
    """A per-location override ("name location" or "name"), else the fleet-wide value; and whether declared."""
    overrides = workload.get("locations") or {}
    for name in server.get("names") or ["_"]:
        for label in ("%s %s" % (name, location["match"]), name):
            entry = overrides.get(label) or {}
            if key in entry:
                return entry[key], True
    return workload[key], key not in (workload.get("assumed") or [])


# The share of the client's timeout nginx may spend waiting on the upstream:
# the rest covers the accept-queue wait and sending the response, so nginx
# gives up (504, a counted failure) before the client does (499, none).
UPSTREAM_SHARE_OF_CLIENT_TIMEOUT = 0.75
FAIL_TIMEOUT_MAX_S = 10.0
# Below the kernel's initial SYN retransmission timeout (1 s): a SYN dropped by
# a full accept queue fails fast as a counted 504 instead of being retried into
# a queue the client will have left (measured in docs/incident.md).
CONNECT_TIMEOUT_MAX_S = 0.5


def recommended(model, server, location, workload):
    """The values the checks expect and the nginx_timeouts role writes, with the reasoning."""
    client_timeout, _client_declared = declared_for(workload, server, location, "client_timeout_s")
    p99, _p99_declared = declared_for(workload, server, location, "p99_s")
    budget = client_timeout * UPSTREAM_SHARE_OF_CLIENT_TIMEOUT
    read = max(budget, 0.001)
    values = {
        "read_timeout_s": _round_time(read),
        "send_timeout_s": _round_time(read),
        "connect_timeout_s": _round_time(
            min(read, CONNECT_TIMEOUT_MAX_S, _current_seconds(location, "connect_timeout", 60.0))
        ),
        "max_fails": 1,
        "fail_timeout_s": FAIL_TIMEOUT_MAX_S,
        "next_upstream": "error timeout",
        "client_timeout_s": client_timeout,
        "p99_s": p99,
        "p99_fits": p99 < read,
    }
    return values


def _current_seconds(location, name, default):
    value = (location.get("settings") or {}).get(name) or {}
    return value.get("seconds") if value.get("seconds") is not None else default


def _round_time(seconds):
    """Whole milliseconds, so the value written back is exactly the one judged."""
    return math.floor(seconds * 1000) / 1000.0


def format_duration(seconds):
    """The shortest nginx spelling of a duration: 1500 ms -> "1500ms", 45 s -> "45s"."""
    milliseconds = int(round(seconds * 1000))
    if milliseconds % 1000:
        return "%dms" % milliseconds
    return "%ds" % (milliseconds // 1000)
