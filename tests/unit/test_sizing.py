"""The sizing rule: backlog = ceil(throughput x acceptable wait), clamped to [floor, somaxconn]."""

import pytest
from conftest import FIXTURES

from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import sizing as _sizing
from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as _nginx
from ansible_collections.acceptq.remediation.plugins.module_utils.registry import effective_workload


def test_the_seeds_example_1000_qps_for_100_ms_is_100():
    # 1000 x 0.1 is 100.00000000000001 in floating point: the ceiling must not make it 101.
    assert _sizing.sized_backlog(1000, 0.1, floor=16)["backlog"] == 100


def test_the_wait_is_the_shortest_timeout_minus_the_service_time():
    # A 200 ms upstream timeout and a 100 ms mean service time leave the seed's 100 ms of queueing.
    wait = _sizing.wait_budget([0.2, 60.0], client_timeout_s=30, service_time_s=0.1)
    assert wait == pytest.approx(0.1)
    assert _sizing.sized_backlog(1000, wait, floor=16)["backlog"] == 100


def test_the_client_timeout_bounds_the_wait_when_it_is_shorter():
    assert _sizing.wait_budget([60.0], client_timeout_s=2, service_time_s=0.5) == pytest.approx(1.5)
    assert _sizing.wait_budget([], client_timeout_s=2, service_time_s=0.5) == pytest.approx(1.5)


def test_a_timeout_shorter_than_the_service_time_leaves_no_wait_and_the_floor():
    # The seed's vhost A: fastcgi_read_timeout 100ms with 100 ms requests: every queued request is a 504.
    wait = _sizing.wait_budget([0.1], client_timeout_s=60, service_time_s=0.25)
    assert wait == 0
    sized = _sizing.sized_backlog(1000, wait, floor=16)
    assert sized == {"backlog": 16, "unclamped": 0, "clamped": "floor", "somaxconn_needed": None}


def test_a_fraction_of_a_connection_rounds_up():
    assert _sizing.sized_backlog(33, 0.5, floor=1)["backlog"] == 17


def test_above_somaxconn_raises_it_or_is_cut_to_it():
    raised = _sizing.sized_backlog(10000, 1.0, floor=16, somaxconn=4096)
    assert raised["backlog"] == 10000 and raised["somaxconn_needed"] == 10000
    cut = _sizing.sized_backlog(10000, 1.0, floor=16, somaxconn=4096, raise_somaxconn=False)
    assert cut["backlog"] == 4096 and cut["clamped"] == "somaxconn" and cut["somaxconn_needed"] is None


def test_never_above_the_16_bit_maximum():
    sized = _sizing.sized_backlog(1e6, 60, floor=16, somaxconn=None)
    assert sized["backlog"] == 65535 and sized["clamped"] == "maximum"


@pytest.mark.parametrize(("throughput", "wait"), [(None, 1), (-1, 1), (10, -0.5)])
def test_nonsense_inputs_are_refused(throughput, wait):
    with pytest.raises(ValueError):
        _sizing.sized_backlog(throughput, wait, floor=16)


@pytest.mark.parametrize(
    ("configured", "somaxconn", "effective"),
    [(-1, 4096, 4096), (65535, 4096, 4096), (100, 4096, 100), (None, 4096, None), (511, None, 511)],
)
def test_effective_backlog(configured, somaxconn, effective):
    assert _sizing.effective_backlog(configured, somaxconn) == effective


def seed_pool(**settings):
    return {
        "name": "seed",
        "binary": "/usr/sbin/php-fpm8.2",
        "listen": "127.0.0.1:9000",
        "listen_backlog": 65535,
        "settings": dict({"pm.max_children": "8"}, **settings),
        "status": None,
    }


def seed_model():
    dump = (FIXTURES / "nginx" / "seed-dump.txt").read_text()
    return _nginx.load_config(
        {"binary": "/usr/sbin/nginx", "conf_path": "/etc/nginx/nginx.conf", "dump": {"returncode": 0, "stdout": dump}}
    )


def test_declared_peak_qps_wins_over_worker_capacity():
    workload = effective_workload(
        {"pools": {"seed": {"peak_qps": 1000, "client_timeout_s": 0.3, "service_time_s": 0.2}}}
    )
    plan = _sizing.plan_pool(seed_pool(), workload, somaxconn=4096)
    assert plan["throughput_source"] == "declared peak_qps"
    assert plan["sized"] == 100 and plan["assumed"] == ["backlog_floor", "queue_wait_s"]
    assert "1000 req/s" in plan["reason"] and "assumed: backlog_floor" in plan["reason"]


def test_without_a_declared_peak_the_workers_capacity_is_the_throughput():
    workload = effective_workload({"client_timeout_s": 1.1, "queue_wait_s": 5})
    plan = _sizing.plan_pool(seed_pool(), workload, somaxconn=4096)
    # 8 children / 0.1 s = 80 req/s, for 1.1 - 0.1 = 1 s.
    assert plan["throughput_qps"] == 80 and plan["sized"] == 80
    assert plan["assumed"] == ["service_time_s", "backlog_floor"]


def test_the_queueing_budget_caps_the_wait():
    # Only the client timeout declared, as in the incident lab: 80 req/s x min(2 - 0.1, 0.25 s) = 20.
    plan = _sizing.plan_pool(seed_pool(), effective_workload({"client_timeout_s": 2}), somaxconn=65535)
    assert plan["wait_s"] == 0.25 and plan["sized"] == 20
    assert "at most queue_wait_s 0.25s" in plan["reason"] and "queue_wait_s" in plan["assumed"]


def test_a_pool_without_max_children_or_peak_cannot_be_sized():
    pool = seed_pool()
    pool["settings"] = {}
    plan = _sizing.plan_pool(pool, effective_workload({}), somaxconn=4096)
    assert plan["sized"] is None and plan["reason"].startswith("cannot size")


def test_status_page_rate_is_reported_as_a_mean():
    pool = seed_pool()
    pool["status"] = {"accepted conn": 3000, "start since": 60}
    assert _sizing.plan_pool(pool, effective_workload({}), 4096)["observed_mean_qps"] == 50


def test_the_nginx_read_timeout_of_the_locations_passing_to_the_pool_bounds_the_wait():
    model = seed_model()
    passing = _nginx.locations_for_listen(model, "127.0.0.1:9000")
    assert passing, "the seed's fixture passes to 127.0.0.1:9000"
    # The read timeout nginx_timeouts leaves (75 % of a 0.2 s client timeout), not the seed's current
    # 100 ms: the size must not depend on whether that role ran first.
    workload = effective_workload(
        {"pools": {"seed": {"peak_qps": 1000}}, "service_time_s": 0.05, "client_timeout_s": 0.2}
    )
    plan = _sizing.plan_pool(seed_pool(), workload, 65535, model=model)
    expected_wait = 0.2 * _nginx.UPSTREAM_SHARE_OF_CLIENT_TIMEOUT - 0.05
    assert plan["wait_s"] == pytest.approx(expected_wait) and plan["sized"] == 100
    assert plan["upstream_timeouts"] and "read_timeout" in plan["upstream_timeouts"][0]
