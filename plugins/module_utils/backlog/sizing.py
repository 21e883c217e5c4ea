# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Size an accept queue by queueing: backlog = ceil(throughput x acceptable wait).

Runs on the controller; pure functions over evidence and the declared
workload. The audit (``_checks_backlog``) and the php_fpm_backlog role (the
``backlog_plan`` action) both call ``plan_pool``, so they size identically.
The math is explained in docs/sizing.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as _nginx

# net.core.somaxconn was 16 bits wide before Linux 4.x and php-fpm's own old
# default; nothing sized here goes above it.
BACKLOG_MAX = 65535
# Products like 1000 x 0.1 are 100.00000000000001 in binary floating point:
# round away that noise before taking the ceiling.
_PRECISION = 9


def wait_budget(upstream_timeouts_s, client_timeout_s, service_time_s, queue_wait_s=None):
    """Seconds a connection may wait in the accept queue, at least 0.

    min(timeouts) minus the service time (waiting longer, the answer comes
    too late), capped by the queueing budget queue_wait_s: every connection
    queued when a stall ends is dead work, and a deep queue delays live
    traffic by backlog / (capacity - arrivals) after it.
    """
    timeouts = [float(value) for value in upstream_timeouts_s if value is not None] + [float(client_timeout_s)]
    wait = max(0.0, min(timeouts) - float(service_time_s))
    return wait if queue_wait_s is None else min(wait, float(queue_wait_s))


def sized_backlog(throughput_qps, wait_s, floor, somaxconn=None, raise_somaxconn=True):
    """ceil(throughput x wait), clamped to [floor, somaxconn].

    Returns a dict: ``backlog`` (the value to configure), ``unclamped``,
    ``clamped`` ("floor", "somaxconn", "maximum" or None) and
    ``somaxconn_needed`` (the somaxconn the backlog needs when it is above the
    current one and raise_somaxconn allows raising it, else None).
    """
    if throughput_qps is None or throughput_qps < 0 or wait_s < 0:
        raise ValueError("throughput and wait must be non-negative, got %r and %r" % (throughput_qps, wait_s))
    floor = int(floor)
    unclamped = int(math.ceil(round(float(throughput_qps) * float(wait_s), _PRECISION)))
    backlog, clamped, needed = unclamped, None, None
    if backlog < floor:
        backlog, clamped = floor, "floor"
    if backlog > BACKLOG_MAX:
        backlog, clamped = BACKLOG_MAX, "maximum"
    if somaxconn is not None and backlog > somaxconn:
        if raise_somaxconn:
            needed = backlog
        else:
            backlog, clamped = int(somaxconn), "somaxconn"
    return {"backlog": backlog, "unclamped": unclamped, "clamped": clamped, "somaxconn_needed": needed}


def effective_backlog(configured, somaxconn):
    """What listen() gets: -1 (or anything above it) is cut to somaxconn."""
    if configured is None or somaxconn is None:
        return configured
    if configured < 0 or configured > somaxconn:
        return int(somaxconn)
    return configured


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def pool_inputs(pool, workload):
    """The declared (or assumed) workload values for one pool, and which were assumed."""
    entry = (workload.get("pools") or {}).get(pool["name"]) or {}
    assumed = set(workload.get("assumed") or ())
    values, assumed_keys = {}, []
    for key in ("client_timeout_s", "service_time_s", "backlog_floor", "queue_wait_s"):
        if key in entry:
            values[key] = entry[key]
        else:
            values[key] = workload[key]
            if key in assumed:
                assumed_keys.append(key)
    values["peak_qps"] = entry.get("peak_qps")
    return values, assumed_keys


def throughput(pool, inputs):
    """(requests per second, source): the declared peak wins, else what the workers can drain."""
    if inputs.get("peak_qps"):
        return float(inputs["peak_qps"]), "declared peak_qps"
    max_children = _number((pool.get("settings") or {}).get("pm.max_children"))
    if max_children:
        return max_children / float(inputs["service_time_s"]), "pm.max_children %d / service_time_s %g" % (
            max_children,
            inputs["service_time_s"],
        )
    return None, "no declared peak_qps and no pm.max_children"


def observed_mean_rate(pool):
    """accepted conn / start since from the status page: a mean since the last start, not a peak."""
    status = pool.get("status") or {}
    accepted, since = _number(status.get("accepted conn")), _number(status.get("start since"))
    if accepted is None or not since:
        return None
    return round(accepted / since, 3)


def same_host_passes(model, pool, workload, host=None):
    """Passes from the nginx on the pool's own host: [(nginx host, model, server, location, workload)]."""
    if not model or not pool.get("listen"):
        return []
    return [
        (host, model, server, location, workload)
        for server, location in _nginx.locations_for_listen(model, pool["listen"])
    ]


def upstream_timeouts(passes, pool_host=None):
    """[(seconds, label)]: per nginx location passing to the pool (on any host), the read timeout
    nginx_timeouts sets there (its target, from that nginx host's own workload), so the size does
    not depend on whether, where or in which order that role runs.

    passes: [(nginx host, model, server, location, workload)].
    """
    found = []
    for nginx_host, model, server, location, workload in passes:
        setting = (location.get("settings") or {}).get("read_timeout") or {}
        current = setting.get("seconds")
        target = _nginx.recommended(model, server, location, workload)["read_timeout_s"]
        seconds = target
        label = "%s%s location %s (%s:%s) %s_read_timeout %s" % (
            "%s: " % nginx_host if nginx_host and nginx_host != pool_host else "",
            (server.get("names") or ["_"])[0],
            location.get("match"),
            location.get("file"),
            location.get("line"),
            location["pass"]["module"],
            setting.get("value", "60s"),
        )
        if current is None or target != current:
            label += ", %s once nginx_timeouts applies" % _nginx.format_duration(target)
        found.append((seconds, label))
    return found


def plan_pool(pool, workload, somaxconn, model=None, raise_somaxconn=True, passes=None, host=None):
    """The sized listen.backlog of one php-fpm pool (an evidence pool record), with its reasoning.

    passes: the nginx locations that pass to the pool, on any host (core.fleet); without them,
    the nginx on the pool's own host (model).
    """
    inputs, assumed = pool_inputs(pool, workload)
    qps, qps_source = throughput(pool, inputs)
    if passes is None:
        passes = same_host_passes(model, pool, workload, host)
    timeouts = upstream_timeouts(passes, host)
    wait = wait_budget(
        [seconds for seconds, _label in timeouts],
        inputs["client_timeout_s"],
        inputs["service_time_s"],
        inputs["queue_wait_s"],
    )
    plan = {
        "pool": pool["name"],
        "binary": pool.get("binary"),
        "listen": pool.get("listen"),
        "configured": pool.get("listen_backlog"),
        "effective_configured": effective_backlog(pool.get("listen_backlog"), somaxconn),
        "somaxconn": somaxconn,
        "throughput_qps": qps,
        "throughput_source": qps_source,
        "observed_mean_qps": observed_mean_rate(pool),
        "wait_s": round(wait, 6),
        "upstream_timeouts": [label for _seconds, label in timeouts],
        "nginx_hosts": sorted(set(str(item[0]) for item in passes if item[0] is not None)),
        "inputs": inputs,
        "assumed": assumed,
        "sized": None,
        "reason": None,
    }
    if qps is None:
        plan["reason"] = "cannot size: %s" % qps_source
        return plan
    sized = sized_backlog(qps, wait, inputs["backlog_floor"], somaxconn, raise_somaxconn)
    plan.update(sized=sized["backlog"], unclamped=sized["unclamped"], clamped=sized["clamped"])
    plan["somaxconn_needed"] = sized["somaxconn_needed"]
    limits = ", ".join([label for _seconds, label in timeouts] + ["client timeout %gs" % inputs["client_timeout_s"]])
    reason = "ceil(%g req/s (%s) x %gs wait (min of %s, minus service time %gs; at most queue_wait_s %gs)) = %d" % (
        qps,
        qps_source,
        plan["wait_s"],
        limits,
        inputs["service_time_s"],
        inputs["queue_wait_s"],
        sized["unclamped"],
    )
    if sized["clamped"]:
        reason += ", clamped to the %s %d" % (sized["clamped"], sized["backlog"])
    if sized["somaxconn_needed"]:
        reason += "; needs net.core.somaxconn >= %d (now %s)" % (sized["somaxconn_needed"], somaxconn)
    if assumed:
        reason += "; assumed: %s" % ", ".join(assumed)
    plan["reason"] = reason
    return plan
