# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backlogs sized by queueing: php-fpm listen.backlog, and nginx listen backlog= against somaxconn.

Every php-fpm pool is sized with ``_sizing.plan_pool``, the rule the
php_fpm_backlog role writes with.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import sizing as _sizing
from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import Rule
from ansible_collections.acceptq.remediation.plugins.module_utils.core.rules import Concern
from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as _nginx

TOO_DEEP = Rule(
    "AQ-BACKLOG-001",
    "backlog",
    "warning",
    "php-fpm backlog deeper than the wait budget",
    needs=("php_fpm", "sockets", "kernel", "nginx"),
    explanation=(
        "The pool's effective backlog is above its sized value: connections at the\n"
        "back of a full queue wait longer than nginx or the client will. The seed's\n"
        "`listen.backlog = 65535` lands here, and so does PHP ≥ 8.2's default\n"
        "(`-1`, unset, meaning as deep as somaxconn: 4096). Severity `error` when a\n"
        "full queue waits longer than the client's timeout (requests served to\n"
        "nobody: 499, CLOSE_WAIT, EPIPE). Fix: `listen.backlog = <sized>` in the\n"
        "pool's own section and a php-fpm **restart** (a reload keeps the old socket).\n"
    ),
)
CUT_BY_SOMAXCONN = Rule(
    "AQ-BACKLOG-002",
    "backlog",
    "warning",
    "php-fpm listen.backlog cut by somaxconn",
    needs=("php_fpm", "sockets", "kernel"),
    explanation=(
        "The configured `listen.backlog` is larger than the listener's Send-Q: the\n"
        "kernel cut it to `net.core.somaxconn`, so the file does not say what runs.\n"
        "Severity `info` when the cut value is still above the sized one (the pool\n"
        "then also has AQ-BACKLOG-001); `warning` when the pool needs more than it\n"
        "gets, and the fix says how far to raise somaxconn (`kernel_queues`).\n"
    ),
)
TOO_SHALLOW = Rule(
    "AQ-BACKLOG-003",
    "backlog",
    "error",
    "php-fpm backlog too shallow",
    needs=("php_fpm", "sockets", "kernel", "nginx"),
    explanation=(
        "The effective backlog is below the sized value and connections are being\n"
        "refused: the listener is full while ListenOverflows/ListenDrops rise, or\n"
        "nginx's error log has `(11: Resource temporarily unavailable)` (unix\n"
        "socket) or `(111: Connection refused)` lines whose upstream is this pool.\n"
        "Without either sign the finding is `info` (bursts above the backlog will be\n"
        "refused).\n"
    ),
)
NGINX_CUT = Rule(
    "AQ-BACKLOG-004",
    "backlog",
    "warning",
    "nginx listen backlog cut by somaxconn",
    needs=("nginx", "sockets", "kernel"),
    explanation=(
        "An nginx `listen ... backlog=N` (file:line from `nginx -T`) asks for more\n"
        "than its listener got (Send-Q), or, when nothing listens there, more than\n"
        "`net.core.somaxconn` will give it. A listener opened before somaxconn was\n"
        "lowered still has its backlog and is not reported here (AQ-KERNEL-006). The\n"
        "`nginx_timeouts` role (`nginx_timeouts_listen_backlog`) writes `backlog=`;\n"
        "nginx applies a new `backlog=` on reload only when that value changes,\n"
        "otherwise it needs a restart.\n"
    ),
)
UNLOCATED = Rule(
    "AQ-BACKLOG-005",
    "backlog",
    "warning",
    "php-fpm pool definition could not be located or parsed",
    needs=("php_fpm",),
    explanation=(
        "A line of php-fpm's main file or of a file it includes is not a `[pool]`\n"
        "header, `key = value` or `;` comment (with file:line), an include is\n"
        "relative or unreadable, or a pool `php-fpm -tt` reports has no `[name]`\n"
        "section in those files. The rest is still audited; `php_fpm_backlog`\n"
        "refuses to edit such a pool.\n"
    ),
)

RELOAD_KILLS = Rule(
    "AQ-BACKLOG-006",
    "backlog",
    "warning",
    "php-fpm reloads kill requests in flight (process_control_timeout = 0)",
    needs=("php_fpm", "nginx"),
    explanation=(
        "php-fpm's `[global] process_control_timeout` is 0 (Debian's default): on a\n"
        "reload (USR2: `systemctl reload`, which Debian's unit offers, a postrotate,\n"
        "a deploy) the master kills every worker at once, so each request in flight\n"
        "fails (nginx: 502). Expected: at least the longest request the pools serve,\n"
        "the pools' `request_terminate_timeout` when set, else the read timeout of the\n"
        "nginx locations passing to them (60 s by default). `php_fpm_backlog` sets it\n"
        "(`php_fpm_backlog_process_control_timeout_s` overrides the value); the master\n"
        "reads it at its next restart, so the reload that applies it still runs with 0;\n"
        "until then the finding stays, as `info`, naming the file changed after\n"
        "php-fpm last read it.\n"
    ),
)

PENDING = Rule(
    "AQ-BACKLOG-007",
    "backlog",
    "warning",
    "php-fpm listen.backlog set in the file but not applied to the running listener",
    needs=("php_fpm", "sockets", "kernel"),
    explanation=(
        "The pool's file already carries its sized `listen.backlog` (as\n"
        "`php-fpm -tt` reads it), but the listening socket still has another\n"
        "backlog (its Send-Q): php-fpm has not re-created the socket since the edit\n"
        "(a reload keeps it). `php_fpm_backlog` leaves a change pending this way\n"
        "when it could neither apply it live nor drain the pool, and\n"
        "`php_fpm_backlog_restart` does not allow a restart under traffic. Fix: run\n"
        "`php_fpm_backlog` again where the live change is permitted, or restart\n"
        "php-fpm in a maintenance window or behind a drain.\n"
    ),
)

DEFINITIONS = (TOO_DEEP, CUT_BY_SOMAXCONN, TOO_SHALLOW, NGINX_CUT, UNLOCATED, RELOAD_KILLS, PENDING)
POLICY = ()

# nginx error-log lines of a full (11, unix) or overflowing (111, TCP) accept queue.
QUEUE_ERRORS = ("(11: Resource temporarily unavailable)", "(111: Connection refused)")
_UPSTREAM = re.compile(r'upstream: "(?P<scheme>[a-z]+)://(?P<target>[^"]+)"')


def _somaxconn(evidence):
    return (((evidence.get("kernel") or {}).get("sysctls")) or {}).get("net.core.somaxconn")


def _listeners(evidence):
    return (evidence.get("sockets") or {}).get("listeners") or []


def nginx_model(evidence):
    section = evidence.get("nginx")
    if not section or not section.get("binary"):
        return None
    return _nginx.load_config(section)


def pool_listener(listeners, listen):
    """The listening socket of a php-fpm pool (its Send-Q is the effective backlog), or None."""
    if not listen or listen == "undefined":
        return None
    matching = [listener for listener in listeners if _nginx.listen_matches(listener["local"], listen)]
    matching.sort(key=lambda item: not ((item.get("owner") or {}).get("name") or "").startswith("php-fpm"))
    return matching[0] if matching else None


def upstream_target(line):
    """The upstream an nginx error-log line names, as a target listen_matches understands."""
    found = _UPSTREAM.search(line)
    if not found:
        return None
    target = found.group("target")
    if target.startswith("unix:"):
        return target.rstrip(":")  # nginx prints "unix:/path:" for unix upstreams
    return target.split("/", 1)[0]


def queue_errors(evidence, listen):
    """nginx error-log lines saying the pool's queue refused a connection: {path: [lines]}."""
    found = {}
    for path, tail in sorted((((evidence.get("nginx") or {}).get("logs")) or {}).items()):
        for line in (tail or {}).get("lines") or []:
            if not any(marker in line for marker in QUEUE_ERRORS):
                continue
            target = upstream_target(line)
            if target and _nginx.listen_matches(target, listen):
                found.setdefault(path, []).append(line)
    return found


def _overflowing(evidence):
    kernel = evidence.get("kernel") or {}
    current, previous = kernel.get("counters") or {}, kernel.get("counters_previous") or {}
    return any(
        current.get(name) is not None and previous.get(name) is not None and current[name] > previous[name]
        for name in ("ListenOverflows", "ListenDrops")
    )


def definition_where(pool):
    definition = pool.get("definition") or {}
    if not definition.get("file"):
        return "an unlocated file"
    return "%s:%s" % (definition["file"], definition["line"])


def backlog_where(pool):
    """Where listen.backlog is set, or that it is not."""
    set_at = (pool.get("definition") or {}).get("backlog")
    if set_at:
        return "listen.backlog = %s at %s:%s" % (set_at["value"], set_at["file"], set_at["line"])
    if pool.get("listen_backlog") is not None and pool["listen_backlog"] < 0:
        return "listen.backlog unset (-1: as deep as somaxconn allows)"
    return "listen.backlog = %s" % pool.get("listen_backlog")


def service_name(binary):
    version = _phpfpm_version(binary)
    return "php%s-fpm" % version if version else "php-fpm"


def _phpfpm_version(binary):
    found = re.search(r"php-fpm(\d+\.\d+)$", binary or "")
    return found.group(1) if found else None


def _label(pool, plan=None, host=None):
    label = "pool %s of %s (%s, listen %s)" % (
        pool["name"],
        (pool.get("binary") or "php-fpm").rsplit("/", 1)[-1],
        definition_where(pool),
        pool.get("listen"),
    )
    remote = [name for name in (plan or {}).get("nginx_hosts") or [] if name != host]
    if remote:
        label += ", reached from %s" % " and ".join((plan or {}).get("nginx_hosts"))
    return label


def _fix(pool, plan):
    fix = "Set listen.backlog = %d in the pool's own section (%s; role php_fpm_backlog), validate with %s -t, " % (
        plan["sized"],
        definition_where(pool),
        (pool.get("binary") or "php-fpm").rsplit("/", 1)[-1],
    ) + "then restart %s (a reload keeps the old socket and its backlog)." % service_name(pool.get("binary"))
    if plan.get("somaxconn_needed"):
        fix += " Raise net.core.somaxconn to at least %d first (kernel_queues_somaxconn)." % plan["somaxconn_needed"]
    return fix


def passes_to_pool(host, evidence, pool, policy, model=None):
    """[(nginx host, model, server, location, that host's workload)] passing to a pool.

    Through the fleet's topology when there is one (nginx on any host), else the nginx on
    the pool's own host.
    """
    fleet = policy.get("fleet")
    if fleet is not None and host in fleet.hosts:
        passes, seen = [], set()
        for link in fleet.passes_to(host, pool):
            key = (link.nginx_host, id(link.location))
            if key not in seen:
                seen.add(key)
                workload = fleet.workload_of(link.nginx_host, policy["workload"])
                passes.append(
                    (link.nginx_host, fleet.nginx_model(link.nginx_host), link.server, link.location, workload)
                )
        return passes
    if model is None:
        model = nginx_model(evidence)
    return _sizing.same_host_passes(model, pool, policy["workload"], host)


def plans(evidence, policy, model=None, host=None):
    """[(pool, listener, plan)] for every php-fpm pool in the evidence."""
    somaxconn = _somaxconn(evidence)
    listeners = _listeners(evidence)
    found = []
    for pool in (evidence.get("php_fpm") or {}).get("pools") or []:
        passes = passes_to_pool(host, evidence, pool, policy, model)
        plan = _sizing.plan_pool(pool, policy["workload"], somaxconn, passes=passes, host=host)
        found.append((pool, pool_listener(listeners, pool.get("listen")), plan))
    return found


def queue_errors_of_fleet(host, evidence, pool, policy):
    """nginx error-log lines showing this pool's queue full, on every nginx host that passes to it."""
    fleet = policy.get("fleet")
    if fleet is None or host not in fleet.hosts:
        return queue_errors(evidence, pool.get("listen") or "")
    found = {}
    for link in fleet.passes_to(host, pool):
        nginx_evidence = fleet.hosts[link.nginx_host].evidence or {}
        for path, lines in queue_errors(nginx_evidence, link.target).items():
            label = path if link.nginx_host == host else "%s:%s" % (link.nginx_host, path)
            for line in lines:
                if line not in found.get(label, []):
                    found.setdefault(label, []).append(line)
    return found


def _details(pool, listener, plan):
    details = dict(plan)
    details["definition"] = pool.get("definition")
    details["listener"] = listener["local"] if listener else None
    details["send_q"] = listener["backlog_limit"] if listener else None
    details["queue_depth"] = listener["queue_depth"] if listener else None
    return details


def check_pool_backlogs(host, evidence, policy, model=None):
    findings = []
    overflowing = _overflowing(evidence)
    for pool, listener, plan in plans(evidence, policy, model, host):
        sized = plan["sized"]
        if sized is None:
            continue
        effective = listener["backlog_limit"] if listener else plan["effective_configured"]
        if effective is None:
            continue
        configured = pool.get("listen_backlog")
        details = _details(pool, listener, plan)
        expected = "listen.backlog = %d: %s" % (sized, plan["reason"])
        running = min(sized, plan["somaxconn"]) if plan.get("somaxconn") else sized
        if listener and configured == sized and listener["backlog_limit"] != running:
            findings.append(
                PENDING.finding(
                    host,
                    observed="%s: %s, but its listener %s runs with Send-Q %d: php-fpm has not re-created the "
                    "socket since (a reload keeps it)"
                    % (_label(pool, plan, host), backlog_where(pool), listener["local"], listener["backlog_limit"]),
                    expected="Send-Q %d, as the file says" % running,
                    fix="Run php_fpm_backlog again (it applies the backlog live where the kernel permits, or drains "
                    "the pool first), or restart %s in a maintenance window." % service_name(pool.get("binary")),
                    evidence=details,
                )
            )
            continue
        if effective > sized:
            qps = plan["throughput_qps"]
            full_wait = (effective + 1) / qps if qps else float("inf")
            client = plan["inputs"]["client_timeout_s"]
            details["full_queue_wait_s"] = round(full_wait, 3)
            findings.append(
                TOO_DEEP.finding(
                    host,
                    observed="%s: effective backlog %d (%s); a full queue waits %.1fs at %g req/s, "
                    "the budget is %gs"
                    % (_label(pool, plan, host), effective, backlog_where(pool), full_wait, qps, plan["wait_s"]),
                    expected=expected,
                    fix=_fix(pool, plan),
                    evidence=details,
                    # Past the client's timeout, queued requests are served to nobody (499, CLOSE_WAIT, EPIPE).
                    severity="error" if full_wait > client else None,
                )
            )
        if listener and configured is not None and configured > listener["backlog_limit"]:
            needs_more = sized > listener["backlog_limit"]
            findings.append(
                CUT_BY_SOMAXCONN.finding(
                    host,
                    observed="%s: %s but the kernel gives Send-Q %d (net.core.somaxconn %s)"
                    % (_label(pool, plan, host), backlog_where(pool), listener["backlog_limit"], plan["somaxconn"]),
                    expected="a configured backlog the kernel applies: %s" % expected,
                    fix=_fix(pool, plan),
                    evidence=details,
                    severity=None if needs_more else "info",
                )
            )
            continue
        if effective < sized:
            errors = queue_errors_of_fleet(host, evidence, pool, policy)
            full_now = listener is not None and listener["queue_depth"] >= listener["backlog_limit"]
            details["nginx_queue_errors"] = errors
            signs = []
            if full_now and overflowing:
                signs.append("ListenOverflows/ListenDrops rising while %s is full" % listener["local"])
            if errors:
                signs.append(
                    "%d nginx error-log line(s) %s for this upstream"
                    % (sum(len(lines) for lines in errors.values()), " / ".join(QUEUE_ERRORS))
                )
            findings.append(
                TOO_SHALLOW.finding(
                    host,
                    observed="%s: effective backlog %d < sized %d (%s); %s"
                    % (
                        _label(pool, plan, host),
                        effective,
                        sized,
                        backlog_where(pool),
                        "; ".join(signs) if signs else "no refused connection seen yet",
                    ),
                    expected=expected,
                    fix=_fix(pool, plan),
                    evidence=details,
                    severity=None if signs else "info",
                )
            )
    return findings


def check_pool_definitions(host, evidence, policy, model=None):
    """Pools acceptq could not find in, or fully parse from, their files: remediation refuses them."""
    findings = []
    section = evidence.get("php_fpm") or {}
    reported = set()
    for binary in section.get("binaries") or []:
        for error in binary.get("conf_errors") or []:
            where = "%s:%s" % (error["file"], error["line"]) if error.get("line") else error["file"]
            reported.add((error["file"], error.get("line")))
            findings.append(
                UNLOCATED.finding(
                    host,
                    observed="%s (read from %s): %s" % (where, binary.get("conf"), error["message"]),
                    expected="every line of php-fpm's pool files parsed",
                    fix="Fix or simplify %s; php_fpm_backlog will not edit a pool defined there until it parses."
                    % where,
                    evidence=dict(error, binary=binary.get("binary"), conf=binary.get("conf")),
                )
            )
    for pool in section.get("pools") or []:
        # No "definition" key at all: evidence from before acceptq located pools; nothing to judge.
        if "definition" in pool and pool["definition"] is None:
            binary = pool.get("binary") or "php-fpm"
            confs = [item.get("conf") for item in section.get("binaries") or [] if item.get("binary") == binary]
            findings.append(
                UNLOCATED.finding(
                    host,
                    observed="pool %s of %s: no [%s] section found in %s or its include= files"
                    % (pool["name"], binary, pool["name"], (confs or [None])[0] or "an unknown main file"),
                    expected="every pool's [name] section found, so that its listen.backlog can be set there",
                    fix="Define the pool in a file php-fpm's main configuration includes with an absolute path; "
                    "php_fpm_backlog refuses pools it cannot locate.",
                    evidence={"pool": pool["name"], "binary": binary, "conf": (confs or [None])[0]},
                )
            )
    return findings


def nginx_listener(listeners, listen):
    """The listening socket of an nginx listen directive (parsed by _nginx.parse_listen), or None."""
    for listener in listeners:
        if listen.get("unix"):
            if listener["family"] == "unix" and listener.get("path") == listen["unix"]:
                return listener
            continue
        if listener["family"] == "unix" or listener.get("port") != listen.get("port"):
            continue
        address = listen.get("address")
        if address == "*" and listener["family"] == "inet" and listener.get("address") == "0.0.0.0":
            return listener
        if address == listener.get("address"):
            return listener
    return None


def check_nginx_listen_backlogs(host, evidence, policy, model=None):
    """backlog= above what the listener got (its Send-Q), or above somaxconn when it is not listening."""
    somaxconn = _somaxconn(evidence)
    if model is None or somaxconn is None:
        return []
    listeners = _listeners(evidence)
    findings, seen = [], set()
    for server in model["servers"]:
        for listen in server.get("listens") or []:
            backlog = listen.get("backlog")
            key = (listen.get("unix"), listen.get("address"), listen.get("port"))
            listener = nginx_listener(listeners, listen)
            limit = listener["backlog_limit"] if listener else somaxconn
            if backlog is None or backlog <= limit or key in seen:
                continue
            seen.add(key)
            findings.append(
                NGINX_CUT.finding(
                    host,
                    observed="%s:%s: listen %s asks for backlog=%d, %s %d (net.core.somaxconn %d)"
                    % (
                        listen["file"],
                        listen["line"],
                        listen["raw"],
                        backlog,
                        "its listener %s got Send-Q" % listener["local"] if listener else "it will get",
                        limit,
                        somaxconn,
                    ),
                    expected="backlog= at most net.core.somaxconn (%d), sized by throughput x acceptable wait"
                    % somaxconn,
                    fix="Lower backlog= to its sized value (role nginx_timeouts, nginx_timeouts_listen_backlog) or "
                    "raise net.core.somaxconn (kernel_queues) if the sized value needs it; nginx applies a new "
                    "backlog= on reload only when the value itself changes, otherwise restart it.",
                    evidence={
                        "listen": listen,
                        "somaxconn": somaxconn,
                        "listener": listener["local"] if listener else None,
                        "send_q": listener["backlog_limit"] if listener else None,
                    },
                )
            )
    return findings


_FPM_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def fpm_seconds(value):
    """Seconds of a php-fpm time value as -tt prints it ("0s", "30s", "5m", "20"); None when unreadable."""
    text = str(value if value is not None else "").strip().lower()
    unit = _FPM_UNITS.get(text[-1:]) if text else None
    number = text[:-1] if unit else text
    if not number.isdigit():
        return None
    return int(number) * (unit or 1)


def process_control_target(pools, model=None):
    """(seconds, reason) process_control_timeout should be for one php-fpm binary's pools."""
    terminate = [
        seconds
        for seconds in (fpm_seconds((pool.get("settings") or {}).get("request_terminate_timeout")) for pool in pools)
        if seconds
    ]
    if terminate:
        return max(terminate), "the pools' longest request_terminate_timeout"
    reads = []
    for pool in pools:
        for _server, location in _nginx.locations_for_listen(model, pool.get("listen") or "") if model else []:
            seconds = ((location.get("settings") or {}).get("read_timeout") or {}).get("seconds")
            if seconds:
                reads.append(seconds)
    if reads:
        return int(-(-max(reads) // 1)), "the longest read timeout of the nginx locations passing to the pools"
    return 60, "nginx's default read timeout (no pool sets request_terminate_timeout)"


def check_process_control(host, evidence, policy, model=None):
    """process_control_timeout = 0 on a php-fpm with pools: every reload kills the requests in flight."""
    findings = []
    section = evidence.get("php_fpm") or {}
    for binary in section.get("binaries") or []:
        pools = [pool for pool in section.get("pools") or [] if pool.get("binary") == binary.get("binary")]
        value = (binary.get("global") or {}).get("process_control_timeout")
        where = binary.get("global_definition") or {}
        setting = where.get("process_control_timeout")
        if pools and value is not None and fpm_seconds(value) and setting:
            findings.extend(_process_control_not_read(host, binary, value, setting, pools))
            continue
        if not pools or value is None or fpm_seconds(value) != 0:
            continue
        target, reason = process_control_target(pools, model)
        located = (
            "set at %s:%s" % (setting["file"], setting["line"])
            if setting
            else "unset in %s (the default)" % (where.get("file") or binary.get("conf") or "php-fpm's main file")
        )
        findings.append(
            RELOAD_KILLS.finding(
                host,
                observed="%s: process_control_timeout = %s (%s); pools %s: a reload kills their requests in flight"
                % (
                    (binary.get("binary") or "php-fpm").rsplit("/", 1)[-1],
                    value,
                    located,
                    ", ".join(sorted(pool["name"] for pool in pools)),
                ),
                expected="process_control_timeout = %ds (%s)" % (target, reason),
                fix="Set process_control_timeout = %ds in [global] of %s (role php_fpm_backlog); php-fpm reads it at "
                "its next restart." % (target, where.get("file") or binary.get("conf") or "php-fpm's main file"),
                evidence={
                    "binary": binary.get("binary"),
                    "conf": binary.get("conf"),
                    "process_control_timeout": value,
                    "definition": setting,
                    "target_s": target,
                    "pools": sorted(pool["name"] for pool in pools),
                },
            )
        )
    return findings


def _process_control_not_read(host, binary, value, setting, pools):
    """A process_control_timeout set in a file the running php-fpm has not read since it changed."""
    live = binary.get("liveness") or {}
    changed = [item for item in live.get("changed") or [] if item.get("file") == setting["file"]]
    if not live.get("running") or not changed:
        return []
    return [
        RELOAD_KILLS.finding(
            host,
            observed="%s: process_control_timeout = %s at %s:%s, but %s changed after php-fpm last read it (%s): "
            "the running master keeps its old value, 0 by default, until it restarts"
            % (
                (binary.get("binary") or "php-fpm").rsplit("/", 1)[-1],
                value,
                setting["file"],
                setting["line"],
                setting["file"],
                live.get("loaded_at_text") or "unknown time",
            ),
            expected="php-fpm running with the process_control_timeout its file sets",
            fix="Restart %s behind a drain or in a maintenance window (a reload that applies it still runs with "
            "the old value)." % service_name(binary.get("binary")),
            evidence={
                "binary": binary.get("binary"),
                "process_control_timeout": value,
                "definition": setting,
                "liveness": live,
                "pools": sorted(pool["name"] for pool in pools),
            },
            severity="info",
        )
    ]


def check_backlogs(host, evidence, policy):
    """One nginx parse for every backlog check."""
    model = nginx_model(evidence)
    findings = []
    for check in (check_pool_definitions, check_pool_backlogs, check_nginx_listen_backlogs, check_process_control):
        findings.extend(check(host, evidence, policy, model))
    return findings


CHECKS = (check_backlogs,)


CONCERN = Concern(
    "backlog",
    "accept queues sized by queueing",
    rules=DEFINITIONS,
    policy=POLICY,
    checks=CHECKS,
    doc=(
        "Each php-fpm pool's backlog is sized with one rule, the one the\n"
        "`php_fpm_backlog` role writes (see [sizing.md](sizing.md)): backlog =\n"
        "ceil(throughput × acceptable wait), clamped to [backlog floor, somaxconn].\n"
        "The effective backlog is the pool listener's Send-Q (TCP or unix socket);\n"
        "the pool's definition (file and line of its `[name]` section and of its\n"
        "`listen.backlog`) is found by reading php-fpm's main file and its `include=`\n"
        "globs, for every installed PHP version. Inputs not declared in\n"
        "`acceptq_workload` are assumed and the finding says so.\n"
    ),
)
