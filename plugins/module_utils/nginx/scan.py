# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""acceptq scan for nginx: the audit's nginx model and rules on local files, without Ansible.

A PATH is a ``nginx -T`` dump, a main nginx.conf whose includes are read
from disk as nginx reads them (relative to the file's directory, nginx's
glob rules), a directory holding nginx.conf, or a file of server blocks as
a sites-enabled file holds them (scanned as if included in http {}).
Findings carry ``file`` and ``line`` in their evidence; a path that cannot
be read is an error naming it, never a traceback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as _nginx
from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import rules as _rules

_PEEK = 64 * 1024
# Top-level words of a file that nginx would read: a main configuration or a sites file.
_MAIN = ("http", "events", "worker_processes", "user", "pid", "include", "stream", "load_module", "error_log")
_SITES = ("server", "upstream", "map", "log_format")


def _head(path):
    with open(path, "rb") as handle:
        return handle.read(_PEEK).decode("utf-8", "replace")


def _is_dump(text):
    for line in text.split("\n"):
        if line.strip():
            return line.startswith(_nginx.DUMP_MARKER) and line.rstrip("\r").endswith(":")
    return False


def _top_words(text):
    """The first word of each top-level statement in the first bytes of a file (a cheap sniff)."""
    words, depth, at_start = set(), 0, True
    for line in text.split("\n"):
        line = line.split("#", 1)[0]
        for token in line.replace("{", " { ").replace("}", " } ").replace(";", " ; ").split():
            if token == "{":
                depth += 1
                at_start = True
            elif token == "}":
                depth = max(0, depth - 1)
                at_start = True
            elif token == ";":
                at_start = True
            elif at_start:
                if depth == 0:
                    words.add(token)
                at_start = False
    return words


def _kind(path):
    """'dump', 'main', 'sites' or None for what a path holds."""
    if os.path.isdir(path):
        return "main" if os.path.isfile(os.path.join(path, "nginx.conf")) else None
    try:
        text = _head(path)
    except (IOError, OSError):
        return None
    if _is_dump(text):
        return "dump"
    if "\0" in text:
        return None
    words = _top_words(text)
    if words & set(_MAIN) and not words & {"server", "location"}:
        return "main"
    if words & set(_SITES):
        return "sites"
    return None


def claims(path):
    """An nginx -T dump, a main nginx.conf (or a directory holding one), or a sites file."""
    return _kind(path) is not None


class _SitesSource(_nginx.DiskSource):
    """A sites file read from disk inside a synthetic ``http { include FILE; }``."""

    def __init__(self, main_path, sites_path):
        _nginx.DiskSource.__init__(self)
        self.files[main_path] = "http {\n    include %s;\n}\n" % sites_path


def _model(path, kind):
    if kind == "dump":
        with open(path, "rb") as handle:
            text = handle.read(_nginx.LIMITS["bytes"] + 1).decode("utf-8", "replace")
        section = {
            "binary": "nginx",
            "conf_source": "nginx -T dump %s" % path,
            "dump": {"returncode": 0, "stdout": text, "stderr": ""},
        }
        return _nginx.load_config(section)
    path = os.path.abspath(path)
    if kind == "main":
        conf = os.path.join(path, "nginx.conf") if os.path.isdir(path) else path
        return _nginx.load_tree(conf, section={"conf_source": "read from disk"})
    main = os.path.join(os.path.dirname(path), "(acceptq scan: http block around %s)" % os.path.basename(path))
    model = _nginx._empty_model()
    section = {"binary": "nginx", "prefix": os.path.dirname(path) + "/", "conf_source": "a sites file"}
    return _nginx.build(model, _SitesSource(main, path), main, section)


def scan(paths, workload=None):
    """(findings, errors) over nginx configurations; errors are {"path", "line", "message"}.

    workload: the declared acceptq_workload, or the effective one as the CLI builds it.
    """
    from ansible_collections.acceptq.remediation.plugins.module_utils.registry import (
        PolicyError,
        effective_policy,
        effective_workload,
    )

    errors, findings = [], []
    try:
        policy = effective_policy(None)
        # the CLI hands the effective workload (it lists what was assumed); a caller may hand the declared one
        policy["workload"] = workload if workload and "assumed" in workload else effective_workload(workload)
    except PolicyError as exc:
        return [], [{"path": "workload", "line": None, "message": "acceptq_workload: %s" % exc}]
    policy["fleet"] = None
    for path in paths:
        kind = _kind(path)
        if kind is None:
            errors.append({"path": path, "line": None, "message": "%s: not an nginx configuration or dump" % path})
            continue
        try:
            model = _model(path, kind)
        except (IOError, OSError) as exc:
            errors.append({"path": path, "line": None, "message": "%s: %s" % (path, exc.strerror or exc)})
            continue
        findings.extend(_rules.judge(path, {"nginx": {"binary": "nginx"}}, policy, model))
    findings.sort(key=lambda finding: finding.sort_key())
    return findings, errors
