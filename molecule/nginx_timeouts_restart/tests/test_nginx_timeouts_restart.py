"""nginx_timeouts restarts nginx only when a reload cannot apply the listen backlog."""

import json


def send_q(host, port):
    return int(host.check_output("ss -Hltn sport = :%s", str(port)).split()[2])


def test_every_listener_takes_the_sized_backlog(host):
    for port in (80, 8081, 8082):
        assert send_q(host, port) == 128


def test_restarted_because_vhost_b_backlog_value_did_not_change(host):
    before = json.loads(host.file("/var/lib/acceptq-test/before.json").content_string)
    assert host.file("/run/nginx.pid").content_string.strip() != str(before["nginx_master_pid"])
    # the value nginx would have compared on a reload is the one prepared
    assert "    listen 8082 backlog=128;" in host.file("/etc/nginx/sites-enabled/vhost-b").content_string.splitlines()
    assert "    listen 8081 backlog=128;" in host.file("/etc/nginx/sites-enabled/vhost-a").content_string.splitlines()


def test_nginx_serves_after_the_restart(host):
    assert host.run("curl -s -o /dev/null -w '%%{http_code}' -m 2 %s", "http://127.0.0.1:8082/fast.php").stdout == "200"
