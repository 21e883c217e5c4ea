# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx's effective configuration as a model, on the controller.

Parsed with ngxparse (the maintained crossplane fork) from the host's
``nginx -T`` dump, or from files read as nginx reads them (``acceptq scan``),
includes resolved with nginx's glob rules. The model is plain data: every
value carries the file and line it came from; timeouts, access logs and
proxy headers are resolved through nginx's inheritance (http -> server ->
location). A file that does not parse is listed in ``unparsed`` with its
errors; the rest of the model still stands. Include expansion is bounded
(depth, files, statements, bytes, cycles): a configuration past a bound is
listed in ``limits`` and the model is marked ``truncated``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
UPSTREAM_SETTINGS = TIMEOUT_SETTINGS + (
    "next_upstream",
    "next_upstream_tries",
    "next_upstream_timeout",
    "keep_conn",
    "buffering",
)
DEFAULTS = {
    "connect_timeout": "60s",
    "send_timeout": "60s",
    "read_timeout": "60s",
    "next_upstream": "error timeout",
    "next_upstream_tries": "0",
    "next_upstream_timeout": "0",
    "keep_conn": "off",
    "buffering": "on",
}
DEFAULT_MAX_FAILS = 1
DEFAULT_FAIL_TIMEOUT = "10s"
# nginx's compiled-in prefix when --prefix is not given (NGX_PREFIX).
DEFAULT_PREFIX = "/usr/local/nginx/"
# "nginx: [emerg] cannot load certificate "/x" ... in /etc/nginx/sites-enabled/a:3" (nginx -t on a
# terminal) and "2026/11/24 16:10:24 [emerg] 8#8: open() ... in FILE:LINE" (the error log's form).
NGINX_ERROR = re.compile(
    r"\[(?:emerg|alert|crit)\] (?:\d+#\d+: )?(?P<message>.*?)(?: in (?P<file>/[^\n]*?):(?P<line>\d+))?\s*$"
)
DUMP_MARKER = "# configuration file "

# Bounds on one configuration's expansion: nginx itself has no include depth
# limit, but an include loop with fan-out grows exponentially, and acceptq
# must finish a host in bounded time and memory.
# Measured: a valid 7 MB configuration took 16 s and 470 MB to parse on a
# loaded 2-core host; 4 MiB stays well inside a host's 60 s and 500 MB.
LIMITS = {
    "include_depth": 32,
    "included_files": 10000,
    "statements": 200000,
    "bytes": 4 * 1024 * 1024,
}


class LimitReached(Exception):
    """The configuration's expansion passed one of LIMITS."""

    def __init__(self, limit, value, path, line, message):
        Exception.__init__(self, message)
        self.record = {"limit": limit, "value": value, "file": path, "line": line, "message": message}


# nginx's ngx_parse_time: units in decreasing order, spaces allowed after a
# unit; a trailing bare number is seconds. Timeouts (milliseconds) take no y or M.
_STEPS = ("y", "M", "w", "d", "h", "m", "s", "ms")
_SCALE = {"y": 31536000, "M": 2592000, "w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
_DURATION_TOKEN = re.compile(r"(\d+)(ms|[yMwdhms]|\s+|$)")
_INT32_MAX = 2147483647


def parse_duration(text, is_sec=False):
    """nginx time ("100ms", "60s", "1m30s", "2m 30s", "60") in seconds, as nginx parses it (cached)."""
    key = (text, is_sec)
    if key not in _DURATIONS:
        if len(_DURATIONS) > 4096:
            _DURATIONS.clear()
        _DURATIONS[key] = _parse_duration(text, is_sec)
    return _DURATIONS[key]


_DURATIONS = {}


def _parse_duration(text, is_sec=False):
    """nginx time ("100ms", "60s", "1m30s", "2m 30s", "60") in seconds, as nginx parses it.

    is_sec: the value is stored in seconds (fail_timeout), where "ms" is refused.
    """
    text = str(text)
    if not text or text != text.lstrip(" "):
        raise ValueError("%r is not an nginx time value" % text)
    total, position, step = 0.0, 0, -1 if is_sec else 1
    while position < len(text):
        match = _DURATION_TOKEN.match(text, position)
        if not match:
            raise ValueError("%r is not an nginx time value" % text)
        value, unit = int(match.group(1)), match.group(2)
        if unit.strip() == "" and match.end() < len(text):
            rank, scale = len(_STEPS), 1  # "30 " then more: a bare number must end the value
            if step >= _STEPS.index("s"):
                raise ValueError("%r is not an nginx time value" % text)
        elif unit.strip() == "":
            rank, scale = len(_STEPS) + 1, 1
        else:
            rank, scale = _STEPS.index(unit), _SCALE[unit]
            if rank <= step or (unit == "ms" and is_sec) or (unit == "y" and step > -1):
                raise ValueError("%r is not an nginx time value" % text)
        step = rank
        total += value * scale
        position = match.end()
        while position < len(text) and text[position] == " ":
            position += 1
    limit = _INT32_MAX if is_sec else _INT32_MAX / 1000.0
    if total > limit:
        raise ValueError("%r is too large for nginx" % text)
    return total


def split_dump(stdout):
    """{path: text} from ``nginx -T`` output, in dump order.

    Split on newlines only, as nginx reads: a U+2028 or a form feed inside a
    comment is text, not a line break.
    """
    files, path, start = {}, None, 0
    text = stdout or ""
    position = 0
    length = len(text)
    while position <= length:
        end = text.find("\n", position)
        end = length if end < 0 else end
        line = text[position:end]
        if line.startswith(DUMP_MARKER) and line.endswith(":"):
            if path is not None:
                files[path] = text[start:position]
            path, start = line[len(DUMP_MARKER) : -1], end + 1
        position = end + 1
    if path is not None:
        files[path] = text[start:] if start <= length else ""
        if not files[path].endswith("\n"):
            files[path] += "\n"
    return files


def split_lines(text):
    """Lines with their endings, split on LF only (nginx's line, unlike str.splitlines)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
        return [line + "\n" for line in lines]
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def _glob_regex(pattern):
    """A regex for glob(3) as nginx calls it: '*' and '?' stay inside one path component, and a
    wildcard never matches a leading dot (so disabled '.default.conf' files stay out)."""
    parts = []
    for component in pattern.split("/"):
        regex = "(?!\\.)" if component[:1] in ("*", "?", "[") else ""
        index = 0
        while index < len(component):
            char = component[index]
            if char == "*":
                regex += "[^/]*"
            elif char == "?":
                regex += "[^/]"
            elif char == "[":
                close = component.find("]", index + 2)
                if close < 0:
                    regex += "\\["
                else:
                    body = component[index + 1 : close]
                    if body.startswith("!"):
                        body = "^" + body[1:]
                    regex += "[" + body.replace("\\", "\\\\") + "]"
                    index = close
            elif char == "\\" and index + 1 < len(component):
                index += 1
                regex += re.escape(component[index])
            else:
                regex += re.escape(char)
            index += 1
        parts.append(regex)
    return re.compile("/".join(parts) + "\\Z")


def has_glob(pattern):
    return any(char in pattern for char in "*?[")


def glob_match(pattern, path):
    return bool(_glob_regex(pattern).match(path))


class DumpSource:
    """The files of a ``nginx -T`` dump (or of a tree read when nginx -t fails)."""

    def __init__(self, files):
        self.files = files

    def read(self, path):
        if path not in self.files:
            raise IOError("no such file in the configuration")
        return self.files[path]

    def glob(self, pattern):
        regex = _glob_regex(pattern)
        return sorted(name for name in self.files if regex.match(name))


class DiskSource:
    """Files read from disk as nginx reads them; ``root`` maps absolute paths under a directory."""

    def __init__(self, root=None):
        self.root = root.rstrip("/") if root else ""
        self.files = {}

    def _real(self, path):
        return self.root + path if self.root else path

    def read(self, path):
        if path not in self.files:
            real = self._real(path)
            if os.path.isdir(real):
                raise IOError("is a directory")
            with open(real, "rb") as handle:
                data = handle.read(LIMITS["bytes"] + 1)
            self.files[path] = data.decode("utf-8", "replace")
        return self.files[path]

    def glob(self, pattern):
        import glob as _glob  # only scans read from disk

        names = _glob.glob(self._real(pattern))
        return sorted(name[len(self.root) :] if self.root else name for name in names)


class _Parser:
    """Parses files on demand and follows includes, within LIMITS."""

    def __init__(self, source, conf_prefix, limits=None):
        self.source = source
        self.files = source.files
        self.prefix = conf_prefix
        self.limits = dict(LIMITS, **(limits or {}))
        self.parsed = {}
        self.errors = []
        self.unparsed = set()
        self.lines = {}
        self.included = 0
        self.statement_count = 0
        self.byte_count = 0
        self.mentions = {}

    def error(self, path, line, message):
        self.errors.append({"file": path, "line": line, "message": message})

    def mentioning(self, needle):
        """The files whose text holds ``needle`` (looked up once per parse, not per statement)."""
        known = self.mentions.get(needle)
        if known is None or known[0] != len(self.files):  # a scan reads files as it goes
            known = self.mentions[needle] = (
                len(self.files),
                frozenset(path for path, text in self.files.items() if needle in text),
            )
        return known[1]

    def _bound(self, name, value, path, line, what):
        if value > self.limits[name]:
            raise LimitReached(
                name,
                self.limits[name],
                path,
                line,
                "%s: more than %d %s (acceptq's limit %s): the configuration was not audited past this point"
                % ("%s:%s" % (path, line) if line else path, self.limits[name], what, name),
            )

    def statements(self, path, included_at=None):
        """A file's parsed statements; included_at: (file, line) of the include that reads it."""
        if path not in self.parsed:
            text = self.source.read(path)
            # before the parse: crossplane holds a whole file's statements in memory
            where, line = included_at or (path, None)
            self._bound(
                "bytes",
                self.byte_count + len(text),
                where,
                line,
                "bytes of configuration (includes expanded) reading %s" % path,
            )
            if "\0" in text:  # binary data: its parse errors would be noise
                self.error(path, text.count("\n", 0, text.index("\0")) + 1, "a NUL byte: not a configuration file")
                self.unparsed.add(path)
                self.parsed[path] = []
                return self.parsed[path]
            payload = crossplane.parse_string(
                text, filename=path, single=True, check_ctx=False, catch_errors=True, comments=False
            )
            for error in payload["errors"]:
                self.error(path, error.get("line"), error.get("error"))
                self.unparsed.add(path)
            if text.startswith("\ufeff"):
                # nginx reads the BOM's bytes as the start of the first directive and rejects it
                self.error(path, 1, "a UTF-8 byte order mark: nginx reads it as part of the first directive")
                self.unparsed.add(path)
            self.parsed[path] = payload["config"][0]["parsed"] if payload["config"] else []
        return self.parsed[path]

    def include(self, path, statement):
        pattern = statement["args"][0] if statement["args"] else ""
        if not os.path.isabs(pattern):
            pattern = os.path.join(self.prefix, pattern)
        if has_glob(pattern):
            return self.source.glob(pattern)
        return [pattern]

    def _load(self, path, statement, included):
        """The statements of an included file, or None with the error recorded."""
        try:
            statements = self.statements(included, (path, statement["line"]))
        except (IOError, OSError, UnicodeError) as exc:
            message = getattr(exc, "strerror", None) or str(exc)
            self.error(path, statement["line"], "include %s: %s" % (included, message))
            self.unparsed.add(path)
            return None
        self.byte_count += len(self.files.get(included) or "")
        self._bound("bytes", self.byte_count, path, statement["line"], "bytes of configuration (includes expanded)")
        return statements

    def walk(self, path, statements=None, ancestors=()):
        """Yield (path, statement) with includes expanded in place; blocks stay nested."""
        if statements is None:
            statements = self.statements(path)
            if not ancestors:
                self.byte_count += len(self.source.read(path))
            ancestors = ancestors + (path,)
        for statement in statements:
            self.statement_count += 1
            if self.statement_count > self.limits["statements"]:
                self._bound("statements", self.statement_count, path, statement["line"], "statements")
            if statement["directive"] != "include":
                yield path, statement
                continue
            for included in self.include(path, statement):
                if included in ancestors:
                    raise LimitReached(
                        "include_cycle",
                        0,
                        path,
                        statement["line"],
                        "%s:%s: include cycle %s: nginx would include these files forever"
                        % (path, statement["line"], " -> ".join(ancestors[ancestors.index(included) :] + (included,))),
                    )
                self._bound("include_depth", len(ancestors) + 1, path, statement["line"], "nested includes")
                self.included += 1
                self._bound("included_files", self.included, path, statement["line"], "file inclusions")
                loaded = self._load(path, statement, included)
                if loaded is not None:
                    yield from self.walk(included, loaded, ancestors + (included,))

    def block_line(self, path, line):
        """The line of the '{' that opens the block whose directive is on ``line``."""
        if path not in self.lines:
            self.lines[path] = split_lines(self.files.get(path) or "")
        lines = self.lines[path]
        for number in range(line, min(len(lines), line + 20) + 1):
            if "{" in lines[number - 1].split("#", 1)[0]:
                return number
        return line

    def block(self, path, statement, ancestors=None):
        """The expanded children of a block statement, each with its file."""
        return list(self.walk(path, statement.get("block") or [], ancestors or (path,)))


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
        fail_timeout_s=parse_duration(DEFAULT_FAIL_TIMEOUT, is_sec=True),
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
                server["fail_timeout_s"] = parse_duration(value, is_sec=True)
                server["declared"]["fail_timeout"] = True
        except ValueError:
            server.setdefault("errors", []).append("%s=%s is not valid" % (key, value))
    return server


def _setting(path, statement, scope):
    value = " ".join(statement["args"])
    return {"value": value, "file": path, "line": statement["line"], "scope": scope}


class _Scope:
    """What a level of the configuration hands down to the levels inside it."""

    def __init__(self, settings=None, headers=None, logs=None, sets=None):
        self.settings = settings or {}
        # {module: [header statements]}: an array directive, inherited only by levels declaring none.
        self.headers = headers or {}
        # access logs in effect: [] for "off"; None where nothing was declared yet (nginx's default applies)
        self.logs = logs
        self.sets = sets or {}


def _child_scope(items, level, parent, prefix):
    """The scope of a level from its own statements over its parent's."""
    settings = dict(parent.settings)
    headers = {}
    logs = []
    logs_declared = False
    sets = dict(parent.sets)
    for path, statement in items:
        directive = statement["directive"]
        module, _sep, name = directive.partition("_")
        if module in PASS_MODULES and name in UPSTREAM_SETTINGS:
            settings[(module, name)] = _setting(path, statement, level)
        elif module in PASS_MODULES and name == "set_header":
            headers.setdefault(module, []).append(_located(path, statement, args=list(statement["args"])))
        elif directive == "access_log":
            logs_declared = True
            logs.append(_access_log(path, statement, prefix))
        elif directive == "set" and len(statement["args"]) >= 2:
            sets.setdefault(statement["args"][0].lstrip("$"), []).append(statement["args"][1])
    merged_headers = dict(parent.headers)
    merged_headers.update(headers)
    effective_logs = parent.logs
    if logs_declared:  # "off" cancels every access_log of its level
        effective_logs = [] if any(log["path"] == "off" for log in logs) else logs
    return _Scope(settings, merged_headers, effective_logs, sets)


_TIMED = frozenset(TIMEOUT_SETTINGS + ("next_upstream_timeout",))


def _effective(settings, module):
    effective = {}
    for name in UPSTREAM_SETTINGS:
        if name == "keep_conn" and module != "fastcgi":
            continue
        declared = settings.get((module, name))
        if declared is None:
            value = {"value": DEFAULTS[name], "file": None, "line": None, "scope": "default"}
        else:
            value = dict(declared)
        if name in _TIMED:
            try:
                value["seconds"] = parse_duration(value["value"])
            except ValueError:
                value["seconds"] = None
                value["error"] = "not an nginx time value"
        effective[name] = value
    return effective


_SCHEMES = ("http://", "https://", "grpc://", "grpcs://", "uwsgi://", "suwsgi://")
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
# Variables that hold a request's URI or arguments: in a pass target they follow the address.
_URI_VARIABLES = ("request_uri", "uri", "document_uri", "args", "query_string", "is_args")
MAX_CANDIDATES = 16


def _strip_target(module, target):
    if module in ("proxy", "grpc", "uwsgi"):
        lowered = target.lower()
        for scheme in _SCHEMES:
            if lowered.startswith(scheme):
                target = target[len(scheme) :]
                break
        if not target.startswith("unix:"):
            target = re.split(r"[/?]", target, maxsplit=1)[0]  # the address ends where the URI or arguments start
        elif module == "proxy" and ":" in target[5:]:
            target = target[: 5 + target[5:].index(":")]  # unix:/path:/uri
    return target


def _expand(text, variables, depth=0):
    """Every value ``text`` can take from constant sets and map values; None when a part is unknown."""
    match = _VARIABLE.search(text)
    if not match:
        return [text]
    name = match.group(1) or match.group(2)
    head, tail = text[: match.start()], text[match.end() :]
    if name in _URI_VARIABLES:
        return [head + "/"]  # the address ended where the URI starts
    values = variables.get(name)
    if not values or depth > 8:
        return None
    results = []
    for value in values:
        expanded = _expand(value + tail, variables, depth + 1)
        if expanded is None:
            return None
        results.extend(head + item for item in expanded)
        if len(results) > MAX_CANDIDATES:
            return None
    return results


def _pass_record(model, module, path, statement, sets):
    written = statement["args"][0] if statement["args"] else ""
    record = _located(path, statement, module=module, written=written, target=None, upstream=None)
    # $scheme before "://" changes the protocol, not the address
    variables = {"scheme": ["http"]}
    variables.update(model["maps"])
    variables.update(sets)
    candidates = _expand(written, variables)
    if candidates is None:
        record["target"] = _strip_target(module, written)
        record["targets"] = []
        record["unresolved"] = "%s %s: a variable acceptq cannot resolve offline" % (statement["directive"], written)
        return record
    record["targets"] = []
    for candidate in candidates:
        target = _strip_target(module, candidate)
        if target and target not in record["targets"]:
            record["targets"].append(target)
    record["target"] = record["targets"][0] if record["targets"] else written
    record["unresolved"] = None
    if _VARIABLE.search(written):
        record["resolved_from"] = written
    return record


def _access_log(path, statement, prefix):
    args = statement["args"]
    log_path = args[0] if args else None
    if log_path and log_path not in ("off",) and not log_path.startswith(("/", "syslog:", "memory:")):
        log_path = os.path.join(prefix, log_path)
    return _located(path, statement, path=log_path, format=args[1] if len(args) > 1 else "combined")


# Headers, directives and names that mark a location whose responses stream:
# a long read timeout is intended there.
_STREAM_NAMES = re.compile(
    r"(?i)(websocket|socket\.io|\bws\b|\bcable\b|\bsse\b|event-?stream|\bevents?\b|\bstream(ing)?\b|poll|"
    r"\bsubscribe|\bcomet\b|\bpush\b)"
)


def _streaming(location, scope, module, items, sse_files):
    """Why a location's upstream responses stream (websockets, SSE, long polling, gRPC), or []."""
    kinds = []
    for header in scope.headers.get(module if module == "proxy" else "proxy", []) + scope.headers.get(module, []):
        words = header["args"]
        if len(words) >= 2 and words[0].lower() == "upgrade":
            kinds.append(("websocket", header))
            break
    buffering = location["settings"].get("buffering") or {}
    if buffering.get("value") == "off":
        kinds.append(("unbuffered (server-sent events or streamed responses)", buffering))
    if module == "grpc":
        kinds.append(("gRPC (streaming RPCs)", location["pass"]))
    for path, statement in items:
        if path in sse_files and any("text/event-stream" in arg for arg in statement["args"]):
            kinds.append(("server-sent events", _located(path, statement)))
            break
    read = location["settings"].get("read_timeout") or {}
    if (
        not kinds
        and read.get("scope") != "default"
        and (read.get("seconds") or 0) > 60
        and _STREAM_NAMES.search(location["match"])
    ):
        kinds.append(("long polling", read))
    return [{"kind": kind, "file": where.get("file"), "line": where.get("line")} for kind, where in kinds]


def _flatten(locations):
    for location in locations:
        yield location
        yield from _flatten(location.pop("locations", []))


def _empty_model():
    return {
        "files": {},
        "errors": [],
        "unparsed": [],
        "limits": [],
        "truncated": False,
        "worker_processes": None,
        "log_formats": {},
        "error_logs": [],
        "upstreams": {},
        "maps": {},
        "servers": [],
        "conf_path": None,
        "prefix": None,
        "conf_source": None,
        "live": None,
    }


def _stderr_errors(model, stderr, conf_path):
    found = False
    for line in (stderr or "").split("\n"):
        emerg = NGINX_ERROR.search(line)
        if emerg:
            path = emerg.group("file") or conf_path
            model["errors"].append({"file": path, "line": _int(emerg.group("line")), "message": emerg.group("message")})
            model["unparsed"].append(path)
            found = True
    if not found:
        text = " ".join(line.strip() for line in (stderr or "").split("\n") if line.strip())
        model["errors"].append(
            {"file": conf_path, "line": None, "message": "nginx -t failed: %s" % (text[:500] or "no message")}
        )
        model["unparsed"].append(conf_path)


def load_config(section):
    """The model of the host's nginx configuration; never raises on a bad configuration."""
    model = _empty_model()
    section = section or {}
    if not section.get("binary"):
        return model
    dump = section.get("dump") or {}
    dumped = dump.get("returncode") == 0
    files = split_dump(dump.get("stdout") or "") if dumped else dict(section.get("files") or {})
    conf_path = section.get("conf_path") or "/etc/nginx/nginx.conf"
    if dumped and files:
        conf_path = next(iter(files))  # nginx -T dumps the main file first
    model["live"] = section.get("live")
    if dump.get("truncated_bytes"):
        message = "%s: nginx -T printed %d bytes, more than acceptq's limit of %d: not audited" % (
            conf_path,
            dump["truncated_bytes"],
            LIMITS["bytes"],
        )
        model["limits"].append(
            {"limit": "bytes", "value": LIMITS["bytes"], "file": conf_path, "line": None, "message": message}
        )
        model["truncated"] = True
        model["conf_path"] = conf_path
        return model
    if dump.get("returncode") not in (0, None):
        _stderr_errors(model, dump.get("stderr"), conf_path)
    return build(model, DumpSource(files), conf_path, section)


def load_tree(conf_path, prefix=None, root=None, section=None, limits=None):
    """The model of a configuration read from disk as nginx would read it (``acceptq scan``).

    prefix: nginx's -p (relative access_log paths); includes are relative to
    the main file's directory. root: a directory holding the absolute paths.
    """
    section = dict(section or {}, binary=(section or {}).get("binary") or "nginx")
    section.setdefault("prefix", prefix or os.path.dirname(conf_path.rstrip("/")) + "/")
    model = _empty_model()
    return build(model, DiskSource(root), conf_path, section, limits)


def build(model, source, conf_path, section, limits=None):
    model["files"] = source.files
    model["conf_path"] = conf_path
    prefix = section.get("prefix") or DEFAULT_PREFIX
    model["prefix"] = prefix
    model["conf_source"] = section.get("conf_source")
    if not HAS_PARSER:
        model["errors"].append(
            {"file": conf_path, "line": None, "message": "ngxparse is not installed on the controller"}
        )
        return model
    parser = _Parser(source, os.path.dirname(conf_path))
    if limits:
        parser.limits.update(limits)
    try:
        source.read(conf_path)
    except (IOError, OSError) as exc:
        model["errors"].append(
            {
                "file": conf_path,
                "line": None,
                "message": "the main configuration file was not read: %s" % (getattr(exc, "strerror", None) or exc),
            }
        )
        model["unparsed"].append(conf_path)
        return model
    default_log = section.get("http_log_path") or os.path.join(prefix, "logs/access.log")
    context = {"parser": parser, "model": model, "prefix": prefix, "default_log": default_log}
    try:
        for path, statement in parser.walk(conf_path):
            directive = statement["directive"]
            if directive == "worker_processes":
                value = statement["args"][0] if statement["args"] else "1"
                count = section.get("cpu_count") if value == "auto" else (int(value) if value.isdigit() else None)
                model["worker_processes"] = _located(path, statement, value=value, count=count)
            elif directive == "error_log" and statement["args"]:
                model["error_logs"].append(statement["args"][0])
            elif directive == "http":
                _http(context, path, statement)
    except LimitReached as exc:
        model["limits"].append(exc.record)
        model["truncated"] = True
    except RecursionError:
        model["limits"].append(
            {
                "limit": "nesting",
                "value": None,
                "file": conf_path,
                "line": None,
                "message": "%s: blocks nested too deep to audit" % conf_path,
            }
        )
        model["truncated"] = True
    _resolve_upstreams(model)
    located = set((error["file"], error["line"]) for error in model["errors"])
    model["errors"].extend(error for error in parser.errors if (error["file"], error["line"]) not in located)
    model["unparsed"] = sorted(set(model["unparsed"]) | parser.unparsed)
    return model


def _http(context, path, statement):
    parser, model = context["parser"], context["model"]
    items = parser.block(path, statement)
    # maps and upstreams first: nginx resolves them whatever their order in the file
    for item_path, item in items:
        directive, args = item["directive"], item["args"]
        if directive == "map" and len(args) >= 2:
            _map(parser, model, item_path, item)
        elif directive == "upstream" and args:
            _upstream(parser, model, item_path, item)
    scope = _child_scope(items, "http", _Scope(), context["prefix"])
    for item_path, item in items:
        directive, args = item["directive"], item["args"]
        if directive == "log_format" and args:
            escape = args[1] if len(args) > 1 and args[1].startswith("escape=") else None
            body = args[2:] if escape else args[1:]
            model["log_formats"][args[0]] = _located(item_path, item, format="".join(body), escape=escape)
        elif directive == "error_log" and args:
            model["error_logs"].append(args[0])
        elif directive == "server":
            _server(context, item_path, item, scope)


def _map(parser, model, path, statement):
    name = statement["args"][1].lstrip("$").strip("{}")
    values, seen, default = [], set(), ""
    for _item_path, item in parser.block(path, statement):
        words = [item["directive"]] + item["args"]
        if words[0] in ("hostnames", "volatile") and len(words) == 1:
            continue
        if len(words) >= 2:
            if words[0] == "default":
                default = words[1]
            elif words[1] not in seen and len(values) <= MAX_CANDIDATES:
                seen.add(words[1])
                values.append(words[1])  # past MAX_CANDIDATES the target is unresolved anyway
    model["maps"][name] = [default] + [value for value in values if value != default]


def _upstream(parser, model, path, statement):
    args = statement["args"]
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


def _server(context, path, statement, http_scope):
    parser, model = context["parser"], context["model"]
    items = parser.block(path, statement)
    scope = _child_scope(items, "server", http_scope, context["prefix"])
    server = _located(
        path,
        statement,
        block_line=parser.block_line(path, statement["line"]),
        names=[],
        listens=[],
        access_logs=[],
        locations=[],
    )
    for item_path, item in items:
        if item["directive"] == "listen":
            server["listens"].append(_located(item_path, item, **parse_listen(item["args"])))
        elif item["directive"] == "server_name":
            server["names"].extend(item["args"])
        elif item["directive"] == "error_log" and item["args"]:
            model["error_logs"].append(item["args"][0])
        elif item["directive"] == "location":
            server["locations"].append(_location(context, item_path, item, scope))
    if not server["listens"]:
        server["listens"].append(dict(parse_listen(["80"]), file=None, line=None, implicit=True))
    server["locations"] = list(_flatten(server["locations"]))
    default = [{"path": context["default_log"], "format": "combined", "file": None, "line": None, "default": True}]
    logs = []
    for log in (scope.logs if scope.logs is not None else default) + [
        log for location in server["locations"] for log in location["access_logs"]
    ]:
        if log not in logs:
            logs.append(log)
    server["access_logs"] = logs
    model["servers"].append(server)


def _location(context, path, statement, parent):
    parser, model = context["parser"], context["model"]
    items = parser.block(path, statement)
    # if and limit_except blocks inside a location can hold the pass and set
    nested = []
    for item_path, item in items:
        if item["directive"] in ("if", "limit_except"):
            nested.extend(parser.block(item_path, item))
    scope = _child_scope(items, "location", parent, context["prefix"])
    for _item_path, item in nested:
        if item["directive"] == "set" and len(item["args"]) >= 2:
            scope.sets.setdefault(item["args"][0].lstrip("$"), []).append(item["args"][1])
    location = _located(
        path,
        statement,
        match=" ".join(statement["args"]),
        block_line=parser.block_line(path, statement["line"]),
        **{"pass": None, "settings": {}, "locations": [], "streaming": [], "access_logs": []},
    )
    for item_path, item in items + nested:
        module = item["directive"][: -len("_pass")] if item["directive"].endswith("_pass") else None
        if module in PASS_MODULES and location["pass"] is None:
            location["pass"] = _pass_record(model, module, item_path, item, scope.sets)
    for item_path, item in items:
        if item["directive"] == "location":
            location["locations"].append(_location(context, item_path, item, scope))
    default = [{"path": context["default_log"], "format": "combined", "file": None, "line": None, "default": True}]
    location["access_logs"] = list(scope.logs if scope.logs is not None else default)
    if location["pass"]:
        module = location["pass"]["module"]
        location["settings"] = _effective(scope.settings, module)
        location["streaming"] = _streaming(location, scope, module, items, parser.mentioning("event-stream"))
    return location


def _resolve_upstreams(model):
    by_name = dict((name.lower(), name) for name in model["upstreams"])  # nginx compares names caselessly
    for server in model["servers"]:
        for location in server["locations"]:
            passed = location.get("pass")
            if not passed:
                continue
            upstreams = [by_name[target.lower()] for target in passed["targets"] if target.lower() in by_name]
            passed["upstream"] = upstreams[0] if upstreams else None
            passed["upstreams"] = upstreams


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
    """The addresses a location's pass reaches: each resolved target's upstream servers, or the target.

    A target with a variable acceptq could not resolve reaches nothing known
    (``pass["unresolved"]`` says why); map values and constant ``set``s give
    several candidates, all returned.
    """
    passed = location.get("pass")
    if not passed:
        return []
    by_name = dict((name.lower(), name) for name in model["upstreams"])
    found = []
    targets = passed.get("targets")
    if targets is None:  # a model built before targets were resolved
        targets = [passed["target"]]
    for target in targets:
        name = by_name.get(target.lower())
        addresses = [server["address"] for server in model["upstreams"][name]["servers"]] if name else [target]
        found.extend(address for address in addresses if address not in found)
    return found


def upstream_links(model, location):
    """[(upstream name or None, address)] a location's pass reaches, each address with the upstream it
    comes through (map values can lead to several upstreams); [] when the target is unresolved
    (``pass["unresolved"]`` says why)."""
    passed = location.get("pass")
    if not passed:
        return []
    by_name = dict((name.lower(), name) for name in model["upstreams"])
    links = []
    targets = passed.get("targets")
    for target in [passed["target"]] if targets is None else targets:
        name = by_name.get(target.lower())
        addresses = [server["address"] for server in model["upstreams"][name]["servers"]] if name else [target]
        links.extend((name, address) for address in addresses if (name, address) not in links)
    return links


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
    send = read
    streaming = bool(location.get("streaming"))
    if streaming:
        # a long read timeout is intended where responses stream: keep what is configured
        read = _current_seconds(location, "read_timeout", 60.0)
        send = _current_seconds(location, "send_timeout", 60.0)
    values = {
        "read_timeout_s": _round_time(read),
        "send_timeout_s": _round_time(send),
        "streaming": streaming,
        "connect_timeout_s": _round_time(
            min(read, send, CONNECT_TIMEOUT_MAX_S, _current_seconds(location, "connect_timeout", 60.0))
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
