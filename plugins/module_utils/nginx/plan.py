# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan precise edits of the nginx configuration: timeouts, ejection, listen backlog.

Runs on the controller over the parsed model (``_nginx.load_config``). The
user's files are never rewritten wholesale: a directive is replaced on the
line the parser found it, or one line is inserted inside its block right
after the block's opening brace. Files the parser could not read are refused.

The text edits are pure functions of (text, line number); the scanner below
only finds where statements start and end on one line (quotes, escapes and
comments honoured), the parsing itself is the model's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as _nginx


class PlanError(ValueError):
    """An edit that cannot be made safely at the given place."""


# nginx's whitespace between words (ngx_conf_read_token): a form feed or a U+2028 is not.
_SPACE = " \t\r\n"


def _skip_comment(text, index):
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1


def _word_end(text, index):
    """Where the word starting at ``index`` ends, read as nginx reads it."""
    length = len(text)
    if text[index] in "\"'":
        quote, index = text[index], index + 1
        while index < length and text[index] != quote:
            index += 2 if text[index] == "\\" else 1
        if index >= length:
            raise PlanError("unterminated quote")
        return index + 1
    while index < length and text[index] not in _SPACE and text[index] not in ";{}":
        if text[index] == "\\":
            index += 2
        elif text[index] == "$" and text.startswith("${", index):
            close = text.find("}", index)
            index = length if close < 0 else close + 1
        else:
            index += 1
    return index


def _statements(text, position=0, limit=None):
    """Statements whose first word starts in text[position:limit]: start, end, words, terminator.

    A statement may continue over several lines (nginx reads words until ';'
    or '{' whatever the line breaks) and a comment inside it ends at the
    newline. Words keep their quotes, so rebuilding a statement keeps the
    user's spelling. terminator is None when the text ends first.
    """
    limit = len(text) if limit is None else limit
    length = len(text)
    statements = []
    index = position
    while index < limit:
        char = text[index]
        if char in _SPACE or char in ";{}":
            index += 1
            continue
        if char == "#":
            index = _skip_comment(text, index)
            continue
        start, words, terminator = index, [], None
        while index < length:
            char = text[index]
            if char in _SPACE:
                index += 1
            elif char == "#":
                index = _skip_comment(text, index)
            elif char in ";{":
                terminator = char
                index += 1
                break
            elif char == "}":
                break
            else:
                end = _word_end(text, index)
                words.append(text[index:end])
                index = end
        if words:
            statements.append({"start": start, "end": index, "words": words, "terminator": terminator})
    return statements


class _Text:
    """A file's text and the offsets its lines start at, counted on LF only (as nginx counts)."""

    def __init__(self, text):
        self.text = text
        self.starts = [0]
        position = text.find("\n")
        while position >= 0:
            self.starts.append(position + 1)
            position = text.find("\n", position + 1)
        if self.starts[-1] == len(text):
            self.starts.pop()

    def span(self, line):
        """(start, end) of a 1-based line, end at its LF (or the end of the text)."""
        if not isinstance(line, int) or line < 1 or line > len(self.starts):
            raise PlanError("line %r is outside the file (%d lines)" % (line, len(self.starts)))
        start = self.starts[line - 1]
        end = self.text.find("\n", start)
        return start, len(self.text) if end < 0 else end


def _one_statement(text, line, name, terminator, first_arg=None):
    """The one statement ``name`` starting on a line; first_arg tells apart several (two upstream servers)."""
    start, end = text.span(line)
    shown = text.text[start:end].strip()
    try:
        found = [
            statement
            for statement in _statements(text.text, start, end)
            if statement["words"][0] == name and statement["terminator"] == terminator
        ]
    except PlanError as exc:
        raise PlanError("%s: %s" % (exc, shown)) from None
    if len(found) > 1 and first_arg is not None:
        found = [statement for statement in found if statement["words"][1:2] == [first_arg]]
    if not found:
        kind = "block" if terminator == "{" else "directive"
        raise PlanError("no %s %r starts on this line: %s" % (kind, name, shown))
    if len(found) > 1:
        raise PlanError("%d %r statements on one line, cannot tell them apart" % (len(found), name))
    return found[0]


def directive_args(text, line, name, first_arg=None):
    """The words after ``name`` of the directive ``name ...;`` that starts on a line (it may span lines)."""
    return _one_statement(_Text(text), line, name, ";", first_arg)["words"][1:]


def render(name, args):
    return " ".join([name] + list(args)) + ";"


def replace_directive(text, line, name, args, first_arg=None):
    """Replace the directive ``name ...;`` starting on a 1-based line with ``name args;``.

    Everything else on that line (indentation, other statements, a trailing
    comment) and every other line stays byte for byte; a directive split over
    several lines becomes one.
    """
    return _replace_in(_Text(text), text, line, name, args, first_arg)


def _replace_in(lines, text, line, name, args, first_arg=None):
    statement = _one_statement(_Text(text) if lines.text is not text else lines, line, name, ";", first_arg)
    return text[: statement["start"]] + render(name, args) + text[statement["end"] :]


def _newline_of(text, end):
    return "\r\n" if end > 0 and text[end - 1 : end] == "\r" else "\n"


def _indentation(text_line):
    return text_line[: len(text_line) - len(text_line.lstrip(" \t"))]


def insert_directive(text, block_line, block_name, name, args):
    """Insert ``name args;`` as the first statement of a block opened on a 1-based line.

    block_name is the block's directive (location, server, upstream, http) so
    that a line opening several blocks is not mistaken. When nothing but a
    comment follows the brace, the directive gets its own line, indented like
    the block's first statement; otherwise it goes right after the brace.
    """
    return _insert_in(_Text(text), text, block_line, block_name, name, args)


def _insert_in(lines, text, block_line, block_name, name, args):
    if lines.text is not text:
        lines = _Text(text)
    start, end = lines.span(block_line)
    current = text[start:end]
    if current.lstrip(" \t").startswith("{"):
        brace_end = start + current.index("{") + 1  # the brace on a line of its own, below the directive
    else:
        brace_end = _one_statement(lines, block_line, block_name, "{")["end"]
    line_start = text.rfind("\n", 0, brace_end) + 1
    line_end = text.find("\n", brace_end)
    line_end = len(text) if line_end < 0 else line_end
    rest = text[brace_end:line_end]
    if rest.strip() and not rest.strip().startswith("#"):
        return text[:brace_end] + " " + render(name, args) + text[brace_end:]
    newline = _newline_of(text, line_end)
    brace_line = text[line_start:line_end]
    indent = None
    position = line_end + 1
    while position < len(text):
        following_end = text.find("\n", position)
        following_end = len(text) if following_end < 0 else following_end
        following = text[position:following_end]
        if following.strip():
            if following.strip() != "}" and len(_indentation(following)) > len(_indentation(brace_line)):
                indent = _indentation(following)
            break
        position = following_end + 1
    if indent is None:
        indent = _indentation(brace_line) + "    "
    if line_end >= len(text):
        return text + newline + indent + render(name, args) + newline
    return text[: line_end + 1] + indent + render(name, args) + newline + text[line_end + 1 :]


def apply_edits(text, edits):
    """Apply edits that all refer to line numbers of the original text.

    Each edit: {"action": "replace", "line", "name", "args"} or
    {"action": "insert", "line" (the block's opening line), "block", "name", "args"}.
    Later lines first, so earlier line numbers stay valid; on one line,
    replacements before insertions.
    """
    order = {"replace": 0, "insert": 1}
    # Insertions after one brace go in reverse, so they read in the order given.
    ranked = sorted(enumerate(edits), key=lambda item: (-item[1]["line"], order[item[1]["action"]], -item[0]))
    original = _Text(text)
    for _index, edit in ranked:
        # lines above the edited one keep their offsets, so the original's offsets stay valid
        lines = _Text.__new__(_Text)
        lines.text, lines.starts = text, original.starts
        if edit["action"] == "replace":
            text = _replace_in(lines, text, edit["line"], edit["name"], edit["args"], edit.get("first_arg"))
        elif edit["action"] == "insert":
            text = _insert_in(lines, text, edit["line"], edit["block"], edit["name"], edit["args"])
        else:
            raise PlanError("unknown edit action %r" % (edit["action"],))
    return text


def set_parameter(args, key, value):
    """Words of a directive with ``key=value`` set: replaced in place, else appended."""
    prefix = key + "="
    updated = []
    found = False
    for word in args:
        if word.startswith(prefix):
            if not found:
                updated.append(prefix + value)
            found = True
        else:
            updated.append(word)
    if not found:
        updated.append(prefix + value)
    return updated


# What the role can manage; each one can be left out.
CONCERNS = ("timeouts", "next_upstream", "upstreams", "listen_backlog")
# nginx's listen backlog on Linux when backlog= is not given (NGX_LISTEN_BACKLOG).
NGINX_DEFAULT_BACKLOG = 511
# listen parameters nginx accepts on only one listen per address:port.
SOCKET_OPTIONS = (
    "bind",
    "backlog=",
    "rcvbuf=",
    "sndbuf=",
    "reuseport",
    "deferred",
    "accept_filter=",
    "setfib=",
    "fastopen=",
    "ipv6only=",
    "so_keepalive=",
)
_TIMEOUTS = (
    ("read_timeout", "read_timeout_s"),
    ("send_timeout", "send_timeout_s"),
    ("connect_timeout", "connect_timeout_s"),
)


def _where(file, line):
    return "%s:%s" % (file, line) if file else "nginx's default"


class _Wanted:
    """Edits wanted at one place, from every location that needs one; conflicts are refused."""

    def __init__(self, model):
        self.model = model
        self.bad_files = set(model.get("unparsed") or []) | set(
            error["file"] for error in model.get("errors") or [] if error.get("file")
        )
        self.edits = {}
        self.refused = []

    def refuse(self, file, line, message):
        entry = {"file": file, "line": line, "message": message}
        if entry not in self.refused:
            self.refused.append(entry)

    def add(self, edit):
        if edit["file"] in self.bad_files:
            self.refuse(edit["file"], edit["line"], "%s not changed: the file did not parse" % edit["name"])
            return
        key = (edit["action"], edit["file"], edit["line"], edit["name"], edit.get("first_arg"))
        known = self.edits.get(key)
        if known is None:
            self.edits[key] = edit
        elif known["args"] != edit["args"]:
            known["conflict"] = True
            self.refuse(
                edit["file"],
                edit["line"],
                "%s is shared by locations that need different values (%s, %s): set it per location by hand"
                % (edit["name"], render(edit["name"], known["args"]), render(edit["name"], edit["args"])),
            )

    def by_file(self):
        grouped = {}
        for edit in self.edits.values():
            if not edit.pop("conflict", False):
                grouped.setdefault(edit["file"], []).append(edit)
        for edits in grouped.values():
            edits.sort(key=lambda edit: (edit["line"], edit["name"]))
        return grouped


def _client_timeout_reason(model, server, location, workload, values):
    _value, declared = _nginx.declared_for(workload, server, location, "client_timeout_s")
    reason = "%g%% of the client timeout %gs (%s), so nginx answers 504, a counted upstream failure, before the " % (
        _nginx.UPSTREAM_SHARE_OF_CLIENT_TIMEOUT * 100,
        values["client_timeout_s"],
        "declared" if declared else "assumed: declare acceptq_workload.client_timeout_s",
    )
    reason += "client gives up (499, never counted)"
    if not values.get("p99_fits", True):
        reason += "; the p99 of %gs does not fit under it" % values["p99_s"]
    return reason


def _location_setting(wanted, server, location, module, key, args, current, reason, grouped):
    """Record the value a location needs for one setting, grouped by where nginx takes it from."""
    name = "%s_%s" % (module, key)
    if current["scope"] == "default":
        if current.get("value") != " ".join(args):
            wanted.add(_insert(location, name, args, current, reason))
        return
    group = grouped.setdefault((current["file"], current["line"], name), [])
    group.append((location, args, current, reason))


def _insert(location, name, args, current, reason):
    return {
        "action": "insert",
        "file": location["file"],
        "line": location["block_line"],
        "block": "location",
        "name": name,
        "args": list(args),
        "old": "%s %s (%s)" % (name, current.get("value"), _where(current.get("file"), current.get("line"))),
        "new": render(name, args),
        "reason": reason,
    }


def _resolve_declarations(wanted, grouped):
    """One declaration inherited by several locations: edit it where they all agree, else override per location."""
    for (file, line, name), uses in sorted(grouped.items(), key=lambda item: (item[0][0], item[0][1], item[0][2])):
        current = uses[0][2]
        wanted_args = set(tuple(args) for _location, args, _current, _reason in uses)
        if len(wanted_args) == 1:
            args = list(wanted_args.pop())
            if current.get("value") != " ".join(args):
                wanted.add(
                    {
                        "action": "replace",
                        "file": file,
                        "line": line,
                        "name": name,
                        "args": args,
                        "old": "%s %s (%s scope)" % (name, current.get("value"), current["scope"]),
                        "new": render(name, args),
                        "reason": uses[0][3],
                    }
                )
            continue
        for location, args, declared, reason in uses:
            if declared.get("value") == " ".join(args):
                continue
            if declared["scope"] == "location":
                wanted.refuse(
                    file,
                    line,
                    "%s is inherited by locations that need different values: set it per location by hand" % name,
                )
            else:
                wanted.add(_insert(location, name, args, declared, reason))


def _next_upstream_args(current, required):
    words = current.split()
    if "off" in words or not words:
        return list(required)
    missing = [word for word in required if word not in words]
    return missing + words


def _plan_locations(wanted, model, workload, manage):
    grouped = {}
    upstream_wants = {}
    for server in model.get("servers") or []:
        for location in server.get("locations") or []:
            passed = location.get("pass")
            if not passed or not location.get("settings"):
                continue
            module = passed["module"]
            values = _nginx.recommended(model, server, location, workload)
            reason = _client_timeout_reason(model, server, location, workload, values)
            settings = location["settings"]
            if "timeouts" in manage:
                for key, value_key in _TIMEOUTS:
                    if values.get("streaming") and key != "connect_timeout":
                        continue  # streamed responses: a short read or send timeout would cut them
                    args = [_nginx.format_duration(values[value_key])]
                    why = reason
                    if key == "connect_timeout":
                        why = (
                            "at most %gs, under the kernel's 1 s SYN retransmission and the read timeout: a dropped "
                            "or refused connect fails fast as a counted failure" % _nginx.CONNECT_TIMEOUT_MAX_S
                        )
                    current_s = settings[key].get("seconds")
                    if key == "read_timeout" and current_s is not None and current_s < values["p99_s"]:
                        why += "; %s is below the expected p99 of %gs: healthy slow requests failed with 504" % (
                            settings[key]["value"],
                            values["p99_s"],
                        )
                    _location_setting(wanted, server, location, module, key, args, settings[key], why, grouped)
            if "next_upstream" in manage:
                current = settings["next_upstream"]
                required = values["next_upstream"].split()
                args = _next_upstream_args(current["value"], required)
                why = "error and timeout must count as failures so the next server is tried and max_fails can eject"
                _location_setting(wanted, server, location, module, "next_upstream", args, current, why, grouped)
            if "upstreams" in manage and passed.get("upstream"):
                wants = (values["max_fails"], values["fail_timeout_s"])
                upstream_wants.setdefault(passed["upstream"], set()).add(wants)
    _resolve_declarations(wanted, grouped)
    for name in sorted(upstream_wants):
        _plan_upstream(wanted, model, model["upstreams"][name], upstream_wants[name])


def _plan_upstream(wanted, model, upstream, wants):
    if len(wants) > 1:
        wanted.refuse(
            upstream["file"],
            upstream["line"],
            "upstream %s serves locations that need different max_fails/fail_timeout: set them by hand"
            % upstream["name"],
        )
        return
    max_fails, fail_timeout_s = wants.pop()
    single = len(upstream["servers"]) == 1
    reason = "max_fails=%d fail_timeout=%s: a stalled backend is ejected after one timeout and tried again soon" % (
        max_fails,
        _nginx.format_duration(fail_timeout_s),
    )
    if single:
        reason += " (one server: nginx never ejects it, the values take effect when a second server is added)"
    for entry in upstream["servers"]:
        if entry["max_fails"] == max_fails and abs(entry["fail_timeout_s"] - fail_timeout_s) < 0.0005:
            continue
        text = (model.get("files") or {}).get(entry["file"])
        try:
            args = directive_args(text or "", entry["line"], "server", entry["address"])
        except PlanError as exc:
            wanted.refuse(entry["file"], entry["line"], "upstream %s server: %s" % (upstream["name"], exc))
            continue
        args = set_parameter(args, "max_fails", str(max_fails))
        args = set_parameter(args, "fail_timeout", _nginx.format_duration(fail_timeout_s))
        wanted.add(
            {
                "action": "replace",
                "file": entry["file"],
                "line": entry["line"],
                "name": "server",
                "first_arg": entry["address"],
                "args": args,
                "old": "server %s max_fails=%d fail_timeout=%s"
                % (entry["address"], entry["max_fails"], _nginx.format_duration(entry["fail_timeout_s"])),
                "new": render("server", args),
                "reason": reason,
            }
        )


def _socket_key(listen):
    if listen.get("unix"):
        return ("unix", listen["unix"])
    address = listen.get("address")
    address = {"*": "0.0.0.0", "[::]": "::"}.get(address, address)
    return ("tcp", address, listen.get("port"))


def _listen_groups(model):
    """Listens per socket: nginx takes a socket's options (backlog=) from one of them."""
    groups = {}
    for server in model.get("servers") or []:
        for listen in server.get("listens") or []:
            groups.setdefault(_socket_key(listen), []).append(listen)
    return groups


def _configured_backlog(listens):
    for listen in listens:
        if listen.get("backlog") is not None:
            return listen["backlog"]
    return NGINX_DEFAULT_BACKLOG


def _plan_listen_backlog(wanted, model, somaxconn, listen_backlog):
    """New configured backlog per socket key (only where it changes)."""
    changed = {}
    for key, listens in sorted(_listen_groups(model).items(), key=lambda item: repr(item[0])):
        current = _configured_backlog(listens)
        target = listen_backlog if listen_backlog else current
        if somaxconn and target > somaxconn:
            target = somaxconn
        if target == current:
            continue
        declared = [listen for listen in listens if listen.get("file")]
        carriers = [
            listen
            for listen in declared
            if any(word.startswith(SOCKET_OPTIONS) for word in (listen.get("raw") or "").split()[1:])
        ]
        if not declared:
            wanted.refuse(None, None, "%s: nginx listens there without a listen directive; add one" % (key,))
            continue
        chosen = (carriers or declared)[0]
        text = (model.get("files") or {}).get(chosen["file"])
        try:
            first_arg = (chosen.get("raw") or "").split()[0] if chosen.get("raw") else None
            args = set_parameter(
                directive_args(text or "", chosen["line"], "listen", first_arg), "backlog", str(target)
            )
        except PlanError as exc:
            wanted.refuse(chosen["file"], chosen["line"], "listen: %s" % exc)
            continue
        reason = "backlog %d -> %d: %s" % (
            current,
            target,
            "the sized value" if listen_backlog and target == listen_backlog else "capped at somaxconn %s" % somaxconn,
        )
        wanted.add(
            {
                "action": "replace",
                "file": chosen["file"],
                "line": chosen["line"],
                "name": "listen",
                "first_arg": first_arg,
                "args": args,
                "old": "listen %s" % chosen.get("raw"),
                "new": render("listen", args),
                "reason": reason,
            }
        )
        changed[key] = target
    return changed


def _listener_key(listener):
    if listener.get("family") == "unix":
        return ("unix", listener.get("path"))
    return ("tcp", listener.get("address"), listener.get("port"))


def restart_reasons(model, listeners, somaxconn, changed_backlogs):
    """Why a reload would not do: nginx listeners whose Send-Q differs from what the config asks.

    nginx re-runs listen() on reload only for sockets whose backlog= value
    changed; any other stale cap (somaxconn raised since nginx started)
    needs a restart.
    """
    reasons = []
    groups = _listen_groups(model)
    for listener in listeners or []:
        owner = (listener.get("owner") or {}).get("name") or ""
        if not owner.startswith("nginx"):
            continue
        key = _listener_key(listener)
        if key not in groups:
            continue
        configured = changed_backlogs.get(key, _configured_backlog(groups[key]))
        expected = min(configured, somaxconn) if somaxconn else configured
        if listener.get("backlog_limit") == expected or key in changed_backlogs:
            continue
        reasons.append(
            "%s: Send-Q %s, the configuration asks for %d and its backlog= does not change, so only a restart "
            "re-creates the socket" % (listener.get("local"), listener.get("backlog_limit"), expected)
        )
    return reasons


def plan(model, workload, manage=CONCERNS, somaxconn=None, listen_backlog=None, listeners=None):
    """The edits that bring the configuration to the recommended values, per file, and what was refused.

    model: ``_nginx.load_config``; workload: ``checks.effective_workload``;
    somaxconn, listeners: the host's, from the same gathering (listen backlog).
    """
    wanted = _Wanted(model)
    if model.get("truncated"):
        for limit in model.get("limits") or []:
            wanted.refuse(limit.get("file"), limit.get("line"), "nothing planned: %s" % limit.get("message"))
        return {"edits": {}, "refused": wanted.refused, "restart_reasons": []}
    for error in model.get("errors") or []:
        wanted.refuse(error.get("file"), error.get("line"), "not parsed, left alone: %s" % error.get("message"))
    _plan_locations(wanted, model, workload, manage)
    changed_backlogs = {}
    if "listen_backlog" in manage:
        changed_backlogs = _plan_listen_backlog(wanted, model, somaxconn, listen_backlog)
    restart = restart_reasons(model, listeners, somaxconn, changed_backlogs) if "listen_backlog" in manage else []
    return {"edits": wanted.by_file(), "refused": wanted.refused, "restart_reasons": restart}


def lossy(text):
    """Text as the host's dump shows it: bytes that are not UTF-8 (kept as surrogates) read as U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def same_lines(disk, dumped):
    """Whether a file on disk is the text nginx -T dumped (which ends every file with one more newline).

    disk may hold bytes that are not UTF-8 (a Latin-1 comment) decoded with
    surrogateescape, so that editing it keeps them; the dump shows them as U+FFFD.
    """
    disk = lossy(disk)
    return dumped in (disk, disk + "\n")


def render_files(edits_by_file, model_files, disk_files):
    """Apply each file's edits to its text as read from disk: [{path, content, edits}], refused.

    The disk text must be the text nginx -T dumped (line by line), or the
    line numbers mean nothing: such a file is refused. Disk texts decoded with
    surrogateescape keep their non-UTF-8 bytes through the edit.
    """
    files, refused = [], []
    for path in sorted(edits_by_file):
        edits = edits_by_file[path]
        disk = disk_files.get(path)
        if disk is None:
            refused.append({"file": path, "line": None, "message": "could not be read back from the host"})
            continue
        if not same_lines(disk, model_files.get(path) or ""):
            refused.append({"file": path, "line": None, "message": "changed on disk since nginx -T read it"})
            continue
        try:
            content = apply_edits(disk, edits)
        except PlanError as exc:
            refused.append({"file": path, "line": None, "message": str(exc)})
            continue
        if content != disk:
            files.append({"path": path, "content": content, "edits": edits})
    return files, refused
