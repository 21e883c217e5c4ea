# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of the flock concern: find exclusive locks around log appends in PHP.

Parses with tree-sitter (tree-sitter-php), so comments, strings and a method
merely named flock never count. One ``Hit`` per place that serialises log
writes; each carries the file:line, the source line, what it writes to when
that is a literal, and what the codemod needs to decide whether removing the
lock is safe (``guards``, ``edit``). Symfony's monolog YAML is read line by
line: the one key that matters is flat.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Kinds, one rule each (rules.py maps them to ids).
LOCK_APPEND = "lock_append"
PUT_APPEND_LOCK = "put_append_lock"
MONOLOG_LOCKING = "monolog_locking"
CONFIG_LOCKING = "config_locking"
FRAMEWORK_LOGGER = "framework_logger"
KINDS = (LOCK_APPEND, PUT_APPEND_LOCK, MONOLOG_LOCKING, CONFIG_LOCKING, FRAMEWORK_LOGGER)

# flock operations: the constants' values, for code that passes integers.
_LOCK_VALUES = {"LOCK_SH": 1, "LOCK_EX": 2, "LOCK_UN": 3, "LOCK_NB": 4}
_WRITES = frozenset(("fwrite", "fputs", "fputcsv", "fprintf", "vfprintf", "stream_copy_to_stream"))
# Calls under the lock that make it guard more than the append (the codemod refuses these).
_GUARDED = {
    "ftruncate": "a truncate",
    "rewind": "a rewrite (rewind)",
    "fseek": "a rewrite (fseek)",
    "rename": "a rotation (rename)",
    "copy": "a rotation (copy)",
    "unlink": "a rotation (unlink)",
}
_ROTATE_NAME = re.compile(r"rotat|roll", re.I)
# Reads or repositioning of the locked handle itself: a read-modify-write of a state file, not a log.
_REWRITES = frozenset(("fgets", "fgetc", "fread", "fgetcsv", "stream_get_contents", "ftruncate", "fseek", "rewind"))
_LOCKING_KEYS = ("locking", "useLocking", "use_locking")
# Monolog handlers taking useLocking, and its 0-based position among the constructor's arguments.
MONOLOG_HANDLERS = {"StreamHandler": 4, "RotatingFileHandler": 5}

# Loggers that lock every write by default: (namespace, class) -> (framework, what to do instead).
KNOWN_LOGGERS = {
    ("", "CI_Log"): (
        "CodeIgniter 3 CI_Log",
        "extend it in application/core/MY_Log.php with a write_log() that appends without flock",
    ),
    ("CodeIgniter\\Log\\Handlers", "FileHandler"): (
        "CodeIgniter 4 FileHandler",
        "register a handler in app/Config/Logger.php that appends without flock, or log to syslog/stderr",
    ),
    ("yii\\log", "FileTarget"): (
        "Yii2 FileTarget",
        "use yii\\log\\SyslogTarget or a FileTarget subclass whose export() appends without flock; "
        "rotate with logrotate (enableRotation false)",
    ),
    ("Tracy", "Logger"): ("Tracy Logger", "set a custom logger (Debugger::setLogger) that appends without LOCK_EX"),
    ("", "LoggerAppenderFile"): ("log4php LoggerAppenderFile", "set the appender parameter locking to false"),
    ("", "LoggerAppenderDailyFile"): ("log4php LoggerAppenderDailyFile", "set the appender parameter locking to false"),
    ("", "LoggerAppenderRollingFile"): (
        "log4php LoggerAppenderRollingFile",
        "set the appender parameter locking to false (rotation then needs logrotate)",
    ),
}

_PARSER = None
_QUERIES = {}

_QUERY_TEXT = {
    # Only the functions the analysis reads: the rest of a file's calls never reach Python.
    # (A superset: _function_name still compares the exact, case-folded name.)
    "calls": "(function_call_expression function: [(name) (qualified_name)] @fn"
    ' (#match? @fn "(?i)(flock|file_put_contents|define|fopen|gzopen|fclose|env|fwrite|fputs|fputcsv|fprintf|'
    "vfprintf|stream_copy_to_stream|ftruncate|rewind|fseek|rename|copy|unlink|fgets|fgetc|fread|"
    'stream_get_contents|fgetcsv)$")) @call',
    "new": "(object_creation_expression) @new",
    "method": "(member_call_expression name: (name)) @method",
    "element": "(array_element_initializer) @element",
    "assign": "(assignment_expression left: (_) right: (_)) @assign",
    "props": "(property_element) @prop",
    "consts": "(const_element) @const",
}
# What callers ask for (query name) -> the capture holding it, under the key they read.
_CAPTURE_OF = {
    "calls": "call",
    "new": "new",
    "method": "method",
    "element": "element",
    "assign": "assign",
    "props": "prop",
    "consts": "const",
}


class ParseError(Exception):
    """The file could not be parsed; the message names it and the line."""


def _parser():
    global _PARSER
    if _PARSER is None:
        import tree_sitter
        import tree_sitter_php

        language = tree_sitter.Language(tree_sitter_php.language_php())
        _PARSER = tree_sitter.Parser(language)
        # One query of every pattern: the tree is walked once per file.
        _QUERIES["all"] = tree_sitter.Query(language, "\n".join(_QUERY_TEXT.values()))
    return _PARSER


class _Index:
    """Every capture of one file's tree, by name, in source order; sub-trees are byte ranges of it."""

    def __init__(self, root):
        import bisect

        import tree_sitter

        self.bisect = bisect.bisect_left
        self.root = root
        self.by_name = {}
        for name, nodes in tree_sitter.QueryCursor(_QUERIES["all"]).captures(root).items():
            nodes = sorted(nodes, key=lambda node: node.start_byte)
            self.by_name[name] = (nodes, [node.start_byte for node in nodes])

    def get(self, name, node):
        nodes, starts = self.by_name.get(name, ((), ()))
        if node is None:
            return ()
        if node == self.root:
            return nodes
        return nodes[self.bisect(starts, node.start_byte) : self.bisect(starts, node.end_byte)]


_INDEX = None


def _captures(name, node):
    """The nodes a query (by its _QUERY_TEXT name) matches inside node, in source order."""
    return _INDEX.get(_CAPTURE_OF[name], node)


class Hit:
    """One place that serialises log writes: a finding in waiting."""

    def __init__(self, kind, path, line, snippet, message, target=None, guards=(), edit=None, detail=None):
        self.kind, self.path, self.line, self.snippet = kind, path, line, snippet
        self.message, self.target = message, target
        self.guards = list(guards)
        self.edit = edit  # None when the codemod has no safe edit; else {"reason"/"ranges"...}
        self.detail = detail or {}

    def to_dict(self):
        return {
            "kind": self.kind,
            "file": self.path,
            "line": self.line,
            "snippet": self.snippet,
            "message": self.message,
            "target": self.target,
            "guards": self.guards,
            "edit": self.edit,
            "detail": self.detail,
        }

    def __repr__(self):
        return "Hit(%s %s:%d)" % (self.kind, self.path, self.line)


class _File:
    def __init__(self, path, source):
        self.path = path
        self.source = source
        self.lines = source.split(b"\n")

    def text(self, node):
        return self.source[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def snippet(self, node):
        line = self.lines[node.start_point[0]] if node.start_point[0] < len(self.lines) else b""
        return line.decode("utf-8", "replace").strip()[:200]


def _unwrap(node):
    """The expression inside an argument, parentheses and @."""
    while node is not None:
        if node.type in ("parenthesized_expression", "error_suppression_expression"):
            children = node.named_children
            node = children[-1] if children else None
        elif node.type == "argument":
            name = node.child_by_field_name("name")
            children = [child for child in node.named_children if child != name]
            node = children[-1] if children else None
        else:
            return node
    return None


def _args(call):
    """[(name or None, value node)] of a call's arguments."""
    arguments = call.child_by_field_name("arguments")
    if arguments is None:
        for child in call.named_children:
            if child.type == "arguments":
                arguments = child
    out = []
    for argument in arguments.named_children if arguments is not None else ():
        if argument.type != "argument":
            continue
        name = argument.child_by_field_name("name")
        values = [child for child in argument.named_children if child != name]
        if not values:
            continue
        out.append((name and name.text.decode(), values[-1]))
    return out


def _function_name(call, src):
    node = call.child_by_field_name("function")
    name = src.text(node)
    return name.rsplit("\\", 1)[-1].lower()


def _enclosing(node, types):
    node = node.parent
    while node is not None and node.type not in types:
        node = node.parent
    return node


_FUNCTIONS = ("function_definition", "method_declaration", "anonymous_function", "arrow_function", "program")
_CLASSES = ("class_declaration", "trait_declaration", "anonymous_class", "enum_declaration")


def _string_value(node, src):
    """A literal string's value (single or double quoted, no interpolation), else None."""
    if node is None:
        return None
    if node.type in ("string", "encapsed_string"):
        parts = []
        for child in node.named_children:
            if child.type == "string_content":
                parts.append(src.text(child))
            elif child.type == "escape_sequence":
                parts.append(src.text(child).encode().decode("unicode_escape", "replace"))
            else:
                return None
        return "".join(parts)
    if node.type == "nowdoc" or node.type == "heredoc":
        return None
    return None


class _Scope:
    """Assignments in a function (for $variables) and in a class (for $this->props)."""

    def __init__(self, src, function, klass, file_consts, scope_for=None):
        self.src, self.function, self.klass, self.file_consts = src, function, klass, file_consts
        self.scope_for = scope_for or (lambda node: self)
        self._values = None
        self._props = None

    def _collect(self, node):
        values = {}
        for assign in _captures("assign", node):
            left = assign.child_by_field_name("left")
            right = assign.child_by_field_name("right")
            if left is None or right is None:
                continue
            # A nested function's own variables are not ours (its $this is, below).
            values.setdefault(_key(left, self.src), []).append(right)
        return values

    def values(self, key):
        if key.startswith("$this->") or key.startswith("self::") or key.startswith("static::"):
            return self.props(key)
        if self._values is None:
            self._values = self._collect(self.function) if self.function is not None else {}
        return self._values.get(key, [])

    def props(self, key):
        if self._props is None:
            self._props = self._collect(self.klass) if self.klass is not None else {}
            defaults = {}
            if self.klass is not None:
                for prop in _captures("props", self.klass):
                    name = prop.child_by_field_name("name")
                    default = prop.child_by_field_name("default_value")
                    if name is not None:
                        defaults["$this->" + self.src.text(name).lstrip("$")] = default
                for const in _captures("consts", self.klass):
                    children = const.named_children
                    if len(children) >= 2:
                        defaults["self::" + self.src.text(children[0])] = children[-1]
            self._defaults = defaults
        return self._props.get(key, [])

    def default(self, key):
        self.props(key)
        return self._defaults.get(key, "absent")


def _key(node, src):
    """A stable name for an lvalue: $fp, $this->stream, self::X."""
    node = _unwrap(node)
    if node is None:
        return ""
    if node.type in ("member_access_expression", "nullsafe_member_access_expression"):
        obj = node.child_by_field_name("object")
        name = node.child_by_field_name("name")
        if obj is not None and name is not None and src.text(obj) == "$this":
            return "$this->" + src.text(name)
    if node.type == "class_constant_access_expression":
        text = src.text(node)
        return text.replace("static::", "self::")
    return src.text(node)


def _resolve(node, scope, depth=0):
    """Possible literal values of an expression: a set of str/bool/int/frozenset-of-names, or None when unknown."""
    node = _unwrap(node)
    if node is None or depth > 6:
        return None
    src = scope.src
    if node.type in ("string", "encapsed_string"):
        value = _string_value(node, src)
        return None if value is None else {value}
    if node.type == "boolean":
        return {src.text(node).lower() == "true"}
    if node.type == "integer":
        try:
            return {int(src.text(node), 0)}
        except ValueError:
            return None
    if node.type in ("name", "qualified_name"):
        name = src.text(node).rsplit("\\", 1)[-1]
        if name.upper() in ("TRUE", "FALSE"):
            return {name.upper() == "TRUE"}
        if name in scope.file_consts:
            return _resolve(scope.file_consts[name], scope, depth + 1)
        return {frozenset((name,))}
    if node.type == "binary_expression":
        operator = node.child_by_field_name("operator")
        op = src.text(operator) if operator is not None else ""
        left = _resolve(node.child_by_field_name("left"), scope, depth + 1)
        right = _resolve(node.child_by_field_name("right"), scope, depth + 1)
        if left is None or right is None:
            return None
        if op == "|":
            out = set()
            for a in left:
                for b in right:
                    out.add(_flag_union(a, b))
            return out
        if op == ".":
            out = set()
            for a in left:
                for b in right:
                    if isinstance(a, str) and isinstance(b, str):
                        out.add(a + b)
                    else:
                        return None
            return out
        return None
    if node.type == "conditional_expression":
        out = set()
        body = node.child_by_field_name("body")
        for branch in (
            body if body is not None else node.child_by_field_name("condition"),
            node.child_by_field_name("alternative"),
        ):
            values = _resolve(branch, scope, depth + 1)
            if values is None:
                return None
            out |= values
        return out
    if node.type in ("variable_name", "member_access_expression", "class_constant_access_expression"):
        key = _key(node, scope.src)
        rights = scope.values(key)
        out = set()
        for right in rights:
            values = _resolve(right, scope, depth + 1)
            if values is None:
                return None
            out |= values
        if key.startswith("$this->") or key.startswith("self::"):
            default = scope.default(key)
            if default is not None and default != "absent":
                values = _resolve(default, scope, depth + 1)
                if values is None:
                    return None
                out |= values
            elif not rights and default == "absent":
                return None
        return out or None
    if node.type == "function_call_expression" and _function_name(node, src) == "env":
        args = _args(node)
        if len(args) >= 2:
            return _resolve(args[1][1], scope, depth + 1)
    return None


def _flag_union(a, b):
    names = set()
    for value in (a, b):
        if isinstance(value, frozenset):
            names |= value
        elif isinstance(value, int) and not isinstance(value, bool):
            names |= set(name for name, bit in _LOCK_VALUES.items() if bit & value and name != "LOCK_UN")
        else:
            names.add(repr(value))
    return frozenset(names)


def _flag_names(values):
    """Each possibility as a set of constant names (integers mapped back for flock)."""
    out = []
    for value in values:
        if isinstance(value, frozenset):
            out.append(set(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            if value in (2, 6):
                out.append({"LOCK_EX"} | ({"LOCK_NB"} if value & 4 else set()))
            elif value in (1, 5):
                out.append({"LOCK_SH"})
            elif value == 3:
                out.append({"LOCK_UN"})
            else:
                out.append(set())
        else:
            out.append(set())
    return out


def _file_consts(root, src):
    consts = {}
    for call in _captures("calls", root):
        if _function_name(call, src) == "define":
            args = _args(call)
            if len(args) >= 2:
                name = _string_value(_unwrap(args[0][1]), src)
                if name:
                    consts[name] = args[1][1]
    return consts


def _is_append_mode(mode):
    return isinstance(mode, str) and mode.lstrip().startswith("a")


def _handle_modes(handle_key, scope):
    """(modes of fopen calls assigned to this handle, the path argument) or (None, None)."""
    rights = scope.values(handle_key)
    modes, path_node = set(), None
    for right in rights:
        right = _unwrap(right)
        if right is not None and right.type == "binary_expression":
            # $fp = fopen(...) or die(...)
            right = _unwrap(right.child_by_field_name("left"))
        if right is None or right.type != "function_call_expression":
            continue
        if _function_name(right, scope.src) not in ("fopen", "gzopen"):
            continue
        args = _args(right)
        if len(args) < 2:
            continue
        # The mode may be a local of the method that opens the handle.
        values = _resolve(args[1][1], scope.scope_for(right))
        if values is None:
            modes.add(None)
        else:
            modes |= values
        path_node = args[0][1]
    return (modes or None), path_node


def _target(node, scope):
    if node is None:
        return None
    values = _resolve(node, scope)
    if values and len(values) == 1:
        value = next(iter(values))
        if isinstance(value, str):
            return value
    return scope.src.text(node)[:120]


def _statement_of(call):
    """The expression statement a call is, or None when its value is used."""
    node = call
    parent = node.parent
    while parent is not None and parent.type in ("error_suppression_expression", "parenthesized_expression"):
        node, parent = parent, parent.parent
    if parent is not None and parent.type == "expression_statement":
        return parent
    return None


def _in_loop(node, stop):
    node = node.parent
    while node is not None and node != stop:
        if node.type in ("while_statement", "do_statement", "for_statement", "foreach_statement"):
            return True
        node = node.parent
    return False


def _optional_lock(call, scope):
    """For a lock inside `if ($this->useLocking)`: (switch key, its default) or None."""
    node = call.parent
    while node is not None and node != scope.function:
        if node.type == "if_statement":
            condition = _unwrap(node.child_by_field_name("condition"))
            if condition is not None and condition.type in ("variable_name", "member_access_expression"):
                key = _key(condition, scope.src)
                if "lock" in key.lower():
                    return key
        node = node.parent
    return None


class Analysis:
    def __init__(self, path, source):
        self.src = _File(path, source)
        self.hits = []
        self.errors = []


def _syntax_error(tree, path):
    """The first ERROR or MISSING node's line, or None."""
    root = tree.root_node
    if not root.has_error:
        return None
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            return node.start_point[0] + 1
        stack.extend(child for child in reversed(node.children) if child.has_error or child.is_missing)
    return root.start_point[0] + 1


def analyze(path, source):
    """(hits, errors) for one file's bytes; errors are strings naming the path.

    A file with a syntax error still yields what parsed, plus an error: the
    codemod refuses anything whose parse was not clean (``parse_ok``).
    """
    if isinstance(source, str):
        source = source.encode("utf-8", "surrogateescape")
    if path.endswith((".yaml", ".yml")):
        return analyze_yaml(path, source.decode("utf-8", "replace")), []
    if b"\0" in source[:8192]:
        return [], ["%s: binary content, not PHP" % path]
    global _INDEX
    tree = _parser().parse(source)
    src = _File(path, source)
    errors = []
    bad_line = _syntax_error(tree, path)
    if bad_line is not None:
        errors.append("%s:%d: syntax error (tree-sitter could not parse it)" % (path, bad_line))
    root = tree.root_node
    _INDEX = _Index(root)
    consts = _file_consts(root, src)
    hits = []
    scopes = {}

    def scope_for(node):
        function = _enclosing(node, _FUNCTIONS)
        klass = _enclosing(node, _CLASSES)
        key = (function.id if function is not None else None, klass.id if klass is not None else None)
        if key not in scopes:
            scopes[key] = _Scope(src, function, klass, consts, scope_for)
        return scopes[key]

    calls = _captures("calls", root)
    for call in calls:
        name = _function_name(call, src)
        if name == "flock":
            hit = _flock_hit(call, scope_for(call), src)
        elif name == "file_put_contents":
            hit = _put_hit(call, scope_for(call), src)
        else:
            continue
        if hit is not None:
            hits.append(hit)
    # Cheap name tests first: a scope is built only where a finding is possible.
    for new in _captures("new", root):
        if _class_basename(new, src) in MONOLOG_HANDLERS:
            hits.append(_monolog_new(new, scope_for(new), src))
    for call in _captures("method", root):
        if src.text(call.child_by_field_name("name")) == "useLocking":
            hits.append(_locking_method(call, scope_for(call), src))
    for element in _captures("element", root):
        key_node, _value = _element_parts(element, src)
        if key_node is not None and _string_value(key_node, src) in _LOCKING_KEYS:
            hits.append(_locking_element(element, scope_for(element), src))
    hits = [hit for hit in hits if hit is not None]
    _known_loggers(root, src, hits)
    for hit in hits:
        # The function that locks: a path passed in is matched with its call sites at run time.
        if "function" not in hit.detail:
            hit.detail["function"] = _function_at(root, src, hit.line)
    hits.sort(key=lambda hit: (hit.line, hit.kind))
    return hits, errors


def _write_count(scope, handle_key, within):
    """Writes to the handle (direct, or the handle passed to a call) anywhere inside a node."""
    return _write_count_range(scope, handle_key, within, -1, within.end_byte + 1)


def _flock_hit(call, scope, src):
    args = _args(call)
    if len(args) < 2:
        return None
    operations = _resolve(args[1][1], scope)
    if operations is None:
        return None
    names = _flag_names(operations)
    if not any("LOCK_EX" in possible for possible in names):
        return None
    handle_key = _key(args[0][1], src)
    modes, path_node = _handle_modes(handle_key, scope)
    if not modes and handle_key.startswith("$this->") and _known_logger(scope.klass, src) is not None:
        modes = {"a (opened by the parent class)"}  # a known logger's inherited log handle
    if not modes or not any(_is_append_mode(mode) for mode in modes):
        return None  # a lock file, a cache rewrite, or a handle we cannot see opened
    switch = _optional_lock(call, scope)
    if switch is not None:
        default = scope.default(switch) if switch.startswith("$this->") else "absent"
        values = _resolve(default, scope) if default not in (None, "absent") else None
        if not values or True not in values:
            return None  # off unless turned on: the finding is where it is turned on
    function = scope.function
    # Under the lock: from the flock to the matching unlock or fclose (or the function's end).
    guarded_end = function.end_byte if function is not None else src.source.__len__()
    guards, writes = [], 0
    unlock_statement = None
    for other in _captures("calls", function) if function is not None else ():
        if other.start_byte <= call.end_byte:
            continue
        other_name = _function_name(other, src)
        other_args = _args(other)
        if _releases(other_name, other_args, handle_key, scope):
            guarded_end = min(guarded_end, other.start_byte)
            if other_name == "flock" and unlock_statement is None:
                unlock_statement = _statement_of(other)
            break
    body = function if function is not None else call
    for other in _captures("calls", body):
        if not (call.end_byte < other.start_byte < guarded_end):
            continue
        other_name = _function_name(other, src)
        other_args = _args(other)
        if other_name in _REWRITES and other_args and _key(other_args[0][1], src) == handle_key:
            return None  # reads or rewinds the locked file: a state file rewritten, not a log
        if other_name in _GUARDED:
            guards.append("%s at line %d" % (_GUARDED[other_name], other.start_point[0] + 1))
    for other in _captures("method", body):
        if call.end_byte < other.start_byte < guarded_end:
            method = src.text(other.child_by_field_name("name"))
            if _ROTATE_NAME.search(method):
                guards.append("a rotation (%s()) at line %d" % (method, other.start_point[0] + 1))
    writes = _write_count_range(scope, handle_key, body, call.end_byte, guarded_end)
    if writes == 0 and not handle_key.startswith("$this->"):
        return None  # locks without writing: a mutex
    if writes == 0 and scope.klass is not None and _write_count(scope, handle_key, scope.klass) == 0:
        return None
    if writes > 1:
        guards.append("%d writes under one lock" % writes)
    statement = _statement_of(call)
    edit = None
    if statement is not None:
        edit = {"remove": [[statement.start_byte, statement.end_byte]]}
        if unlock_statement is not None:
            edit["remove"].append([unlock_statement.start_byte, unlock_statement.end_byte])
    nonblocking = any("LOCK_NB" in possible for possible in names)
    return Hit(
        LOCK_APPEND,
        src.path,
        call.start_point[0] + 1,
        src.snippet(call),
        "flock(LOCK_EX%s) on %s, opened in append mode%s"
        % ("|LOCK_NB" if nonblocking else "", handle_key, " (in a retry loop)" if _in_loop(call, function) else ""),
        target=_target(path_node, scope),
        guards=guards,
        edit=edit if edit is not None else {"refuse": "the lock's result is used by the code around it"},
        detail={"handle": handle_key, "modes": sorted(str(mode) for mode in modes), "nonblocking": nonblocking},
    )


def _releases(name, args, handle_key, scope):
    """fclose($fp) or flock($fp, LOCK_UN): where the lock on the handle ends."""
    if name not in ("flock", "fclose") or not args or _key(args[0][1], scope.src) != handle_key:
        return False
    if name == "fclose":
        return True
    return len(args) > 1 and any("LOCK_UN" in names for names in _flag_names(_resolve(args[1][1], scope) or ()))


def _write_count_range(scope, handle_key, body, start, end):
    count = 0
    for call in _captures("calls", body):
        if not (start < call.start_byte < end):
            continue
        args = _args(call)
        if args and _function_name(call, scope.src) in _WRITES and _key(args[0][1], scope.src) == handle_key:
            count += 2 if _in_loop(call, body) and not _in_loop_before(call, start) else 1
    for call in _captures("method", body):
        if start < call.start_byte < end and any(_key(v, scope.src) == handle_key for _n, v in _args(call)):
            count += 1
    return count


def _in_loop_before(call, start):
    """The call sits in a loop that also holds the lock (a retry loop): count the write once."""
    node = call.parent
    while node is not None:
        if node.type in ("while_statement", "do_statement", "for_statement", "foreach_statement"):
            return node.start_byte <= start
        node = node.parent
    return False


def _put_hit(call, scope, src):
    args = _args(call)
    flags_node = None
    for index, (name, value) in enumerate(args):
        if name == "flags" or (name is None and index == 2):
            flags_node = value
    if flags_node is None:
        return None
    values = _resolve(flags_node, scope)
    if values is None:
        return None
    names = _flag_names(values)
    if not any("FILE_APPEND" in possible and "LOCK_EX" in possible for possible in names):
        return None
    flags = _unwrap(flags_node)
    edit = None
    if flags is not None and flags.type == "binary_expression":
        edit = {"replace": [[flags.start_byte, flags.end_byte, "FILE_APPEND"]]}
    else:
        edit = {"refuse": "the flags are built elsewhere (%s): edit them by hand" % src.text(flags_node)[:60]}
    path_node = args[0][1] if args else None
    return Hit(
        PUT_APPEND_LOCK,
        src.path,
        call.start_point[0] + 1,
        src.snippet(call),
        "file_put_contents with FILE_APPEND | LOCK_EX",
        target=_target(path_node, scope),
        edit=edit,
    )


def _class_basename(node, src):
    for child in node.named_children:
        if child.type in ("name", "qualified_name"):
            return src.text(child).rsplit("\\", 1)[-1]
        if child.type == "arguments":
            break
    return None


def _monolog_new(new, scope, src):
    name = _class_basename(new, src)
    if name not in MONOLOG_HANDLERS:
        return None
    position = MONOLOG_HANDLERS[name]
    for index, (arg_name, value) in enumerate(_args(new)):
        if arg_name == "useLocking" or (arg_name is None and index == position):
            values = _resolve(value, scope)
            target = _target(_args(new)[0][1], scope) if _args(new) else None
            if target and target.startswith(("php://stderr", "php://stdout", "php://output")):
                return None  # a pipe: no file lock to queue on
            if values and True in values:
                node = _unwrap(value)
                return Hit(
                    MONOLOG_LOCKING,
                    src.path,
                    value.start_point[0] + 1,
                    src.snippet(value),
                    "new %s(...) with useLocking true" % name,
                    target=target,
                    edit=_bool_edit(node, src),
                )
    return None


def _bool_edit(node, src):
    if node is not None and node.type == "boolean":
        return {"replace": [[node.start_byte, node.end_byte, "false"]]}
    return {"refuse": "the value is computed (%s): set it to false by hand" % (src.text(node)[:60] if node else "?")}


def _locking_method(call, scope, src):
    """->useLocking(true): Symfony's PHP configuration of the monolog bundle, and builders."""
    name = src.text(call.child_by_field_name("name"))
    if name != "useLocking":
        return None
    args = _args(call)
    if not args:
        return None
    values = _resolve(args[0][1], scope)
    if not values or True not in values:
        return None
    return Hit(
        CONFIG_LOCKING,
        src.path,
        call.start_point[0] + 1,
        src.snippet(call),
        "monolog handler configured with ->useLocking(true)",
        edit=_bool_edit(_unwrap(args[0][1]), src),
    )


def _element_parts(element, src):
    children = element.named_children
    if len(children) == 2:
        return children[0], children[1]
    return None, None


def _locking_element(element, scope, src):
    """'locking' => true (Laravel), 'useLocking' => true (a factory's arguments), 'use_locking' => true."""
    key_node, value = _element_parts(element, src)
    if key_node is None:
        return None
    key = _string_value(key_node, src)
    if key not in _LOCKING_KEYS:
        return None
    array = element.parent
    siblings = {}
    for sibling in array.named_children if array is not None else ():
        sibling_key, sibling_value = _element_parts(sibling, src)
        if sibling_key is not None:
            siblings[_string_value(sibling_key, src)] = sibling_value
    # 'locking' counts in Laravel's channel array: a driver or a path beside it, or config/logging.php itself.
    if key == "locking" and not (set(siblings) & {"driver", "path", "handler"} or src.path.endswith("logging.php")):
        return None
    values = _resolve(value, scope)
    if not values or True not in values:
        return None
    raw = _unwrap(value)
    edit = _bool_edit(raw, src)
    if raw is not None and raw.type == "function_call_expression" and _function_name(raw, src) == "env":
        env_default = _unwrap(_args(raw)[1][1]) if len(_args(raw)) > 1 else None
        edit = _bool_edit(env_default, src)
    kind = CONFIG_LOCKING if key in ("locking", "use_locking") else MONOLOG_LOCKING
    return Hit(
        kind,
        src.path,
        element.start_point[0] + 1,
        src.snippet(element),
        "%r => %s turns Monolog's per-record flock on" % (key, src.text(value)[:40]),
        target=_target(siblings.get("path"), scope) if siblings.get("path") is not None else None,
        edit=edit,
    )


_YAML_LOCKING = re.compile(r"^(?P<indent>\s*)use_locking\s*:\s*(?P<value>[^#\s]+)")
_YAML_PATH = re.compile(r"^\s*path\s*:\s*['\"]?(?P<path>[^'\"#\s]+)")


def analyze_yaml(path, text):
    """Symfony's monolog bundle YAML: use_locking: true on a handler."""
    hits = []
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        found = _YAML_LOCKING.match(line)
        if not found or found.group("value").strip("'\"").lower() not in ("true", "yes", "on", "1"):
            continue
        target = None
        for other in lines[max(0, number - 10) : number + 10]:
            path_found = _YAML_PATH.match(other)
            if path_found and len(other) - len(other.lstrip()) == len(found.group("indent")):
                target = path_found.group("path")
        # Byte offsets, as the PHP edits use.
        start = sum(len(item.encode("utf-8")) + 1 for item in lines[: number - 1])
        start += len(line[: found.start("value")].encode("utf-8"))
        hits.append(
            Hit(
                CONFIG_LOCKING,
                path,
                number,
                line.strip(),
                "monolog handler with use_locking: %s" % found.group("value"),
                target=target,
                edit={"replace": [[start, start + len(found.group("value").encode("utf-8")), "false"]]},
            )
        )
    return hits


def _function_at(root, src, line):
    """The name of the function or method around a line, or None at file level."""
    node = root.descendant_for_point_range((line - 1, 0), (line - 1, 0))
    while node is not None:
        if node.type in ("function_definition", "method_declaration"):
            name = node.child_by_field_name("name")
            return src.text(name) if name is not None else None
        node = node.parent
    return None


def _namespace_of(node, src, root):
    namespace = ""
    for child in root.named_children:
        if child.start_byte > node.start_byte:
            break
        if child.type == "namespace_definition":
            name = child.child_by_field_name("name")
            namespace = src.text(name) if name is not None else ""
    return namespace


def _known_logger(klass, src):
    """KNOWN_LOGGERS' entry for a class node, or None."""
    if klass is None or _INDEX is None:
        return None
    name = klass.child_by_field_name("name")
    return KNOWN_LOGGERS.get((_namespace_of(klass, src, _INDEX.root), src.text(name) if name is not None else ""))


def _known_loggers(root, src, hits):
    """Reclassify the hits inside a known framework logger: they lock by default."""
    for hit in hits:
        if hit.kind not in (LOCK_APPEND, PUT_APPEND_LOCK):
            continue
        node = root.descendant_for_point_range((hit.line - 1, 0), (hit.line - 1, 0))
        # Find the class around the hit's line.
        klass = None
        for candidate in _iter_classes(root):
            if candidate.start_point[0] <= hit.line - 1 <= candidate.end_point[0]:
                klass = candidate
        if klass is None or node is None:
            continue
        name = klass.child_by_field_name("name")
        key = (_namespace_of(klass, src, root), src.text(name) if name is not None else "")
        if key in KNOWN_LOGGERS:
            framework, advice = KNOWN_LOGGERS[key]
            hit.detail["lock_kind"] = hit.kind
            hit.kind = FRAMEWORK_LOGGER
            hit.detail["framework"] = framework
            hit.message = "%s locks every log write by default (%s)" % (framework, hit.message)
            hit.detail["advice"] = advice
            hit.edit = {"refuse": "framework code (%s): %s" % (framework, advice)}


_CONTAINERS = frozenset(("program", "namespace_definition", "compound_statement", "declaration_list") + _CLASSES)


def _iter_classes(root):
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in _CLASSES:
            yield node
        if (
            node.type in ("program", "namespace_definition", "compound_statement", "declaration_list")
            or node == root
            or node.type in _CLASSES
        ):
            stack.extend(node.named_children)
