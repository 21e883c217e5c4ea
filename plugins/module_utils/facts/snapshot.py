# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The queue snapshot: evidence plus counter rates, as a fact and as metrics.

Python 3 standard library only: the ansible_local fact and the textfile
writer installed by the queue_facts role run this on the host. Rates come
from a small state file holding the previous run's counters; the first run
reports no rate rather than a false zero.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import collect as _backlog
from ansible_collections.acceptq.remediation.plugins.module_utils.core import evidence as _evidence
from ansible_collections.acceptq.remediation.plugins.module_utils.host import collect as _host
from ansible_collections.acceptq.remediation.plugins.module_utils.kernel import collect as _kernel
from ansible_collections.acceptq.remediation.plugins.module_utils.rot import collect as _rot

SNAPSHOT_SECTIONS = ("host", "kernel", "sockets", "connections", "locks", "php_fpm")
# Only the collectors of these sections: the fact starts a fresh interpreter on
# every run, and importing every concern's collector (concerns.py) cost it
# about 15 ms.
SNAPSHOT_REGISTRY = dict(
    (section.name, section)
    for module in (_host, _kernel, _rot, _backlog)
    for section in module.SECTIONS
    if section.name in SNAPSHOT_SECTIONS
)

# TcpExt counter -> metric name (all are counters, so *_total).
COUNTER_METRICS = (
    ("ListenOverflows", "acceptq_listen_overflows_total", "Times an accept queue was full (TcpExt ListenOverflows)."),
    ("ListenDrops", "acceptq_listen_drops_total", "SYNs to listening sockets dropped (TcpExt ListenDrops)."),
    ("TCPReqQFullDrop", "acceptq_syn_queue_full_drops_total", "SYNs dropped for a full SYN queue."),
    ("TCPReqQFullDoCookies", "acceptq_syn_queue_full_cookies_total", "SYN cookies sent for a full SYN queue."),
    ("SyncookiesSent", "acceptq_syncookies_sent_total", "SYN cookies sent (TcpExt SyncookiesSent)."),
    (
        "TCPBacklogDrop",
        "acceptq_tcp_backlog_drops_total",
        "Segments dropped for a full socket backlog (not the accept queue).",
    ),
)


def load_state(path):
    """The previous run's counters, or None (first run, or an unreadable state)."""
    try:
        state = json.loads(_evidence.read_text(path))
        if isinstance(state.get("time"), (int, float)) and isinstance(state.get("counters"), dict):
            return state
    except (_evidence.EvidenceError, ValueError, AttributeError):
        pass
    return None


def _create_temp(directory, prefix):
    """A new file only we can read (tempfile.mkstemp without its import cost)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _attempt in range(100):
        temp = os.path.join(directory, prefix + os.urandom(6).hex())
        try:
            return os.open(temp, flags, 0o600), temp
        except FileExistsError:
            continue
    raise FileExistsError("no unused temporary name in %s" % directory)


def write_atomically(path, text, mode=0o644):
    """Write text to path through a temp file in the same directory and a rename."""
    directory = os.path.dirname(path) or "."
    handle, temp = _create_temp(directory, ".%s." % os.path.basename(path))
    try:
        try:
            data = text.encode("utf-8")
            while data:
                data = data[os.write(handle, data) :]
        finally:
            os.close(handle)
        if mode != 0o600:  # the temp file is created 0600
            os.chmod(temp, mode)
        os.rename(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def counter_rates(counters, previous, now):
    """Per counter: value, delta and per-second rate since the previous run."""
    rates = {}
    elapsed = None
    if previous is not None:
        elapsed = now - previous["time"]
    for name, value in sorted((counters or {}).items()):
        entry = {"value": value, "delta": None, "rate_per_s": None}
        before = (previous or {}).get("counters", {}).get(name) if previous else None
        # A counter that went down means a reboot or a new namespace: no rate.
        if value is not None and before is not None and elapsed and elapsed > 0 and value >= before:
            entry["delta"] = value - before
            entry["rate_per_s"] = round((value - before) / elapsed, 3)
        rates[name] = entry
    return rates, elapsed


def listener_view(listener):
    limit = listener.get("backlog_limit")
    depth = listener.get("queue_depth")
    owner = listener.get("owner") or {}
    ratio = None
    if depth is not None and limit:
        ratio = round(float(depth) / limit, 3)
    return {
        "family": listener["family"],
        "local": listener["local"],
        "process": owner.get("name"),
        "pid": owner.get("pid"),
        "queue_depth": depth,
        "queue_limit": limit,
        "queue_ratio": ratio,
    }


def snapshot(state_path=None, proc_root="/proc", now=None):
    """The fact document. Never raises for bad input: problems go to "errors"."""
    now = time.time() if now is None else now
    previous = load_state(state_path) if state_path else None
    document = {"schema": 1, "time": now}
    state_errors = []

    def before_waiting(evidence):
        # Everything but connections and flock: done while the kernel finishes those.
        kernel = evidence.get("kernel") or {}
        counters = kernel.get("counters") or {}
        rates, elapsed = counter_rates(counters, previous, now)
        sockets = evidence.get("sockets") or {}
        listeners = sockets.get("listeners") or []
        if state_path and counters:
            listened = sockets.get("listened_ports")
            state = {
                "time": now,
                "counters": counters,
                "owner_fds": sockets.get("owner_fds") or {},
                # An unreadable listener table keeps the last run's ports.
                "listened_ports": listened if listened is not None else (previous or {}).get("listened_ports"),
            }
            try:
                write_atomically(state_path, json.dumps(state), mode=0o600)
            except (IOError, OSError) as exc:
                state_errors.append(
                    {"section": "state", "source": state_path, "message": "cannot save counters: %s" % exc}
                )
        document.update(
            {
                "netns": kernel.get("netns"),
                "sysctls": kernel.get("sysctls") or {},
                "counters": rates,
                "rate_interval_s": round(elapsed, 3) if elapsed else None,
                "listeners": [listener_view(item) for item in listeners],
            }
        )

    try:
        evidence = _evidence.collect(
            SNAPSHOT_REGISTRY,
            SNAPSHOT_SECTIONS,
            proc_root=proc_root,
            counter_sample_interval=0,
            hints={"owners": (previous or {}).get("owner_fds"), "ports": (previous or {}).get("listened_ports")},
            before_waiting=before_waiting,
        )
    except Exception as exc:  # the fact must print JSON whatever happens
        return {"schema": 1, "time": now, "errors": [{"section": "all", "source": "gather", "message": repr(exc)}]}
    locks = evidence.get("locks") or {}
    waiters_by_process = {}
    for record in locks.get("files") or []:
        for name, number in record["waiters_by_process"].items():
            waiters_by_process[name] = waiters_by_process.get(name, 0) + number
    document.update(
        {
            "connections_by_port": (evidence.get("connections") or {}).get("by_local_port") or {},
            "flock": {
                "waiters_total": locks.get("waiters_total", 0),
                "files": [
                    {
                        "path": record["path"],
                        "device": record["device"],
                        "inode": record["inode"],
                        "waiters": record["waiters"],
                        "waiters_by_process": record["waiters_by_process"],
                    }
                    for record in locks.get("files") or []
                ],
                "waiters_by_process": waiters_by_process,
            },
            "php_fpm_pools": (evidence.get("php_fpm") or {}).get("pools") or [],
            "errors": list(evidence["errors"]) + state_errors,
        }
    )
    return document


def _label_value(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _sample(name, labels, value):
    if labels:
        rendered = ",".join('%s="%s"' % (key, _label_value(val)) for key, val in sorted(labels.items()))
        return "%s{%s} %s" % (name, rendered, value)
    return "%s %s" % (name, value)


def render_prometheus(snap):
    """The snapshot in the Prometheus text exposition format."""
    families = []

    def family(name, kind, help_text, samples):
        lines = ["# HELP %s %s" % (name, help_text), "# TYPE %s %s" % (name, kind)]
        lines.extend(_sample(name, labels, value) for labels, value in samples)
        families.append("\n".join(lines))

    sysctls = snap.get("sysctls") or {}
    for key, name in (
        ("net.core.somaxconn", "acceptq_somaxconn"),
        ("net.ipv4.tcp_max_syn_backlog", "acceptq_tcp_max_syn_backlog"),
    ):
        if sysctls.get(key) is not None:
            family(name, "gauge", "%s of the network namespace." % key, [({}, sysctls[key])])
    counters = snap.get("counters") or {}
    for counter, name, help_text in COUNTER_METRICS:
        entry = counters.get(counter)
        if entry and entry["value"] is not None:
            family(name, "counter", help_text, [({}, entry["value"])])
    rate_samples = [
        ({"counter": name}, entry["rate_per_s"])
        for name, entry in sorted(counters.items())
        if entry["rate_per_s"] is not None
    ]
    if rate_samples:
        family(
            "acceptq_counter_rate_per_second",
            "gauge",
            "Per-second rate of each TcpExt counter since the previous run.",
            rate_samples,
        )
    listeners = snap.get("listeners") or []
    for key, name, help_text in (
        ("queue_depth", "acceptq_listen_queue_depth", "Current accept-queue depth of a listening socket (Recv-Q)."),
        ("queue_limit", "acceptq_listen_queue_limit", "Effective backlog of a listening socket (Send-Q)."),
        ("queue_ratio", "acceptq_listen_queue_ratio", "Accept-queue depth divided by its limit."),
    ):
        samples = [
            ({"family": item["family"], "listener": item["local"], "process": item["process"] or ""}, item[key])
            for item in listeners
            if item[key] is not None
        ]
        if samples:
            family(name, "gauge", help_text, samples)
    connection_samples = []
    for port, states in sorted((snap.get("connections_by_port") or {}).items(), key=lambda item: int(item[0])):
        for state, number in sorted(states.items()):
            connection_samples.append(({"port": port, "state": state}, number))
    family("acceptq_tcp_connections", "gauge", "TCP connections per local port and state.", connection_samples)
    flock = snap.get("flock") or {}
    family(
        "acceptq_flock_waiters",
        "gauge",
        "Processes blocked waiting for a file lock.",
        [({}, flock.get("waiters_total", 0))],
    )
    file_samples = [
        ({"path": record["path"] or "%s:%s" % (record["device"], record["inode"])}, record["waiters"])
        for record in flock.get("files") or []
    ]
    if file_samples:
        family("acceptq_flock_waiters_by_file", "gauge", "Processes blocked on one file's lock.", file_samples)
    process_samples = [
        ({"process": name}, number) for name, number in sorted((flock.get("waiters_by_process") or {}).items())
    ]
    if process_samples:
        family(
            "acceptq_flock_waiters_by_process", "gauge", "Processes blocked on a file lock, by name.", process_samples
        )
    family(
        "acceptq_errors",
        "gauge",
        "Evidence sources that could not be read in this run.",
        [({}, len(snap.get("errors") or []))],
    )
    family(
        "acceptq_last_run_timestamp_seconds",
        "gauge",
        "When this file was written.",
        [({}, round(snap.get("time") or 0, 3))],
    )
    return "\n".join(families) + "\n"
