import pytest

from ansible_collections.acceptq.remediation.plugins.module_utils.registry import (
    PolicyError,
    effective_workload,
    run_checks,
)


def test_undeclared_values_are_assumed_and_reported():
    workload = effective_workload({"client_timeout_s": 2, "pools": {"www": {"peak_qps": 100}}})
    assert workload["client_timeout_s"] == 2
    assert workload["pools"] == {"www": {"peak_qps": 100}}
    assert "client_timeout_s" not in workload["assumed"]
    assert {"service_time_s", "p99_s", "backlog_floor"} <= set(workload["assumed"])


@pytest.mark.parametrize(
    "declared, message",
    [
        ({"client_timout_s": 2}, "unknown workload key 'client_timout_s'"),
        ({"client_timeout_s": 0}, "client_timeout_s must be a positive number"),
        ({"client_timeout_s": "2s"}, "client_timeout_s must be a positive number"),
        ({"pools": {"www": {"qps": 1}}}, "unknown workload key pools.www.qps"),
        ({"pools": {"www": {"peak_qps": -1}}}, "pools.www.peak_qps must be a positive number"),
        ({"pools": ["www"]}, "pools must be a mapping"),
        (["client_timeout_s"], "workload must be a mapping"),
    ],
)
def test_bad_workload_is_a_clear_error(declared, message):
    with pytest.raises(PolicyError, match=message):
        effective_workload(declared)


def test_checks_see_the_workload():
    with pytest.raises(PolicyError):
        run_checks("h", {}, {}, {"p99_s": True})
