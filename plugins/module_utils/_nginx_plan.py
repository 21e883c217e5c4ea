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


class PlanError(ValueError):
    """An edit that cannot be made safely at the given place."""


def _statements(line):
    """Statements on one line: dicts with start, end, words, terminator (';', '{' or None).

    A statement whose terminator is None continues on the next line. Words
    keep their quotes, so rebuilding a statement keeps the user's spelling.
    """
    statements = []
    index = 0
    length = len(line)
    while index < length:
        while index < length and line[index] in " \t\r\n":
            index += 1
        if index >= length or line[index] == "#":
            break
        if line[index] == "}":
            index += 1
            continue
        start = index
        words = []
        terminator = None
        while index < length:
            char = line[index]
            if char in " \t\r\n":
                index += 1
                continue
            if char == "#":
                index = length
                break
            if char in ";{":
                terminator = char
                index += 1
                break
            if char == "}":
                break
            word_start = index
            while index < length and line[index] not in " \t\r\n;{}#":
                char = line[index]
                if char == "\\":
                    index += 2
                    continue
                if char in "\"'":
                    closing = index + 1
                    while closing < length and line[closing] != char:
                        closing += 2 if line[closing] == "\\" else 1
                    if closing >= length:
                        raise PlanError("unterminated quote")
                    index = closing + 1
                    continue
                index += 1
            words.append(line[word_start:index])
        if words:
            statements.append({"start": start, "end": index, "words": words, "terminator": terminator})
    return statements


def _line_index(lines, line):
    if not isinstance(line, int) or line < 1 or line > len(lines):
        raise PlanError("line %r is outside the file (%d lines)" % (line, len(lines)))
    return line - 1


def _one_statement(text_line, name, terminator):
    try:
        found = [
            statement
            for statement in _statements(text_line)
            if statement["words"][0] == name and statement["terminator"] == terminator
        ]
    except PlanError as exc:
        raise PlanError("%s: %s" % (exc, text_line.strip())) from None
    if not found:
        kind = "block" if terminator == "{" else "directive"
        raise PlanError("no %s %r ends on this line: %s" % (kind, name, text_line.strip()))
    if len(found) > 1:
        raise PlanError("%d %r statements on one line, cannot tell them apart" % (len(found), name))
    return found[0]


def directive_args(text, line, name):
    """The words after ``name`` of the one-line directive ``name ...;`` on a line."""
    lines = text.splitlines(True)
    statement = _one_statement(lines[_line_index(lines, line)], name, ";")
    return statement["words"][1:]


def render(name, args):
    return " ".join([name] + list(args)) + ";"


def replace_directive(text, line, name, args):
    """Replace the directive ``name ...;`` on a 1-based line with ``name args;``.

    Everything else on that line (indentation, other statements, a trailing
    comment) and every other line stays byte for byte.
    """
    lines = text.splitlines(True)
    index = _line_index(lines, line)
    current = lines[index]
    statement = _one_statement(current, name, ";")
    lines[index] = current[: statement["start"]] + render(name, args) + current[statement["end"] :]
    return "".join(lines)


def _newline_of(text_line):
    for ending in ("\r\n", "\n", "\r"):
        if text_line.endswith(ending):
            return ending
    return "\n"


def _indentation(text_line):
    return text_line[: len(text_line) - len(text_line.lstrip(" \t"))]


def insert_directive(text, block_line, block_name, name, args):
    """Insert ``name args;`` as the first statement of a block opened on a 1-based line.

    block_name is the block's directive (location, server, upstream, http) so
    that a line opening several blocks is not mistaken. When nothing but a
    comment follows the brace, the directive gets its own line, indented like
    the block's first statement; otherwise it goes right after the brace.
    """
    lines = text.splitlines(True)
    index = _line_index(lines, block_line)
    current = lines[index]
    statement = _one_statement(current, block_name, "{")
    brace_end = statement["end"]
    rest = current[brace_end:]
    if rest.strip() and not rest.strip().startswith("#"):
        lines[index] = current[:brace_end] + " " + render(name, args) + rest
        return "".join(lines)
    newline = _newline_of(current)
    if not current.endswith(("\n", "\r")):
        lines[index] = current + newline
    indent = None
    for following in lines[index + 1 :]:
        if following.strip():
            if following.strip() != "}" and len(_indentation(following)) > len(_indentation(current)):
                indent = _indentation(following)
            break
    if indent is None:
        indent = _indentation(current) + "    "
    lines.insert(index + 1, indent + render(name, args) + newline)
    return "".join(lines)


def apply_edits(text, edits):
    """Apply edits that all refer to line numbers of the original text.

    Each edit: {"action": "replace", "line", "name", "args"} or
    {"action": "insert", "line" (the block's opening line), "block", "name", "args"}.
    Later lines first, so earlier line numbers stay valid; on one line,
    replacements before insertions.
    """
    order = {"replace": 0, "insert": 1}
    for edit in sorted(edits, key=lambda edit: (-edit["line"], order[edit["action"]])):
        if edit["action"] == "replace":
            text = replace_directive(text, edit["line"], edit["name"], edit["args"])
        elif edit["action"] == "insert":
            text = insert_directive(text, edit["line"], edit["block"], edit["name"], edit["args"])
        else:
            raise PlanError("unknown edit action %r" % (edit["action"],))
    return text


def format_duration(seconds):
    """nginx time syntax: whole seconds as "2s", anything finer in milliseconds."""
    milliseconds = int(round(seconds * 1000))
    if milliseconds <= 0:
        raise PlanError("a duration must be positive, got %r s" % (seconds,))
    if milliseconds % 1000 == 0:
        return "%ds" % (milliseconds // 1000)
    return "%dms" % milliseconds


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
