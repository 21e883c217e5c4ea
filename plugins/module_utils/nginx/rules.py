# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx timeouts and ejection: 499s that hide failures, max_fails that never fire."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import Rule
from ansible_collections.acceptq.remediation.plugins.module_utils.core.rules import Concern, PolicyKey
from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as _nginx

CLIENT_LEAVES_FIRST = Rule(
    "AQ-NGINX-001",
    "nginx",
    "error",
    "Upstream timeout not shorter than the client's: 499s, no failure counted",
    needs=("nginx",),
    explanation=(
        "A read or send timeout at or above the client's timeout. The client gives up\n"
        "first and nginx logs 499: not an upstream failure, so `max_fails` never\n"
        "counts it and a stalled backend is never ejected. The seed's vhost B (60 s\n"
        "default behind a shorter client timeout) carried 85 % of the traffic.\n"
    ),
)
TIMEOUT_BELOW_P99 = Rule(
    "AQ-NGINX-002",
    "nginx",
    "error",
    "Upstream timeout below the expected p99",
    needs=("nginx",),
    explanation=(
        "A read timeout shorter than the declared p99 service time fails healthy\n"
        "requests (the seed's vhost A: `fastcgi_read_timeout 100ms`).\n"
    ),
)
EJECTION_DISABLED = Rule(
    "AQ-NGINX-003",
    "nginx",
    "error",
    "Upstream ejection disabled (max_fails=0)",
    needs=("nginx",),
    explanation=("`max_fails=0` turns off failure accounting: a stalled server stays in\nrotation whatever happens.\n"),
)
FAIL_TIMEOUT_LONG = Rule(
    "AQ-NGINX-004",
    "nginx",
    "warning",
    "fail_timeout turns a short stall into an outage",
    needs=("nginx",),
    policy=("nginx_fail_timeout_max_s",),
    explanation=(
        "`fail_timeout` above `nginx_fail_timeout_max_s` (policy, 30 s). It is both\n"
        "the window in which failures are counted and how long an ejected server stays\n"
        "out. When several entries point at the same backend one stall ejects all of\n"
        "them: on a replica of the seed, `max_fails=10 fail_timeout=5m` turned a 10 s\n"
        'stall into five minutes of "no live upstreams" (502) once the timeouts were\n'
        "fixed.\n"
    ),
)
SINGLE_SERVER = Rule(
    "AQ-NGINX-005",
    "nginx",
    "info",
    "Single upstream server: max_fails has no effect",
    needs=("nginx",),
    explanation=(
        "With one server in a group nginx never marks it unavailable; `max_fails`\n"
        "and `fail_timeout` are ignored. Said so that nobody counts on ejection; the\n"
        "timeouts still decide between a 504 and a 499.\n"
    ),
)
NO_RETRY_ON_FAILURE = Rule(
    "AQ-NGINX-006",
    "nginx",
    "warning",
    "next_upstream without error and timeout",
    needs=("nginx",),
    explanation=(
        "`*_next_upstream` without `error` and `timeout` (for example `off`): a failed\n"
        "attempt is neither retried on another server nor counted toward `max_fails`.\n"
    ),
)
KEEPALIVE_PINS_WORKERS = Rule(
    "AQ-NGINX-007",
    "nginx",
    "warning",
    "Upstream keepalive can pin every php-fpm worker",
    needs=("nginx", "php_fpm"),
    explanation=(
        "`fastcgi_keep_conn on` with upstream `keepalive N`, and N × worker processes\n"
        "≥ `pm.max_children` of the pool behind it: each idle cached connection holds\n"
        "a php-fpm worker, so the pool can run out of workers while nginx idles.\n"
    ),
)
LOG_FORMAT_BLIND = Rule(
    "AQ-NGINX-008",
    "nginx",
    "warning",
    "Access log cannot tell upstream failures apart",
    needs=("nginx",),
    explanation=(
        "The access log of a server that passes upstream has no `$status`,\n"
        "`$upstream_status`, `$request_time` or `$upstream_response_time` (the default\n"
        "`combined` format has only `$status`): a 499 or 504 cannot be told from the\n"
        "upstream's own answer, nor a queue wait from work.\n"
    ),
)
CLIENT_ABORTS = Rule(
    "AQ-NGINX-009",
    "nginx",
    "warning",
    "Clients giving up: 499s in the access log",
    needs=("nginx",),
    policy=("nginx_499_share_max", "nginx_log_lines_min"),
    explanation=(
        "Among the last lines of an access log (read on the host, at most 2,000), the\n"
        "share of 499s is above `nginx_499_share_max` (policy, 1 %) with at least\n"
        "`nginx_log_lines_min` (50) lines parsed. Lines are parsed with a pattern\n"
        "built from the log's own `log_format`.\n"
    ),
)
CONFIG_UNREADABLE = Rule(
    "AQ-NGINX-010",
    "nginx",
    "error",
    "nginx configuration could not be parsed",
    needs=("nginx",),
    explanation=(
        "A syntax error, a missing include or a file the parser could not read, with\n"
        "its file:line (from ngxparse, or from `nginx -t` when the configuration does\n"
        "not pass it). The rest of the configuration is still audited; the\n"
        "`nginx_timeouts` role refuses to edit what could not be parsed.\n"
    ),
)

DEFINITIONS = (
    CLIENT_LEAVES_FIRST,
    TIMEOUT_BELOW_P99,
    EJECTION_DISABLED,
    FAIL_TIMEOUT_LONG,
    SINGLE_SERVER,
    NO_RETRY_ON_FAILURE,
    KEEPALIVE_PINS_WORKERS,
    LOG_FORMAT_BLIND,
    CLIENT_ABORTS,
    CONFIG_UNREADABLE,
)
POLICY = (
    PolicyKey(
        "nginx_fail_timeout_max_s",
        30.0,
        "Longest fail_timeout before AQ-NGINX-004: the seed's 5m turned a 10 s stall into five minutes of "
        '"no live upstreams".',
    ),
    PolicyKey("nginx_499_share_max", 0.01, "Share of 499s among an access log's recent lines before AQ-NGINX-009."),
    PolicyKey("nginx_log_lines_min", 50, "Fewer parsed access-log lines than this are not judged."),
)
LOG_VARIABLES = ("$status", "$upstream_status", "$request_time", "$upstream_response_time")
COMBINED_FORMAT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
)


def _where(item):
    if not item or not item.get("file"):
        return "nginx's default"
    return "%s:%s" % (item["file"], item["line"])


def _label(server, location):
    name = (server.get("names") or ["_"])[0]
    return "server %s location %s (%s)" % (name, location["match"], _where(location))


def _passing_locations(model):
    for server in model["servers"]:
        for location in server["locations"]:
            if location.get("pass"):
                yield server, location


def _assumed(declared):
    return "" if declared else " (assumed: declare it in acceptq_workload)"


def _model(evidence):
    section = evidence.get("nginx")
    if not section or not section.get("binary"):
        return None
    return _nginx.load_config(section)


def check_config_readable(host, evidence, policy, model):
    findings = []
    for error in model["errors"]:
        where = error["file"] + (":%s" % error["line"] if error.get("line") else "")
        findings.append(
            CONFIG_UNREADABLE.finding(
                host,
                observed="%s: %s" % (where, error["message"]),
                expected="a configuration nginx -t accepts and acceptq can parse",
                fix="Fix the configuration at %s; acceptq audits the rest and will not edit this file until "
                "it parses." % where,
                evidence=error,
            )
        )
    return findings


def check_timeouts(host, evidence, policy, model):
    workload = policy["workload"]
    findings = []
    for server, location in _passing_locations(model):
        client, client_declared = _nginx.declared_for(workload, server, location, "client_timeout_s")
        p99, p99_declared = _nginx.declared_for(workload, server, location, "p99_s")
        target = _nginx.recommended(model, server, location, workload)
        module = location["pass"]["module"]
        for name in ("read_timeout", "send_timeout"):
            setting = location["settings"][name]
            seconds = setting.get("seconds")
            if seconds is None:
                continue
            details = {
                "server": server.get("names"),
                "location": location["match"],
                "directive": "%s_%s" % (module, name),
                "setting": setting,
                "client_timeout_s": client,
                "p99_s": p99,
                "assumed": [
                    key
                    for key, declared in (("client_timeout_s", client_declared), ("p99_s", p99_declared))
                    if not declared
                ],
                "recommended_s": target["%s_s" % name],
            }
            if seconds >= client:
                findings.append(
                    CLIENT_LEAVES_FIRST.finding(
                        host,
                        observed="%s: %s_%s %s (%s) >= client timeout %gs%s"
                        % (
                            _label(server, location),
                            module,
                            name,
                            setting["value"],
                            _where(setting),
                            client,
                            _assumed(client_declared),
                        ),
                        expected="%s_%s below the client's timeout, so that nginx gives up first, answers 504 "
                        "and counts a failure toward max_fails" % (module, name),
                        fix="Set %s_%s %s (%.0f%% of the client's %gs) at %s; the nginx_timeouts role does it."
                        % (
                            module,
                            name,
                            _nginx.format_duration(target["%s_s" % name]),
                            100 * _nginx.UPSTREAM_SHARE_OF_CLIENT_TIMEOUT,
                            client,
                            _label(server, location),
                        ),
                        evidence=details,
                    )
                )
            elif name == "read_timeout" and seconds < p99:
                findings.append(
                    TIMEOUT_BELOW_P99.finding(
                        host,
                        observed="%s: %s_read_timeout %s (%s) < expected p99 %gs%s"
                        % (
                            _label(server, location),
                            module,
                            setting["value"],
                            _where(setting),
                            p99,
                            _assumed(p99_declared),
                        ),
                        expected="a read timeout above the p99 service time: healthy slow requests must not fail",
                        fix="Set %s_read_timeout %s; the nginx_timeouts role does it."
                        % (module, _nginx.format_duration(target["read_timeout_s"])),
                        evidence=details,
                    )
                )
    return findings


def _upstream_users(model):
    users = {}
    for server, location in _passing_locations(model):
        name = location["pass"].get("upstream")
        if name:
            users.setdefault(name, []).append(_label(server, location))
    return users


def check_ejection(host, evidence, policy, model):
    findings = []
    users = _upstream_users(model)
    for name, upstream in sorted(model["upstreams"].items()):
        if name not in users:
            continue
        live = [server for server in upstream["servers"] if not server["backup"] and not server["down"]]
        addresses = [server["address"] for server in live]
        for server in upstream["servers"]:
            where = "upstream %s server %s (%s)" % (name, server["address"], _where(server))
            details = {"upstream": name, "server": server, "used_by": users[name]}
            if server["max_fails"] == 0:
                findings.append(
                    EJECTION_DISABLED.finding(
                        host,
                        observed="%s: max_fails=0" % where,
                        expected="max_fails >= 1, so that a stalled backend is taken out of rotation",
                        fix="Remove max_fails=0 (the default is 1); the nginx_timeouts role does it.",
                        evidence=details,
                    )
                )
            if server["fail_timeout_s"] > policy["nginx_fail_timeout_max_s"]:
                shared = addresses.count(server["address"]) > 1
                findings.append(
                    FAIL_TIMEOUT_LONG.finding(
                        host,
                        observed="%s: fail_timeout=%gs%s"
                        % (
                            where,
                            server["fail_timeout_s"],
                            "; %d entries point at this same backend, so one stall ejects all of them"
                            % addresses.count(server["address"])
                            if shared
                            else "",
                        ),
                        expected="fail_timeout <= %gs (policy nginx_fail_timeout_max_s): it is also how long an "
                        "ejected server stays out" % policy["nginx_fail_timeout_max_s"],
                        fix="Set fail_timeout=%gs; the nginx_timeouts role does it." % _nginx.FAIL_TIMEOUT_MAX_S,
                        evidence=details,
                    )
                )
        if len(live) == 1:
            findings.append(
                SINGLE_SERVER.finding(
                    host,
                    observed="upstream %s (%s) has one server, %s: nginx never marks it unavailable"
                    % (name, _where(upstream), addresses[0]),
                    expected="max_fails and fail_timeout only matter with two or more servers",
                    fix="Nothing to tune here: ejection cannot help a single backend. Keep the timeouts below the "
                    "client's so failures are answered (504) rather than abandoned (499).",
                    evidence={"upstream": name, "servers": upstream["servers"], "used_by": users[name]},
                )
            )
    return findings


def check_next_upstream(host, evidence, policy, model):
    findings = []
    for server, location in _passing_locations(model):
        setting = location["settings"]["next_upstream"]
        conditions = setting["value"].split()
        if "error" in conditions and "timeout" in conditions:
            continue
        module = location["pass"]["module"]
        findings.append(
            NO_RETRY_ON_FAILURE.finding(
                host,
                observed="%s: %s_next_upstream %s (%s)"
                % (_label(server, location), module, setting["value"], _where(setting)),
                expected="%s_next_upstream including error and timeout: a failed attempt counts toward "
                "max_fails and can be retried on another server" % module,
                fix="Set %s_next_upstream error timeout; the nginx_timeouts role does it." % module,
                evidence={"setting": setting, "location": location["match"], "server": server.get("names")},
            )
        )
    return findings


def check_keepalive(host, evidence, policy, model):
    pools = (evidence.get("php_fpm") or {}).get("pools") or []
    section = evidence.get("nginx") or {}
    workers = (model.get("worker_processes") or {}).get("count") or section.get("worker_count") or 1
    findings = []
    seen = set()
    for _server, location in _passing_locations(model):
        name = location["pass"].get("upstream")
        keep_conn = location["settings"].get("keep_conn") or {}
        if not name or keep_conn.get("value") != "on" or not model["upstreams"][name].get("keepalive"):
            continue
        keepalive = model["upstreams"][name]["keepalive"]
        for pool in pools:
            if (name, pool["name"], pool["binary"]) in seen:
                continue
            try:
                max_children = int(pool["settings"].get("pm.max_children"))
            except (TypeError, ValueError):
                continue
            targets = _nginx.upstream_targets(model, location)
            if not any(_nginx.listen_matches(target, pool.get("listen")) for target in targets):
                continue
            seen.add((name, pool["name"], pool["binary"]))
            if keepalive["value"] * workers < max_children:
                continue
            findings.append(
                KEEPALIVE_PINS_WORKERS.finding(
                    host,
                    observed="upstream %s: keepalive %d (%s) x %d nginx workers = %d idle connections kept, "
                    ">= pm.max_children %d of pool %s; fastcgi_keep_conn on (%s)"
                    % (
                        name,
                        keepalive["value"],
                        _where(keepalive),
                        workers,
                        keepalive["value"] * workers,
                        max_children,
                        pool["name"],
                        _where(keep_conn),
                    ),
                    expected="keepalive x worker_processes well below pm.max_children: each cached idle "
                    "connection holds a php-fpm worker",
                    fix="Lower keepalive to at most %d, or turn fastcgi_keep_conn off."
                    % max(1, (max_children - 1) // workers // 2),
                    evidence={"upstream": name, "keepalive": keepalive, "workers": workers, "pool": pool["name"]},
                )
            )
    return findings


def _format_text(model, name):
    if name == "combined":
        return COMBINED_FORMAT
    record = model["log_formats"].get(name)
    return record["format"] if record else None


def _access_logs(model):
    """path -> (format name, format text, [server labels]) for the logs of servers that pass upstream."""
    logs = {}
    for server in model["servers"]:
        if not any(location.get("pass") for location in server["locations"]):
            continue
        for log in server["access_logs"]:
            if not log.get("path") or log["path"] == "off" or log["path"].startswith("syslog:"):
                continue
            entry = logs.setdefault(log["path"], [log, []])
            entry[1].append((server.get("names") or ["_"])[0])
    return logs


def check_log_format(host, evidence, policy, model):
    findings = []
    for path, (log, servers) in sorted(_access_logs(model).items()):
        text = _format_text(model, log["format"])
        if text is None:
            continue
        missing = [name for name in LOG_VARIABLES if not re.search(re.escape(name) + r"\b", text)]
        if not missing:
            continue
        findings.append(
            LOG_FORMAT_BLIND.finding(
                host,
                observed="access_log %s (%s) uses format %s, without %s (servers %s)"
                % (path, _where(log), log["format"], " ".join(missing), ", ".join(servers)),
                expected="a log format with %s: a 499 or 504 must be told from the upstream's own answer"
                % " ".join(LOG_VARIABLES),
                fix="Define a log_format with %s and use it for %s." % (" ".join(LOG_VARIABLES), path),
                evidence={"path": path, "format": log["format"], "missing": missing, "servers": servers},
            )
        )
    return findings


def format_regex(text):
    """A regex for lines written with an nginx log_format; the status is the group 'status'."""
    pattern, position, named = "", 0, False
    for match in re.finditer(r"\$(\w+)|\$\{(\w+)\}", text):
        pattern += re.escape(text[position : match.start()])
        variable = match.group(1) or match.group(2)
        if variable == "status" and not named:
            pattern += r"(?P<status>\d{3})"
            named = True
        else:
            pattern += r".*?"
        position = match.end()
    pattern += re.escape(text[position:])
    return re.compile("^" + pattern + "$") if named else None


def status_counts(lines, regex):
    counts, unparsed = {}, 0
    for line in lines:
        match = regex.match(line)
        if not match:
            unparsed += 1
            continue
        counts[match.group("status")] = counts.get(match.group("status"), 0) + 1
    return counts, unparsed


def check_client_aborts(host, evidence, policy, model):
    logs = (evidence.get("nginx") or {}).get("logs") or {}
    findings = []
    for path, (log, servers) in sorted(_access_logs(model).items()):
        tail = logs.get(path) or {}
        text = _format_text(model, log["format"])
        regex = format_regex(text) if text else None
        if not tail.get("lines") or regex is None:
            continue
        counts, unparsed = status_counts(tail["lines"], regex)
        total = sum(counts.values())
        aborted = counts.get("499", 0)
        if total < policy["nginx_log_lines_min"] or aborted <= policy["nginx_499_share_max"] * total:
            continue
        findings.append(
            CLIENT_ABORTS.finding(
                host,
                observed="%s (servers %s): %d of the last %d requests were 499 (%.1f%%); 504: %d, 502: %d"
                % (
                    path,
                    ", ".join(servers),
                    aborted,
                    total,
                    100.0 * aborted / total,
                    counts.get("504", 0),
                    counts.get("502", 0),
                ),
                expected="499s at most %.1f%% of requests (policy nginx_499_share_max)"
                % (100 * policy["nginx_499_share_max"]),
                fix="Clients gave up before nginx answered: nginx counted no upstream failure and ejected "
                "nothing. Bring the upstream timeouts under the client's (AQ-NGINX-001) and find what "
                "slows the backend.",
                evidence={"path": path, "servers": servers, "status_counts": counts, "unparsed_lines": unparsed},
            )
        )
    return findings


MODEL_CHECKS = (
    check_config_readable,
    check_timeouts,
    check_ejection,
    check_next_upstream,
    check_keepalive,
    check_log_format,
    check_client_aborts,
)


def check_nginx(host, evidence, policy):
    """Parse once per host, then run every nginx check over the model."""
    model = _model(evidence)
    if model is None:
        return []
    findings = []
    for check in MODEL_CHECKS:
        findings.extend(check(host, evidence, policy, model))
    return findings


CHECKS = (check_nginx,)


CONCERN = Concern(
    "nginx",
    "timeouts and ejection",
    rules=DEFINITIONS,
    policy=POLICY,
    checks=CHECKS,
    doc=(
        "Judged on the controller from `nginx -T` parsed with ngxparse, for every\n"
        "location that passes upstream (`fastcgi_pass`, `proxy_pass`, `uwsgi_pass`,\n"
        "`grpc_pass`). Timeouts are the effective ones after nginx's inheritance\n"
        "(http → server → location; 60 s when unset), each with the file:line it\n"
        "comes from. The client timeout and the p99 service time come from\n"
        "`acceptq_workload` (`client_timeout_s`, `p99_s`, per location under\n"
        "`locations`); when they are not declared the finding says the value was\n"
        "assumed. The `nginx_timeouts` role writes the values these findings expect\n"
        "(`_nginx.recommended`: read and send timeouts at 75 % of the client's, so\n"
        "that nginx answers 504 before the client leaves; a connect timeout of at most\n"
        "0.5 s, below the kernel's initial SYN retransmission (1 s), so that a SYN\n"
        "dropped by a full accept queue ends as a counted 504 rather than a late 499;\n"
        "`fail_timeout` 10 s; `max_fails` at least 1; `next_upstream error timeout`).\n"
    ),
)
