# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The declared workload (acceptq_workload), validated: what acceptq cannot observe on a host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math


class PolicyError(ValueError):
    """A declared threshold or workload value is unknown or of the wrong type."""


# The declared workload: what acceptq cannot observe on the host. Checks and
# remediation roles read the same values (inventory: acceptq_workload); every
# value not declared is assumed and reports say so.
DEFAULT_WORKLOAD = {
    # Timeout of whatever sits in front of nginx (load balancer, CDN, API client).
    "client_timeout_s": 60.0,
    # Mean service time of one PHP request.
    "service_time_s": 0.1,
    # Expected 99th percentile service time.
    "p99_s": 1.0,
    # No backlog is sized below this.
    "backlog_floor": 16,
    # Longest a connection should wait in an accept queue: a queue absorbs
    # bursts, and everything it holds when a stall ends is dead work.
    "queue_wait_s": 0.25,
    # Per php-fpm pool name: peak_qps, client_timeout_s, service_time_s, backlog_floor, queue_wait_s.
    "pools": {},
    # Per nginx server name, or "server_name location": p99_s, client_timeout_s.
    "locations": {},
}
WORKLOAD_ENTRY_KEYS = {
    "pools": ("peak_qps", "client_timeout_s", "service_time_s", "backlog_floor", "queue_wait_s"),
    "locations": ("p99_s", "client_timeout_s"),
}


# Beyond these a declared value is a typo, and the sizing arithmetic would
# overflow or size nothing: refused with the variable's name.
WORKLOAD_LIMITS = {
    "peak_qps": (1e-3, 1e7),
    "client_timeout_s": (1e-3, 86400.0),
    "service_time_s": (1e-6, 86400.0),
    "p99_s": (1e-6, 86400.0),
    "backlog_floor": (1, 65535),
    "queue_wait_s": (1e-6, 3600.0),
}


def _positive_number(where, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PolicyError("acceptq_workload.%s must be a positive number, got %r" % (where, value))
    if not math.isfinite(value) or value <= 0:
        raise PolicyError("acceptq_workload.%s must be a positive number, got %r" % (where, value))
    low, high = WORKLOAD_LIMITS.get(where.rsplit(".", 1)[-1], (0, float("inf")))
    if not low <= value <= high:
        raise PolicyError("acceptq_workload.%s must be between %g and %g, got %r" % (where, low, high, value))
    return value


def effective_workload(declared=None):
    """Defaults overlaid with the declared workload, validated; 'assumed' lists what was not declared."""
    declared = declared or {}
    if not isinstance(declared, dict):
        raise PolicyError("workload must be a mapping, got %r" % (declared,))
    workload = dict(DEFAULT_WORKLOAD)
    for key, value in declared.items():
        if key not in DEFAULT_WORKLOAD:
            raise PolicyError("unknown workload key %r (known: %s)" % (key, ", ".join(sorted(DEFAULT_WORKLOAD))))
        if key in WORKLOAD_ENTRY_KEYS:
            if not isinstance(value, dict):
                raise PolicyError("workload %s must be a mapping, got %r" % (key, value))
            entries = {}
            for name, entry in value.items():
                if not isinstance(entry, dict):
                    raise PolicyError("workload %s.%s must be a mapping, got %r" % (key, name, entry))
                for field, number in entry.items():
                    if field not in WORKLOAD_ENTRY_KEYS[key]:
                        raise PolicyError(
                            "unknown workload key %s.%s.%s (known: %s)"
                            % (key, name, field, ", ".join(WORKLOAD_ENTRY_KEYS[key]))
                        )
                    _positive_number("%s.%s.%s" % (key, name, field), number)
                entries[str(name)] = dict(entry)
            workload[key] = entries
        else:
            workload[key] = _positive_number(key, value)
    workload["assumed"] = sorted(
        key for key in DEFAULT_WORKLOAD if key not in declared and key not in WORKLOAD_ENTRY_KEYS
    )
    return workload
