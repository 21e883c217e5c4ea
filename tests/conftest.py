"""Shared test setup: import the collection's pure Python, load captured fixtures."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(ROOT / "src"))

from acceptq.collection import import_shared  # noqa: E402

import_shared(ROOT)

from ansible_collections.acceptq.remediation.plugins.module_utils.core import sockdiag as _sockdiag  # noqa: E402
from ansible_collections.acceptq.remediation.plugins.module_utils.kernel import collect as _kernel  # noqa: E402
from ansible_collections.acceptq.remediation.plugins.module_utils.rot import collect as _rot  # noqa: E402


def fixture_evidence(name, sampled_previous=None):
    """Evidence as the gather module builds it, from a captured fixture directory.

    sampled_previous: counters of an earlier read, as if sampled twice.
    """
    directory = FIXTURES / name
    proc_root = str(directory / "proc")
    errors = []
    context = {"proc_root": proc_root, "errors": errors, "counter_sample_interval": 0}
    kernel = _kernel.collect_kernel(context)
    if sampled_previous is not None:
        kernel["counters_previous"] = sampled_previous
        kernel["counter_interval_s"] = 1.0
    inet = []
    for filename in ("inet_diag.bin", "inet6_diag.bin"):
        inet += _sockdiag.parse_inet((directory / filename).read_bytes())
    unix = _sockdiag.parse_unix((directory / "unix_diag.bin").read_bytes())
    sockets = {"netns": None, "listeners": _kernel.build_listeners(inet, unix, {}), "source": "fixture"}
    counts = _sockdiag.count_states_by_port((directory / "conn_diag.bin").read_bytes())
    connections = {"by_local_port": {str(port): states for port, states in counts.items()}}
    locks = _rot.collect_locks(context)
    return {
        "schema": 1,
        "errors": errors,
        "host": {"system": "Linux"},
        "kernel": kernel,
        "sockets": sockets,
        "connections": connections,
        "locks": locks,
    }


@pytest.fixture
def evidence_of():
    return fixture_evidence


@pytest.fixture
def root():
    return ROOT


def is_root():
    return os.geteuid() == 0
