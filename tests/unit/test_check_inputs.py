"""Declared inputs refused before any change, each naming its variable (issue #18: NaN, inf, 1e308)."""

import math

import pytest

from ansible_collections.acceptq.remediation.plugins.action import check_inputs


@pytest.mark.parametrize(
    "workload, named",
    [
        ({"pools": {"www": {"peak_qps": 1e12}}}, "acceptq_workload.pools.www.peak_qps"),
        ({"pools": {"www": {"peak_qps": math.nan}}}, "acceptq_workload.pools.www.peak_qps must be a finite"),
        ({"pools": {"www": {"service_time_s": 1e-300}}}, "acceptq_workload.pools.www.service_time_s"),
        ({"client_timeout_s": math.inf}, "acceptq_workload.client_timeout_s must be a finite"),
        ({"client_timeout_s": 1e308}, "acceptq_workload.client_timeout_s is out of range"),
        ({"client_timeout_s": -3}, "acceptq_workload.client_timeout_s must be a positive number"),
        ({"client_timeout_s": "2"}, "acceptq_workload.client_timeout_s must be a positive number"),
        ({"client_timeout_s": ".nan"}, "acceptq_workload.client_timeout_s must be a finite"),
        ({"client_timout_s": 2}, "unknown workload key 'client_timout_s'"),
        ({"pools": {"www": {"peak_qps": True}}}, "acceptq_workload.pools.www.peak_qps must be a positive number"),
        ({"pools": {"www": 5}}, "workload pools.www must be a mapping"),
        ({"pools": ["www"]}, "workload pools must be a mapping"),
        ("peak_qps: 100", "workload must be a mapping"),
        ({"pools": {"www": {"peak_qps": 10, "burst": 3}}}, "unknown workload key pools.www.burst"),
    ],
    ids=[
        "qps-1e12",
        "qps-nan",
        "service-1e-300",
        "timeout-inf",
        "timeout-1e308",
        "negative",
        "string-number",
        "string-nan",
        "typo-key",
        "bool",
        "entry-not-mapping",
        "pools-list",
        "workload-string",
        "unknown-pool-key",
    ],
)
def test_bad_workloads_are_refused_naming_the_variable(workload, named):
    problems = check_inputs.check_workload(workload)
    assert problems and named in problems[0], problems


def test_a_sane_workload_passes():
    assert check_inputs.check_workload({"client_timeout_s": 2, "pools": {"www": {"peak_qps": 100}}}) == []


@pytest.mark.parametrize(
    "role, values, named",
    [
        ("kernel_queues", {"kernel_queues_somaxconn": math.nan}, "kernel_queues_somaxconn must be a finite"),
        ("kernel_queues", {"kernel_queues_somaxconn": 1e308}, "kernel_queues_somaxconn is out of range"),
        ("kernel_queues", {"kernel_queues_somaxconn": "lots"}, "kernel_queues_somaxconn"),
        ("nginx_timeouts", {"nginx_timeouts_listen_backlog": math.inf}, "nginx_timeouts_listen_backlog"),
        ("nginx_timeouts", {"nginx_timeouts_manage": ["timeouts", "everything"]}, "nginx_timeouts_manage"),
        ("php_fpm_backlog", {"php_fpm_backlog_pools": "www"}, None),  # a string is a one-item list to Ansible
        ("php_fpm_backlog", {"php_fpm_backlog_raise_somaxconn": "maybe"}, "php_fpm_backlog_raise_somaxconn"),
    ],
)
def test_bad_role_variables_are_refused_naming_them(role, values, named):
    problems = check_inputs.check_role(role, values)
    if named is None:
        assert problems == []
    else:
        assert problems and any(named in problem for problem in problems), problems


def test_every_remediation_role_has_argument_specs_to_check():
    for role in ("kernel_queues", "nginx_timeouts", "php_fpm_backlog"):
        assert check_inputs.role_options(role)
