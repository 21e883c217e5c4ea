"""The fleet: nginx on one host, php-fpm on another, judged together (core/fleet.py)."""

from test_backlog import evidence, listener, pool

from ansible_collections.acceptq.remediation.plugins.module_utils import registry
from ansible_collections.acceptq.remediation.plugins.module_utils.core import endpoints
from ansible_collections.acceptq.remediation.plugins.module_utils.core.fleet import Fleet, HostView
from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as nginx_model

WEB_DUMP = """# configuration file /etc/nginx/nginx.conf:
worker_processes 2;
events { worker_connections 768; }
http {
    upstream backend {
        server %(target)s max_fails=10 fail_timeout=5m;
    }
    server {
        listen 80;
        server_name b.example;
        location ~ \\.php$ {
            fastcgi_pass backend;
            fastcgi_read_timeout 60s;
        }
    }
}
"""


def web_evidence(target="10.121.96.206:9000", addresses=("10.121.96.200",)):
    document = evidence([], [listener("0.0.0.0:80", 511, owner="nginx")], somaxconn=4096)
    document["nginx"] = {
        "binary": "/usr/sbin/nginx",
        "conf_path": "/etc/nginx/nginx.conf",
        "dump": {"returncode": 0, "stdout": WEB_DUMP % {"target": target}},
        "logs": {},
    }
    document["php_fpm"] = {"binaries": [], "pools": []}
    document["addresses"] = {"hostname": "web1", "addresses": ["127.0.0.1"] + list(addresses)}
    return document


def app_evidence(addresses=("10.121.96.206",), backlog=65535):
    document = evidence([pool("www", "0.0.0.0:9000", backlog)], [listener("0.0.0.0:9000", backlog)], somaxconn=65535)
    document["addresses"] = {"hostname": "app1", "addresses": ["127.0.0.1"] + list(addresses)}
    return document


WORKLOAD = {"client_timeout_s": 2, "pools": {"www": {"peak_qps": 400}}}


def audit(*hosts):
    return registry.audit_fleet(list(hosts), {}, WORKLOAD)


def test_an_upstream_on_another_host_links_to_its_pool():
    fleet = Fleet(
        [HostView("web1", web_evidence()), HostView("app1", app_evidence())], model_loader=nginx_model.load_config
    )
    (link,) = fleet.links
    assert (link.nginx_host, link.backend_host, link.pool["name"]) == ("web1", "app1", "www")
    assert link.listener["local"] == "0.0.0.0:9000" and link.problem is None


def test_a_target_by_inventory_name_or_ansible_host_links_too():
    for target, view in (
        ("app1:9000", HostView("app1", app_evidence(addresses=()))),
        ("192.0.2.9:9000", HostView("app9", app_evidence(addresses=()), ansible_host="192.0.2.9")),
    ):
        fleet = Fleet([HostView("web1", web_evidence(target)), view], model_loader=nginx_model.load_config)
        assert fleet.links[0].backend_host == view.name, target


def test_the_pools_backlog_is_sized_on_the_read_timeout_of_the_nginx_host_that_passes_to_it():
    findings = audit(HostView("web1", web_evidence()), HostView("app1", app_evidence()))
    (deep,) = [finding for finding in findings if finding.id == "AQ-BACKLOG-001"]
    assert deep.host == "app1"
    assert "reached from web1" in deep.observed
    timeouts = deep.evidence["upstream_timeouts"]
    assert len(timeouts) == 1 and timeouts[0].startswith("web1: b.example location ~ \\.php$")
    # nginx_timeouts leaves 1.5 s there (75 % of the 2 s client timeout): the budget is the
    # queueing cap 0.25 s, so 400 req/s x 0.25 s = 100.
    assert deep.evidence["sized"] == 100
    nginx_hosts = {finding.host for finding in findings if finding.id.startswith("AQ-NGINX")}
    assert nginx_hosts == {"web1"}


def test_without_the_nginx_host_the_pool_is_sized_on_assumed_values_and_the_link_is_reported():
    alone = audit(HostView("app1", app_evidence()))
    (deep,) = [finding for finding in alone if finding.id == "AQ-BACKLOG-001"]
    assert deep.evidence["upstream_timeouts"] == []
    lost = audit(HostView("web1", web_evidence()))
    (unknown,) = [finding for finding in lost if finding.id == "AQ-HOST-004"]
    assert unknown.host == "web1" and "10.121.96.206:9000" in unknown.observed
    assert "no audited host has that address" in unknown.observed


def test_two_hosts_claiming_one_address_are_reported_and_not_guessed_between():
    twin = HostView("app2", app_evidence())
    findings = audit(HostView("web1", web_evidence()), HostView("app1", app_evidence()), twin)
    ids = [finding.id for finding in findings]
    assert "AQ-HOST-005" in ids and "AQ-HOST-004" in ids
    (claimed,) = [finding for finding in findings if finding.id == "AQ-HOST-005" and "10.121" in finding.observed]
    assert "app1 and app2" in claimed.observed


def test_an_unreachable_or_failed_host_is_a_finding_and_the_rest_is_judged():
    findings = audit(
        HostView("web1", web_evidence()),
        HostView("app1", app_evidence()),
        HostView("db1", None, "unreachable", "ssh: connect to host db1 port 22: No route to host"),
        HostView("app3", None, "failed", "/usr/bin/python3: not found"),
    )
    by_host = {}
    for finding in findings:
        by_host.setdefault(finding.host, set()).add(finding.id)
    assert by_host["db1"] == {"AQ-HOST-001"} and by_host["app3"] == {"AQ-HOST-002"}
    assert "AQ-BACKLOG-001" in by_host["app1"]


def test_a_bad_declaration_fails_that_host_only():
    bad = HostView("app1", app_evidence(), workload={"client_timeout_s": float("nan")})
    findings = audit(HostView("web1", web_evidence()), bad)
    (failed,) = [finding for finding in findings if finding.host == "app1"]
    assert failed.id == "AQ-HOST-002" and "acceptq_workload.client_timeout_s" in failed.observed
    assert any(finding.host == "web1" for finding in findings)


def test_endpoints_read_every_form_of_address():
    assert endpoints.parse("unix:/run/php/php8.2-fpm.sock:").path == "/run/php/php8.2-fpm.sock"
    assert endpoints.parse("[::1]:9000").loopback and endpoints.parse("localhost:9000").loopback
    assert endpoints.parse("9000").wildcard and endpoints.parse("9000").port == 9000
    assert endpoints.parse("App1.Example.").host == "app1.example" and endpoints.parse("app1").port == 80
    assert endpoints.parse("fe80::1").host == "fe80::1"
    assert endpoints.parse("host:http") is None
    assert endpoints.reaches(endpoints.parse("127.0.0.1:9000"), endpoints.parse("0.0.0.0:9000"))
    assert not endpoints.reaches(endpoints.parse("127.0.0.1:9001"), endpoints.parse("9000"))


def test_a_section_that_could_not_be_gathered_is_an_error_naming_the_rules_it_kept_from_judging():
    document = app_evidence()
    document["sections"] = ["host", "sockets", "kernel", "php_fpm"]
    document["sockets"] = None
    document["errors"] = [{"section": "sockets", "source": "platform", "message": "sockets evidence needs Linux"}]
    (missing,) = [finding for finding in audit(HostView("app1", document)) if finding.id == "AQ-HOST-003"]
    assert missing.severity == "error" and "AQ-KERNEL-003" in missing.observed
    document["sockets"] = {"listeners": []}  # read in part: a warning, the rest was judged
    (partial,) = [finding for finding in audit(HostView("app1", document)) if finding.id == "AQ-HOST-003"]
    assert partial.severity == "warning" and "not judged" not in partial.observed


def keepalive_web(name, target):
    document = web_evidence(target)
    dump = document["nginx"]["dump"]["stdout"]
    dump = dump.replace("    }\n    server {", "        keepalive 2;\n    }\n    server {", 1)
    dump = dump.replace("fastcgi_pass backend;", "fastcgi_pass backend;\n            fastcgi_keep_conn on;")
    document["nginx"]["dump"]["stdout"] = dump
    document["addresses"]["hostname"] = name
    document["addresses"]["addresses"] = ["127.0.0.1", "10.121.96.%d" % (200 + len(name))]
    return document


def test_keepalive_is_summed_over_every_nginx_host_passing_to_the_pool():
    app = app_evidence(backlog=50)
    app["php_fpm"]["pools"][0]["settings"]["pm.max_children"] = "7"
    one = audit(HostView("web1", keepalive_web("web1", "10.121.96.206:9000")), HostView("app1", app))
    assert "AQ-NGINX-007" not in [finding.id for finding in one]  # 2 x 2 workers = 4 < 7
    two = audit(
        HostView("web1", keepalive_web("web1", "10.121.96.206:9000")),
        HostView("web22", keepalive_web("web22", "10.121.96.206:9000")),
        HostView("app1", app),
    )
    (pinned,) = [finding for finding in two if finding.id == "AQ-NGINX-007"]
    assert "pool www on app1" in pinned.observed and "reached from web1 and web22" in pinned.observed
    assert pinned.evidence["idle_connections"] == 8 and pinned.evidence["max_children"] == 7


def test_a_host_whose_judging_runs_past_its_bounds_is_stopped_and_the_rest_is_judged(monkeypatch):
    import time

    def slow(host, evidence, policy):
        if host == "app1":
            time.sleep(5)
        return []

    def greedy(host, evidence, policy):
        if host == "app1":
            return [bytearray(400 * 1024 * 1024)]
        return []

    for check, policy, limit in (
        (slow, {"judge_time_limit_s": 0.3}, "the 0.3 s time limit"),
        (greedy, {"judge_memory_limit_mb": 100}, "the 100 MB memory limit"),
    ):
        monkeypatch.setattr(registry, "CHECKS", registry.CHECKS + (check,))
        started = time.monotonic()
        findings = registry.audit_fleet(
            [HostView("web1", web_evidence()), HostView("app1", app_evidence())], policy, WORKLOAD
        )
        assert time.monotonic() - started < 4
        (stopped,) = [finding for finding in findings if finding.host == "app1"]
        assert stopped.id == "AQ-HOST-006" and limit in stopped.observed, stopped.observed
        assert any(finding.host == "web1" and finding.id.startswith("AQ-NGINX") for finding in findings)
        monkeypatch.undo()


def test_a_host_without_any_address_is_judged_and_the_upstream_to_it_is_reported_unlinked():
    nowhere = app_evidence()
    del nowhere["addresses"]  # gathered without the section, no ansible_host: only its inventory name
    findings = audit(HostView("web1", web_evidence()), HostView("app1", nowhere))
    assert "AQ-BACKLOG-001" in [finding.id for finding in findings if finding.host == "app1"]
    (unknown,) = [finding for finding in findings if finding.id == "AQ-HOST-004"]
    assert unknown.host == "web1" and "10.121.96.206:9000" in unknown.observed


def test_a_check_that_catches_every_exception_still_stops_at_the_time_bound(monkeypatch):
    import time

    def careless(host, evidence, policy):
        if host == "app1":
            try:
                time.sleep(5)
            except Exception:  # what a parser guard does: must not swallow the alarm
                pass
        return []

    monkeypatch.setattr(registry, "CHECKS", registry.CHECKS + (careless,))
    started = time.monotonic()
    findings = registry.audit_fleet(
        [HostView("app1", app_evidence()), HostView("web1", web_evidence())], {"judge_time_limit_s": 0.3}, WORKLOAD
    )
    assert time.monotonic() - started < 4
    assert [finding.id for finding in findings if finding.host == "app1"] == ["AQ-HOST-006"]
