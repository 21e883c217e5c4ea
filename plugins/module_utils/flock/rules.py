# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""flock logging: PHP code that serialises every worker's log write on one lock.

Controller side. The host ships candidate files (collect.py); analyze.py
parses them with tree-sitter; these checks turn its hits into findings with
file:line and the source line, and join them with /proc/locks: the workers
waiting on a file right now, and the code that locks it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import Rule
from ansible_collections.acceptq.remediation.plugins.module_utils.core.rules import Concern, PolicyKey

_WHY = (
    "When the disk stalls, every php-fpm worker that logs queues on the one lock; when it comes back\n"
    "they all wake for it (a context-switch storm) and the accept queue drains even slower. One\n"
    "O_APPEND write of a line-sized record needs no lock on a local filesystem (PHP >= 8.0 writes it in\n"
    "one write()); on NFS or CIFS the lock matters: log locally or to syslog instead.\n"
)

LOCK_APPEND = Rule(
    "AQ-FLOCK-001",
    "flock",
    "warning",
    "flock(LOCK_EX) around an append-mode log write",
    needs=("php_code",),
    explanation=(
        "`flock($fp, LOCK_EX)` (also `LOCK_EX|LOCK_NB` retry loops, flags built in a variable, and a\n"
        "lock taken in another method of the class) on a handle opened with `a`, `ab` or `a+`, with a\n"
        "write to it. Locks on lock files, cache rewrites (`w`, `c+`, `r+`), read locks and locks that\n"
        "are off unless configured are not findings.\n\n" + _WHY + "\nThe role `php_flock_logging` removes "
        "the lock where it guards one append write and nothing else."
    ),
)
PUT_APPEND_LOCK = Rule(
    "AQ-FLOCK-002",
    "flock",
    "warning",
    "file_put_contents with FILE_APPEND | LOCK_EX",
    needs=("php_code",),
    explanation=(
        "`file_put_contents($file, $line, FILE_APPEND | LOCK_EX)`: an exclusive lock per record.\n"
        "Without FILE_APPEND it is a whole-file rewrite, which the lock protects: not a finding.\n\n"
        + _WHY
        + "\nThe fix is `FILE_APPEND` alone; `php_flock_logging` makes it where the flags are written inline."
    ),
)
MONOLOG_LOCKING = Rule(
    "AQ-FLOCK-003",
    "flock",
    "warning",
    "Monolog handler constructed with useLocking on",
    needs=("php_code",),
    explanation=(
        "A Monolog `StreamHandler` or `RotatingFileHandler` constructed with `useLocking` true\n"
        "(positional, named, or as a factory's `'useLocking' => true`): Monolog then takes\n"
        "`flock(LOCK_EX)` around every record. Handlers on `php://stderr` or `php://stdout` are not\n"
        "findings.\n\n" + _WHY
    ),
)
CONFIG_LOCKING = Rule(
    "AQ-FLOCK-004",
    "flock",
    "warning",
    "Framework configuration turns Monolog locking on",
    needs=("php_code",),
    explanation=(
        "Laravel `config/logging.php` channels with `'locking' => true`, Symfony's monolog bundle with\n"
        "`use_locking: true` (YAML) or `->useLocking(true)` (PHP configuration).\n\n" + _WHY
    ),
)
FRAMEWORK_LOGGER = Rule(
    "AQ-FLOCK-005",
    "flock",
    "warning",
    "Framework logger that locks every write by default",
    needs=("php_code",),
    explanation=(
        "Code of a logger known to lock each write by default: CodeIgniter 3 `CI_Log`, CodeIgniter 4\n"
        "`FileHandler`, Yii2 `FileTarget` (which also rotates under its lock), Tracy `Logger`, log4php\n"
        "file appenders. It is the framework's code: the fix is configuration or a subclass, never an\n"
        "edit of the framework (composer overwrites it).\n\n" + _WHY
    ),
)
RUNTIME = Rule(
    "AQ-FLOCK-006",
    "flock",
    "error",
    "Workers wait on a log file that code locks exclusively",
    needs=("php_code", "locks"),
    policy=("flock_runtime_waiters_min",),
    explanation=(
        "`/proc/locks` shows processes blocked on a file's lock, and the static analysis found the code\n"
        "that takes `LOCK_EX` while appending to that file: the herd of the incident, in progress. The\n"
        "finding names the waiters by process and the file:line that takes the lock.\n"
    ),
)
UNJUDGED = Rule(
    "AQ-FLOCK-007",
    "flock",
    "info",
    "PHP files acceptq could not judge",
    needs=("php_code",),
    explanation=(
        "Files the walk skipped (too large, binary, unreadable) or that do not parse, and walks\n"
        "stopped at a limit. A clean result does not cover them.\n"
    ),
)

DEFINITIONS = (LOCK_APPEND, PUT_APPEND_LOCK, MONOLOG_LOCKING, CONFIG_LOCKING, FRAMEWORK_LOGGER, RUNTIME, UNJUDGED)
POLICY = (
    PolicyKey(
        "flock_runtime_waiters_min", 1, "Processes blocked on a locked log file before the runtime join reports it."
    ),
)

BY_KIND = {
    "lock_append": LOCK_APPEND,
    "put_append_lock": PUT_APPEND_LOCK,
    "monolog_locking": MONOLOG_LOCKING,
    "config_locking": CONFIG_LOCKING,
    "framework_logger": FRAMEWORK_LOGGER,
}
_FIXES = {
    "lock_append": "Drop the flock() calls around the one append write (the role php_flock_logging does it where "
    "that is proven safe); keep one fwrite() of the whole record.",
    "put_append_lock": "Pass FILE_APPEND alone: one O_APPEND write of the record needs no lock.",
    "monolog_locking": "Construct the handler with useLocking false (Monolog's default).",
    "config_locking": "Set the channel's locking to false (Laravel) or use_locking: false (Symfony).",
}

_CACHE = {}


def analyze_candidates(section):
    """(hits, errors) for a php_code section, computed once per section object."""
    cached = _CACHE.get(id(section))
    if cached is not None and cached[0] is section:
        return cached[1], cached[2]
    from ansible_collections.acceptq.remediation.plugins.module_utils.flock import analyze

    hits, errors = [], []
    for candidate in section.get("candidates") or []:
        path = candidate["path"]
        try:
            found, failed = analyze.analyze(path, candidate.get("text") or "")
        except Exception as exc:  # a parser bug must not hide the rest of the fleet
            found, failed = [], ["%s: could not be analysed: %s" % (path, exc)]
        for hit in found:
            hit.detail["fs"] = candidate.get("fs")
        hits.extend(found)
        errors.extend(failed)
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[id(section)] = (section, hits, errors)
    return hits, errors


def display_path(path, roots):
    """A path relative to the code root it was found under (app/Logger.php), else as is."""
    best = None
    for root in roots or ():
        if isinstance(root, dict) and root.get("walked_by"):
            continue  # a root inside another: paths read from the one walked
        root_path = root["path"] if isinstance(root, dict) else root
        prefix = root_path.rstrip("/") + "/"
        if path.startswith(prefix) and (best is None or len(prefix) > len(best)):
            best = prefix
    return path[len(best) :] if best else path


def hit_finding(host, hit, shown_path):
    rule = BY_KIND[hit.kind]
    network = hit.detail.get("fs")
    fix = hit.detail.get("advice") or _FIXES.get(hit.detail.get("lock_kind") or hit.kind, "")
    if hit.kind == "framework_logger":
        fix = "Configure or replace it: %s." % hit.detail["advice"]
    if network and network in _network_types():
        fix = (
            "This code is on %s, where the lock does keep records whole: log to a local file or syslog "
            "instead. " % network + fix
        )
    observed = "%s:%d: %s: `%s`" % (shown_path, hit.line, hit.message, hit.snippet)
    if hit.target:
        observed += " (writes %s)" % hit.target
    if hit.guards:
        observed += "; the lock also guards %s" % ", ".join(hit.guards)
    return rule.finding(
        host,
        file=hit.path,
        line=hit.line,
        observed=observed,
        expected="log appends without an exclusive lock (one O_APPEND write per record)",
        fix=fix,
        evidence={
            "file": hit.path,
            "line": hit.line,
            "snippet": hit.snippet,
            "kind": hit.kind,
            "target": hit.target,
            "guards": hit.guards,
            "fs": network,
            "detail": dict((key, value) for key, value in hit.detail.items() if key != "fs"),
        },
    )


def _network_types():
    from ansible_collections.acceptq.remediation.plugins.module_utils.flock.collect import NETWORK_FS

    return NETWORK_FS


def check_static(host, evidence, policy):
    section = evidence.get("php_code")
    if not section:
        return []
    hits, _errors = analyze_candidates(section)
    return [hit_finding(host, hit, display_path(hit.path, section.get("roots"))) for hit in hits]


def check_unjudged(host, evidence, policy):
    section = evidence.get("php_code")
    if not section:
        return []
    _hits, errors = analyze_candidates(section)
    problems = list(errors)
    problems.extend("%s: %s" % (entry["path"], entry["reason"]) for entry in section.get("skipped") or [])
    problems.extend(
        "%s: unreadable: %s" % (entry["path"], entry["reason"]) for entry in section.get("unreadable") or []
    )
    problems.extend(
        "code root %s: %s" % (root["path"], root["error"]) for root in section.get("roots") or [] if root.get("error")
    )
    if section.get("truncated"):
        problems.append("the walk stopped early: %s" % section["truncated"])
    if not problems:
        return []
    return [
        UNJUDGED.finding(
            host,
            observed="%d problem(s): %s"
            % (len(problems), "; ".join(problems[:10]) + ("; ..." if len(problems) > 10 else "")),
            expected="every PHP file under the code roots read and parsed",
            fix="Fix the syntax errors, or raise the walk's limits (acceptq_php_code_limits) for big trees.",
            evidence={"problems": problems[:100]},
        )
    ]


def _matches(target, path):
    if not target or not path:
        return None
    if target == path:
        return "exact"
    if target.startswith("/") and os.path.normpath(target) == os.path.normpath(path):
        return "exact"
    base = os.path.basename(path)
    if base and (target.endswith("/" + base) or target.endswith("'" + base) or target == base):
        return "name"
    return None


def _called_with(hits, sites):
    """(hits whose function is called where the path is written literally, those call sites)."""
    matched, via = [], []
    for hit in hits:
        function = hit.detail.get("function")
        if not function or (hit.target or "").startswith("/"):
            continue
        calls = [site for site in sites if function + "(" in site.get("context", "")]
        if calls:
            matched.append(hit)
            via.extend(site for site in calls if site not in via)
    return matched, via


def check_runtime(host, evidence, policy):
    section = evidence.get("php_code")
    locks = evidence.get("locks") or {}
    if not section or not locks.get("files"):
        return []
    hits, _errors = analyze_candidates(section)
    locking = [hit for hit in hits if hit.kind in BY_KIND]
    findings = []
    for record in locks["files"]:
        if record.get("waiters", 0) < policy.get("flock_runtime_waiters_min", 1) or not record.get("path"):
            continue
        path = record["path"]
        exact = [hit for hit in locking if _matches(hit.target, path) == "exact"]
        named = [hit for hit in locking if _matches(hit.target, path) == "name"]
        matched = exact or named
        how = "written under LOCK_EX by" if exact else "a file of that name is written under LOCK_EX by"
        if not matched:
            # A logger taking the path as a parameter: matched through the call that passes it.
            matched, via = _called_with(locking, (section.get("log_sites") or {}).get(path) or [])
            how = "written under LOCK_EX by"
            if matched:
                how = "written under LOCK_EX (path passed at %s) by" % ", ".join(
                    "%s:%d" % (display_path(site["file"], section.get("roots")), site["line"]) for site in via[:3]
                )
        if not matched:
            # Code whose target is computed may still be it: name it as a suspect.
            matched = [hit for hit in locking if hit.target and not hit.target.startswith("/")]
            how = "no code names it literally; code that locks a computed log path:"
            if not matched:
                continue
        waiters = ", ".join("%d %s" % (count, name) for name, count in sorted(record["waiters_by_process"].items()))
        places = ", ".join("%s:%d" % (display_path(hit.path, section.get("roots")), hit.line) for hit in matched[:5])
        findings.append(
            RUNTIME.finding(
                host,
                observed="%s worker(s) wait on %s, %s %s" % (waiters, path, how, places),
                expected="no worker waits for a log file's lock",
                fix="Remove the exclusive lock around the append at %s (role php_flock_logging), then the "
                "workers write without queueing on each other." % places,
                evidence={
                    "path": path,
                    "waiters": record["waiters"],
                    "waiters_by_process": record["waiters_by_process"],
                    "holders": record.get("holders"),
                    "code": [{"file": hit.path, "line": hit.line, "snippet": hit.snippet} for hit in matched[:5]],
                },
            )
        )
    return findings


CHECKS = (check_static, check_runtime, check_unjudged)

CONCERN = Concern(
    "flock",
    "flock-based logging",
    rules=DEFINITIONS,
    policy=POLICY,
    checks=CHECKS,
    doc=(
        "The host walks the PHP code roots (php-fpm `chdir`, nginx `root` and `SCRIPT_FILENAME`, and\n"
        "`acceptq_php_code_roots`), within limits, vendor/ included, and ships the files whose bytes\n"
        "could hold a locking logger; the controller parses them with tree-sitter. `acceptq scan PATH`\n"
        "runs the same analysis on a source tree without Ansible."
    ),
)
