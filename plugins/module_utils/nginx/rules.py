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
        "attempt is not retried on another server, so the client gets the 502/504 even\n"
        "when another server is healthy. It does not change failure counting: nginx\n"
        "counts `error` and `timeout` toward `max_fails` whatever `next_upstream` says.\n"
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
        "Judged over the fleet: the idle connections of every nginx host passing to\n"
        "the pool (wherever the pool runs) are summed; the finding names the pool,\n"
        "its host and each nginx host's share.\n"
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

STREAMING_SHARED = Rule(
    "AQ-NGINX-011",
    "nginx",
    "warning",
    "Streaming endpoint shares a location or an upstream with request/response traffic",
    needs=("nginx",),
    explanation=(
        "A location whose upstream responses stream (websocket `Upgrade` headers,\n"
        "server-sent events, `*_buffering off`, long polling, gRPC) needs a long read\n"
        "timeout; request/response traffic needs one shorter than the client's. When\n"
        "both go through one location, one timeout cannot suit both; when they share an\n"
        "upstream, long-lived streams and short requests share its `max_fails`\n"
        "accounting and its connections. Streaming locations are never judged by\n"
        "AQ-NGINX-001/002 and the `nginx_timeouts` role never shortens their read or\n"
        "send timeout.\n"
    ),
)
CONNECT_TIMEOUT_LONG = Rule(
    "AQ-NGINX-012",
    "nginx",
    "warning",
    "Connect timeout at or above the 1 s SYN retransmission",
    needs=("nginx",),
    explanation=(
        "A `*_connect_timeout` of 1 s or more on a TCP upstream (the default is 60 s).\n"
        "When a full accept queue drops a SYN, the kernel retries it after 1 s, then\n"
        "2 s, 4 s...: nginx keeps waiting, the client leaves first and the request ends\n"
        "as a 499 that `max_fails` never counts (measured in the incident lab). Below\n"
        "1 s the connect fails fast as a counted failure and the next server is tried.\n"
        "Unix sockets are not judged: a full unix queue refuses at once.\n"
    ),
)
FAIL_TIMEOUT_ZERO = Rule(
    "AQ-NGINX-013",
    "nginx",
    "warning",
    "fail_timeout=0 on a multi-server upstream: ejection never lasts",
    needs=("nginx",),
    explanation=(
        "`fail_timeout=0` makes both the failure window and the time out of rotation\n"
        "zero seconds: a server that fails `max_fails` times is tried again at once, so\n"
        "a stalled backend keeps receiving its share of requests.\n"
    ),
)
PASS_UNRESOLVED = Rule(
    "AQ-NGINX-014",
    "nginx",
    "info",
    "Upstream of a location not known: a variable in the pass target",
    needs=("nginx",),
    explanation=(
        "A `*_pass` whose target holds a variable acceptq cannot resolve from the\n"
        "configuration (map values, constant `set`s and upstream names are resolved).\n"
        "Its timeouts are judged; which php-fpm pool it reaches, and so the backlog\n"
        "sizing and the keepalive check for it, are not.\n"
    ),
)
CONFIG_BOUNDS = Rule(
    "AQ-NGINX-015",
    "nginx",
    "error",
    "nginx configuration past acceptq's bounds: not audited",
    needs=("nginx",),
    explanation=(
        "An include cycle, includes nested deeper than 32, more than 10,000 file\n"
        "inclusions, 200,000 statements or 4 MiB of configuration once includes are\n"
        "expanded (a `nginx -T` dump over 4 MiB is not shipped from the host at all).\n"
        "The audit stops there so that one hostile configuration cannot hold the\n"
        "controller (a valid 3.6 MB configuration takes about 250 MB and a few seconds);\n"
        "the finding names the limit and the file. No other nginx finding is reported\n"
        "for the host, and nothing is edited.\n"
    ),
)
NOT_LIVE = Rule(
    "AQ-NGINX-016",
    "nginx",
    "warning",
    "Audited nginx configuration is not the one running",
    needs=("nginx",),
    explanation=(
        "The files were changed after nginx last loaded its configuration (their\n"
        "mtime is later than the start of its newest worker: a reload starts new\n"
        "workers), so the findings describe the files, not what nginx serves; or no\n"
        "nginx runs and the packaged default configuration was audited (info). A\n"
        "worker respawned after a crash also starts late: then an edit made before it\n"
        "but after the last reload is missed.\n"
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
    STREAMING_SHARED,
    CONNECT_TIMEOUT_LONG,
    FAIL_TIMEOUT_ZERO,
    PASS_UNRESOLVED,
    CONFIG_BOUNDS,
    NOT_LIVE,
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


def _ports(server):
    ports = []
    for listen in server.get("listens") or []:
        label = "unix:%s" % listen["unix"] if listen.get("unix") else ":%s" % listen.get("port")
        if label not in ports:
            ports.append(label)
    return ",".join(ports)


def _label(server, location):
    name = (server.get("names") or ["_"])[0]
    return "server %s %s location %s (%s)" % (name, _ports(server), location["match"], _where(location))


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


# A finding lists at most this many places in its text; evidence keeps a bounded list too.
PLACES_SHOWN = 12
PLACES_KEPT = 200


class _Findings:
    """Findings of one host, identical ones merged: a declaration reached from several servers
    (a shared include, an http-level value) is one finding naming every server and port."""

    def __init__(self, host):
        self.host = host
        self.groups = {}
        self.whole = []

    def extend(self, findings):
        """Findings built whole by a check (one per upstream and pool): kept as they are."""
        self.whole.extend(findings)

    def add(self, rule, observed, expected, fix, evidence, where=None, severity=None):
        """where: (server, location) the finding is about; identical findings of several places merge."""
        place = None
        if where is not None:
            server, location = where
            place = _label(server, location)
            evidence = dict(evidence)
            evidence.setdefault("server", server.get("names"))  # the first place's; "places" lists all
            evidence.setdefault("location", location["match"])
        key = (rule.id, severity, observed, expected, fix)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = {"rule": rule, "evidence": evidence, "places": [], "count": 0}
        if place and place not in group["places"]:
            group["count"] += 1
            if len(group["places"]) < PLACES_KEPT:
                group["places"].append(place)

    def findings(self):
        result = []
        for (_id, severity, observed, expected, fix), group in self.groups.items():
            places, evidence = group["places"], dict(group["evidence"])
            if places:
                shown = "; ".join(places[:PLACES_SHOWN])
                if group["count"] > PLACES_SHOWN:
                    shown += "; and %d more" % (group["count"] - PLACES_SHOWN)
                observed = "%s: %s" % (shown, observed)
                evidence["places"] = places
                evidence["place_count"] = group["count"]
            finding = group["rule"].finding(self.host, observed, expected, fix, evidence=evidence, severity=severity)
            result.append(finding)
        return result + self.whole


def _at(item, **evidence):
    """Evidence with the file and line the finding rests on (reports show them)."""
    evidence.setdefault("file", (item or {}).get("file"))
    evidence.setdefault("line", (item or {}).get("line"))
    return evidence


def _setting_at(setting, location, **evidence):
    """Evidence located where a setting is declared, or at its location when it is nginx's default."""
    evidence["setting"] = setting
    return _at(setting if setting.get("file") else location, **evidence)


def check_config_readable(out, evidence, policy, model):
    for error in model["errors"]:
        where = error["file"] + (":%s" % error["line"] if error.get("line") else "")
        out.add(
            CONFIG_UNREADABLE,
            "%s: %s" % (where, error["message"]),
            "a configuration nginx -t accepts and acceptq can parse",
            "Fix the configuration at %s; acceptq audits the rest and will not edit this file until it parses." % where,
            _at(error, **error),
        )


def check_bounds(out, evidence, policy, model):
    for limit in model.get("limits") or []:
        out.add(
            CONFIG_BOUNDS,
            limit["message"],
            "a configuration whose includes expand within acceptq's limits (%s)"
            % ", ".join("%s %s" % (name, value) for name, value in sorted(_nginx.LIMITS.items())),
            "Break the include cycle or the runaway expansion at %s (nginx -t would fail or take as long); "
            "acceptq audits and edits nothing else of this host's nginx until then." % _where(limit),
            _at(limit, **limit),
        )


def check_live(out, evidence, policy, model):
    live = model.get("live") or (evidence.get("nginx") or {}).get("live")
    if not live:
        return
    if not live.get("running"):
        out.add(
            NOT_LIVE,
            "no nginx master process runs: audited %s, from %s"
            % (model["conf_path"], live.get("conf_source") or "nginx's default"),
            "a running nginx whose configuration is the one audited",
            "Nothing serves this configuration now; start nginx with it, or audit the host where it runs.",
            {"file": model["conf_path"], "line": None, "live": live},
            severity="info",
        )
        return
    changed = live.get("changed") or []
    if changed:
        names = ", ".join(item["file"] for item in changed[:PLACES_SHOWN])
        if len(changed) > PLACES_SHOWN:
            names += " and %d more" % (len(changed) - PLACES_SHOWN)
        out.add(
            NOT_LIVE,
            "%d file(s) changed after nginx last loaded its configuration (newest worker started at %s, "
            "master pid %s): %s" % (len(changed), live.get("loaded_at_text"), live.get("master_pid"), names),
            "the audited files are the ones nginx runs: reload after every change",
            "Run nginx -t, then reload nginx (systemctl reload nginx); until then nginx serves the old "
            "configuration, whatever these findings say about the files.",
            {"file": changed[0]["file"], "line": None, "live": live},
        )


def _streaming_kinds(location):
    return ", ".join(sorted(set(item["kind"] for item in location.get("streaming") or [])))


def check_timeouts(out, evidence, policy, model):
    workload = policy["workload"]
    for server, location in _passing_locations(model):
        if location.get("streaming"):
            continue  # judged by AQ-NGINX-011: a long read timeout is intended there
        client, client_declared = _nginx.declared_for(workload, server, location, "client_timeout_s")
        p99, p99_declared = _nginx.declared_for(workload, server, location, "p99_s")
        target = _nginx.recommended(model, server, location, workload)
        module = location["pass"]["module"]
        for name in ("read_timeout", "send_timeout"):
            setting = location["settings"][name]
            seconds = setting.get("seconds")
            if seconds is None:
                continue
            assumed = [
                key
                for key, declared in (("client_timeout_s", client_declared), ("p99_s", p99_declared))
                if not declared
            ]
            details = _setting_at(
                setting,
                location,
                directive="%s_%s" % (module, name),
                client_timeout_s=client,
                p99_s=p99,
                assumed=assumed,
            )
            if seconds >= client:
                out.add(
                    CLIENT_LEAVES_FIRST,
                    "%s_%s %s (%s) >= client timeout %gs%s"
                    % (module, name, setting["value"], _where(setting), client, _assumed(client_declared)),
                    "%s_%s below the client's timeout, so that nginx gives up first, answers 504 "
                    "and counts a failure toward max_fails" % (module, name),
                    "Set %s_%s %s (%.0f%% of the client's %gs) where these locations take it from; the "
                    "nginx_timeouts role does it."
                    % (
                        module,
                        name,
                        _nginx.format_duration(target["%s_s" % name]),
                        100 * _nginx.UPSTREAM_SHARE_OF_CLIENT_TIMEOUT,
                        client,
                    ),
                    details,
                    where=(server, location),
                )
            elif name == "read_timeout" and seconds < p99:
                out.add(
                    TIMEOUT_BELOW_P99,
                    "%s_read_timeout %s (%s) < expected p99 %gs%s"
                    % (module, setting["value"], _where(setting), p99, _assumed(p99_declared)),
                    "a read timeout above the p99 service time: healthy slow requests must not fail",
                    "Set %s_read_timeout %s; the nginx_timeouts role does it."
                    % (module, _nginx.format_duration(target["read_timeout_s"])),
                    details,
                    where=(server, location),
                )


def _tcp_targets(model, location):
    return [target for target in _nginx.upstream_targets(model, location) if _nginx._endpoint(target)[0] == "tcp"]


def check_connect_timeouts(out, evidence, policy, model):
    for server, location in _passing_locations(model):
        setting = location["settings"].get("connect_timeout") or {}
        seconds = setting.get("seconds")
        if seconds is None or seconds < 1.0 or not _tcp_targets(model, location):
            continue
        module = location["pass"]["module"]
        out.add(
            CONNECT_TIMEOUT_LONG,
            "%s_connect_timeout %s (%s) >= 1s on a TCP upstream" % (module, setting["value"], _where(setting)),
            "a connect timeout under the kernel's 1 s initial SYN retransmission, so that a SYN dropped by a full "
            "accept queue fails fast as a counted failure instead of returning as a late 499",
            "Set %s_connect_timeout %s; the nginx_timeouts role does it."
            % (module, _nginx.format_duration(_nginx.CONNECT_TIMEOUT_MAX_S)),
            _setting_at(setting, location, directive="%s_connect_timeout" % module),
            where=(server, location),
        )


def _mixed_location(location):
    """A location that takes every kind of request: the root, a named fallback, the PHP catch-all."""
    match = location["match"]
    return match in ("/", "= /") or match.startswith("@") or ".php" in match


def check_streaming(out, evidence, policy, model):
    users = {}
    for server, location in _passing_locations(model):
        for target in location["pass"].get("upstreams") or location["pass"].get("targets") or []:
            users.setdefault(target.lower(), []).append((server, location))
    for server, location in _passing_locations(model):
        if not location.get("streaming"):
            continue
        kinds = _streaming_kinds(location)
        first = location["streaming"][0]
        grpc_only = all(item["kind"].startswith("gRPC") for item in location["streaming"])
        if _mixed_location(location) and not grpc_only:  # a grpc_pass location carries gRPC alone
            out.add(
                STREAMING_SHARED,
                "streaming (%s, %s) in a location that also serves request/response traffic" % (kinds, _where(first)),
                "streaming endpoints in their own location with their own long read timeout",
                "Move the streaming path (e.g. the websocket URL) to its own location and give the rest a read "
                "timeout below the client's; acceptq does not shorten this location's read timeout.",
                _at(location, streaming=location["streaming"], location=location["match"]),
                where=(server, location),
            )
        shared = []
        for target in location["pass"].get("upstreams") or location["pass"].get("targets") or []:
            for other_server, other in users.get(target.lower(), []):
                if not other.get("streaming"):
                    label = _label(other_server, other)
                    if label not in shared:
                        shared.append(label)
        if shared:
            out.add(
                STREAMING_SHARED,
                "streaming (%s) to %s, which also serves request/response locations: %s"
                % (kinds, location["pass"]["target"], "; ".join(shared[:PLACES_SHOWN])),
                "a separate upstream for streams, so that their long-lived connections and failures do not "
                "share max_fails accounting and connections with short requests",
                "Declare a second upstream block (same servers are fine) for the streaming location.",
                _at(location["pass"], streaming=location["streaming"], shared_with=shared[:PLACES_KEPT]),
                where=(server, location),
            )


def check_unresolved(out, evidence, policy, model):
    for server, location in _passing_locations(model):
        reason = location["pass"].get("unresolved")
        if reason:
            out.add(
                PASS_UNRESOLVED,
                "%s (%s)" % (reason, _where(location["pass"])),
                "a pass target acceptq can follow to an upstream or address",
                "Nothing to change if this is intended; declare the pool link in the inventory if acceptq should "
                "size the backlog behind it.",
                _at(location["pass"], target=location["pass"]["written"]),
                where=(server, location),
            )


def _upstream_users(model):
    users = {}
    for server, location in _passing_locations(model):
        for name in location["pass"].get("upstreams") or []:
            users.setdefault(name, []).append(_label(server, location))
    return users


def check_ejection(out, evidence, policy, model):
    users = _upstream_users(model)
    for name, upstream in sorted(model["upstreams"].items()):
        if name not in users:
            continue
        live = [server for server in upstream["servers"] if not server["backup"] and not server["down"]]
        addresses = [server["address"] for server in live]
        for server in upstream["servers"]:
            where = "upstream %s server %s (%s)" % (name, server["address"], _where(server))
            details = _at(server, upstream=name, server=server, used_by=users[name][:PLACES_KEPT])
            if server["max_fails"] == 0:
                out.add(
                    EJECTION_DISABLED,
                    "%s: max_fails=0" % where,
                    "max_fails >= 1, so that a stalled backend is taken out of rotation",
                    "Remove max_fails=0 (the default is 1); the nginx_timeouts role does it.",
                    details,
                )
            elif server["fail_timeout_s"] == 0 and len(live) > 1:
                out.add(
                    FAIL_TIMEOUT_ZERO,
                    "%s: fail_timeout=0 in an upstream of %d servers" % (where, len(live)),
                    "fail_timeout of a few seconds (10 s is nginx's default): the time a failed server stays out",
                    "Set fail_timeout=%gs; the nginx_timeouts role does it." % _nginx.FAIL_TIMEOUT_MAX_S,
                    details,
                )
            if server["fail_timeout_s"] > policy["nginx_fail_timeout_max_s"]:
                shared = addresses.count(server["address"]) > 1
                out.add(
                    FAIL_TIMEOUT_LONG,
                    "%s: fail_timeout=%gs%s"
                    % (
                        where,
                        server["fail_timeout_s"],
                        "; %d entries point at this same backend, so one stall ejects all of them"
                        % addresses.count(server["address"])
                        if shared
                        else "",
                    ),
                    "fail_timeout <= %gs (policy nginx_fail_timeout_max_s): it is also how long an "
                    "ejected server stays out" % policy["nginx_fail_timeout_max_s"],
                    "Set fail_timeout=%gs; the nginx_timeouts role does it." % _nginx.FAIL_TIMEOUT_MAX_S,
                    details,
                )
        if len(live) == 1:
            out.add(
                SINGLE_SERVER,
                "upstream %s (%s) has one server, %s: nginx never marks it unavailable"
                % (name, _where(upstream), addresses[0]),
                "max_fails and fail_timeout only matter with two or more servers",
                "Nothing to tune here: ejection cannot help a single backend. Keep the timeouts below the "
                "client's so failures are answered (504) rather than abandoned (499).",
                _at(upstream, upstream=name, servers=upstream["servers"], used_by=users[name][:PLACES_KEPT]),
            )


def check_next_upstream(out, evidence, policy, model):
    for server, location in _passing_locations(model):
        setting = location["settings"]["next_upstream"]
        conditions = setting["value"].split()
        if "error" in conditions and "timeout" in conditions:
            continue
        module = location["pass"]["module"]
        out.add(
            NO_RETRY_ON_FAILURE,
            "%s_next_upstream %s (%s)" % (module, setting["value"], _where(setting)),
            "%s_next_upstream including error and timeout, so that a request whose server failed is retried "
            "on another one (failures count toward max_fails either way)" % module,
            "Set %s_next_upstream error timeout; the nginx_timeouts role does it." % module,
            _setting_at(setting, location, directive="%s_next_upstream" % module),
            where=(server, location),
        )


def _workers(model, section):
    return (model.get("worker_processes") or {}).get("count") or (section or {}).get("worker_count") or 1


def check_keepalive(out, evidence, policy, model):
    if policy.get("fleet") is not None:
        return  # judged over the fleet: every nginx host passing to a pool, wherever it runs
    pools = (evidence.get("php_fpm") or {}).get("pools") or []
    section = evidence.get("nginx") or {}
    workers = (model.get("worker_processes") or {}).get("count") or section.get("worker_count") or 1
    findings = []
    host = out.host
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
    out.extend(findings)


def check_keepalive_fleet(fleet, policy):
    """keepalive x workers summed over every nginx host whose upstream passes to a pool, against its
    pm.max_children: each idle cached connection holds one of the pool's workers."""
    pinned = {}  # (backend host, binary, pool) -> {(nginx host, upstream): (keepalive, workers, keep_conn)}
    pools = {}
    for link in fleet.links:
        if link.pool is None or not link.upstream:
            continue
        model = fleet.nginx_model(link.nginx_host)
        keep_conn = (link.location.get("settings") or {}).get("keep_conn") or {}
        keepalive = (model["upstreams"].get(link.upstream) or {}).get("keepalive")
        if keep_conn.get("value") != "on" or not keepalive:
            continue
        key = (link.backend_host, link.pool.get("binary"), link.pool["name"])
        pools[key] = link.pool
        section = (fleet.hosts[link.nginx_host].evidence or {}).get("nginx")
        pinned.setdefault(key, {})[(link.nginx_host, link.upstream)] = (keepalive, _workers(model, section), keep_conn)
    findings = []
    for key, entries in sorted(pinned.items()):
        backend, _binary, name = key
        try:
            max_children = int((pools[key].get("settings") or {}).get("pm.max_children"))
        except (TypeError, ValueError):
            continue
        total = sum(keepalive["value"] * workers for keepalive, workers, _keep in entries.values())
        if total < max_children:
            continue
        parts = [
            "%s upstream %s: keepalive %d (%s) x %d workers"
            % (nginx_host, upstream, keepalive["value"], _where(keepalive), workers)
            for (nginx_host, upstream), (keepalive, workers, _keep) in sorted(entries.items())
        ]
        nginx_hosts = sorted(set(nginx_host for nginx_host, _upstream in entries))
        workers_total = sum(workers for _keepalive, workers, _keep in entries.values())
        findings.append(
            KEEPALIVE_PINS_WORKERS.finding(
                nginx_hosts[0],
                observed="pool %s on %s (%s), reached from %s with fastcgi_keep_conn on: %s = %d idle "
                "connections kept, >= pm.max_children %d"
                % (
                    name,
                    backend,
                    pools[key].get("listen"),
                    " and ".join(nginx_hosts),
                    "; ".join(parts),
                    total,
                    max_children,
                ),
                expected="keepalive x worker_processes, summed over every nginx host passing to the pool, well "
                "below pm.max_children: each cached idle connection holds a php-fpm worker",
                fix="Lower keepalive so that the sum stays under pm.max_children (at most %d per nginx worker), or "
                "turn fastcgi_keep_conn off." % max(1, (max_children - 1) // workers_total // 2),
                evidence={
                    "pool": name,
                    "backend_host": backend,
                    "nginx_hosts": nginx_hosts,
                    "idle_connections": total,
                    "max_children": max_children,
                },
            )
        )
    return findings


def _format_text(model, name):
    if name == "combined":
        return COMBINED_FORMAT
    record = model["log_formats"].get(name)
    return record["format"] if record else None


# Paths that write nowhere: nothing to parse, nothing to judge.
DISCARDED_LOGS = ("/dev/null",)


def _access_logs(model):
    """path -> [log, [server labels]] for the logs that locations passing upstream write to."""
    logs = {}
    for server, location in _passing_locations(model):
        for log in location.get("access_logs") or []:
            path = log.get("path")
            if not path or path == "off" or path.startswith(("syslog:", "memory:")) or path in DISCARDED_LOGS:
                continue
            entry = logs.setdefault(path, [log if log.get("file") else dict(log, at=location), []])
            name = "%s %s" % ((server.get("names") or ["_"])[0], _ports(server))
            if name not in entry[1]:
                entry[1].append(name)
    return logs


def check_log_format(out, evidence, policy, model):
    for path, (log, servers) in sorted(_access_logs(model).items()):
        text = _format_text(model, log["format"])
        if text is None:
            continue
        missing = [name for name in LOG_VARIABLES if not re.search(re.escape(name) + r"\b", text)]
        if not missing:
            continue
        out.add(
            LOG_FORMAT_BLIND,
            "access_log %s (%s) uses format %s, without %s (servers %s)"
            % (path, _where(log), log["format"], " ".join(missing), ", ".join(servers)),
            "a log format with %s: a 499 or 504 must be told from the upstream's own answer" % " ".join(LOG_VARIABLES),
            "Define a log_format with %s and use it for %s." % (" ".join(LOG_VARIABLES), path),
            _at(
                log if log.get("file") else log.get("at"),
                path=path,
                format=log["format"],
                missing=missing,
                servers=servers,
            ),
        )


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


def check_client_aborts(out, evidence, policy, model):
    logs = (evidence.get("nginx") or {}).get("logs") or {}
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
        out.add(
            CLIENT_ABORTS,
            "%s (servers %s): %d of the last %d requests were 499 (%.1f%%); 504: %d, 502: %d"
            % (
                path,
                ", ".join(servers),
                aborted,
                total,
                100.0 * aborted / total,
                counts.get("504", 0),
                counts.get("502", 0),
            ),
            "499s at most %.1f%% of requests (policy nginx_499_share_max)" % (100 * policy["nginx_499_share_max"]),
            "Clients gave up before nginx answered: nginx counted no upstream failure and ejected "
            "nothing. Bring the upstream timeouts under the client's (AQ-NGINX-001) and find what "
            "slows the backend.",
            _at(log, path=path, servers=servers, status_counts=counts, unparsed_lines=unparsed),
        )


# Judged whatever the model holds; the rest only on a model that was not cut short.
ALWAYS = (check_config_readable, check_bounds, check_live)
MODEL_CHECKS = (
    check_timeouts,
    check_connect_timeouts,
    check_streaming,
    check_unresolved,
    check_ejection,
    check_next_upstream,
    check_keepalive,
    check_log_format,
    check_client_aborts,
)


def judge(host, evidence, policy, model):
    """Every nginx finding for one host's model, identical ones merged."""
    out = _Findings(host)
    for check in ALWAYS + (() if model.get("truncated") else MODEL_CHECKS):
        check(out, evidence, policy, model)
    return out.findings()


def check_nginx(host, evidence, policy):
    """Parse once per host, then run every nginx check over the model."""
    model = _model(evidence)
    if model is None:
        return []
    return judge(host, evidence, policy, model)


CHECKS = (check_nginx,)
FLEET_CHECKS = (check_keepalive_fleet,)


CONCERN = Concern(
    "nginx",
    "timeouts and ejection",
    rules=DEFINITIONS,
    policy=POLICY,
    checks=CHECKS,
    fleet_checks=FLEET_CHECKS,
    doc=(
        "Judged on the controller from `nginx -T` parsed with ngxparse, for every\n"
        "location that passes upstream (`fastcgi_pass`, `proxy_pass`, `uwsgi_pass`,\n"
        "`grpc_pass`). Timeouts are the effective ones after nginx's inheritance\n"
        "(http → server → location; 60 s when unset), each with the file:line it\n"
        "comes from. The client timeout and the p99 service time come from\n"
        "`acceptq_workload` (`client_timeout_s`, `p99_s`, per location under\n"
        "`locations`); when they are not declared the finding says the value was\n"
        "assumed. The `nginx_timeouts` role writes the values these findings expect\n"
        "(`nginx/model.recommended`: read and send timeouts at 75 % of the client's, so\n"
        "that nginx answers 504 before the client leaves; a connect timeout of at most\n"
        "0.5 s, below the kernel's initial SYN retransmission (1 s), so that a SYN\n"
        "dropped by a full accept queue ends as a counted 504 rather than a late 499;\n"
        "`fail_timeout` 10 s; `max_fails` at least 1; `next_upstream error timeout`).\n"
    ),
)
