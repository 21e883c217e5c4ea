# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The php_flock_logging codemod's plan: which locks can go, and why the others stay.

Controller side, pure. Removes a lock only where that is proven safe: the lock
guards one append write of one record, or Monolog locking is turned on in the
application's own code or configuration. Refuses, with the reason: anything
else under the lock (truncate, rotation, rewrite, several writes), network
filesystems (there the lock matters), PHP < 8.0 (records over 8 KiB were
written in pieces), vendor/ (composer overwrites it), framework loggers,
files that are not clean UTF-8 or do not parse. Every edited text is parsed
again: the edit must leave a file that parses and no longer has the finding.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.acceptq.remediation.plugins.module_utils.flock import analyze
from ansible_collections.acceptq.remediation.plugins.module_utils.flock.collect import NETWORK_FS

EDITABLE = (analyze.LOCK_APPEND, analyze.PUT_APPEND_LOCK, analyze.MONOLOG_LOCKING, analyze.CONFIG_LOCKING)
_VERSION = re.compile(r"^(\d+)\.(\d+)")


def php_at_least_8(version):
    found = _VERSION.match(str(version or ""))
    return bool(found) and (int(found.group(1)), int(found.group(2))) >= (8, 0)


def _refusal(path, line, message):
    return {"file": path, "line": line, "message": message}


def _hit_refusal(hit, candidate, php_version):
    """Why this hit cannot be edited away, or None."""
    path = hit.path
    if "/vendor/" in "/" + path.lstrip("/"):
        return (
            "under vendor/ (composer overwrites it): turn the lock off in the application's configuration, "
            "or patch the package upstream"
        )
    if hit.kind == analyze.FRAMEWORK_LOGGER:
        return hit.edit.get("refuse") if hit.edit else "framework code"
    if candidate.get("fs") in NETWORK_FS:
        return "on %s, where the lock keeps records whole: log locally or to syslog instead" % candidate["fs"]
    if hit.kind in (analyze.LOCK_APPEND, analyze.PUT_APPEND_LOCK) and not php_at_least_8(php_version):
        return "PHP %s: before 8.0 a record over 8 KiB was written in pieces, the lock keeps it whole" % (
            php_version or "of unknown version"
        )
    if hit.guards:
        return "the lock also guards %s" % ", ".join(hit.guards)
    if not hit.edit or "refuse" in hit.edit:
        return (hit.edit or {}).get("refuse") or "no safe edit"
    return None


def _line_span(data, start, end):
    """Widen a removed statement to its whole line when nothing else is on it."""
    line_start = data.rfind(b"\n", 0, start) + 1
    line_end = data.find(b"\n", end)
    line_end = len(data) if line_end < 0 else line_end
    if not data[line_start:start].strip() and not data[end:line_end].strip():
        return line_start, min(len(data), line_end + 1)
    return start, end


def _apply(data, hits):
    """The bytes with every hit's edit applied (ranges from the same bytes), last first."""
    changes = []
    for hit in hits:
        for start, end in hit.edit.get("remove", ()):
            start, end = _line_span(data, start, end)
            changes.append((start, end, b""))
        for start, end, text in hit.edit.get("replace", ()):
            changes.append((start, end, text.encode("utf-8")))
    changes.sort(reverse=True)
    previous = None
    for start, end, text in changes:
        if previous is not None and end > previous:
            raise ValueError("overlapping edits")
        data = data[:start] + text + data[end:]
        previous = start
    return data


def plan(section, php_version):
    """{"files": [{path, content, before}], "edits": [...], "refused": [...]} for a php_code section."""
    files, edits, refused = [], [], []
    for candidate in section.get("candidates") or []:
        path = candidate["path"]
        hits, errors = analyze.analyze(path, candidate.get("text") or "")
        hits = [hit for hit in hits if hit.kind in EDITABLE or hit.kind == analyze.FRAMEWORK_LOGGER]
        if not hits:
            continue
        if errors:
            refused.extend(_refusal(path, hit.line, "the file does not parse cleanly (%s)" % errors[0]) for hit in hits)
            continue
        if not candidate.get("utf8", True):
            refused.extend(_refusal(path, hit.line, "the file is not UTF-8: edit it by hand") for hit in hits)
            continue
        chosen = []
        for hit in hits:
            reason = _hit_refusal(hit, candidate, php_version)
            if reason:
                refused.append(_refusal(path, hit.line, reason))
            else:
                chosen.append(hit)
        if not chosen:
            continue
        before = candidate["text"].encode("utf-8")
        try:
            after = _apply(before, chosen)
        except ValueError as exc:
            refused.extend(_refusal(path, hit.line, "edits overlap: %s" % exc) for hit in chosen)
            continue
        left, new_errors = analyze.analyze(path, after)
        still = [
            hit for hit in left if hit.kind in EDITABLE and (hit.line, hit.kind) in {(c.line, c.kind) for c in chosen}
        ]
        if new_errors or still:
            refused.extend(
                _refusal(path, hit.line, "the edited file would not parse cleanly or keep the lock; left alone")
                for hit in chosen
            )
            continue
        files.append({"path": path, "content": after.decode("utf-8"), "before": before})
        edits.extend("%s:%d: %s" % (path, hit.line, _describe(hit)) for hit in chosen)
    return {"files": files, "edits": edits, "refused": refused}


def _describe(hit):
    if hit.kind == analyze.LOCK_APPEND:
        return "flock() calls removed around the one append write (%s)" % hit.snippet
    if hit.kind == analyze.PUT_APPEND_LOCK:
        return "FILE_APPEND | LOCK_EX -> FILE_APPEND (%s)" % hit.snippet
    return "locking turned off (%s)" % hit.snippet
