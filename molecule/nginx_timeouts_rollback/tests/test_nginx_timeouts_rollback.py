"""nginx_timeouts when nginx -t rejects the edits: files restored byte for byte, nothing reloaded, nginx serving."""

import json

import pytest

STATE = "/var/lib/acceptq-test"
EDITED = {
    "vhost-a": "/etc/nginx/sites-enabled/vhost-a",
    "vhost-b": "/etc/nginx/sites-enabled/vhost-b",
    "seed-upstream.conf": "/etc/nginx/conf.d/seed-upstream.conf",
    "default": "/etc/nginx/sites-enabled/default",
}


@pytest.fixture(scope="module")
def before(host):
    return json.loads(host.file(STATE + "/before.json").content_string)


def status(host, url):
    result = host.run("curl -s -o /dev/null -w '%%{http_code}' -m 2 %s", url)
    return result.rc, result.stdout


def test_the_role_stopped_on_nginx_t(host):
    failure = host.file(STATE + "/failure.txt").content_string
    assert "nginx -t rejected the configuration after the edits" in failure
    assert "seed-missing.conf" in failure  # nginx's own message, passed on
    assert "nginx was not reloaded" in failure


def test_the_role_had_written_its_edits_and_kept_backups(host):
    backups = host.check_output("find /var/backups/acceptq/nginx -type f").split()
    assert sorted(path.rsplit("/", 1)[1] for path in backups) == sorted(EDITED)


@pytest.mark.parametrize("name", sorted(EDITED))
def test_every_edited_file_is_restored_byte_for_byte(host, name):
    assert host.run("cmp %s/%s.prepared %s", STATE, name, EDITED[name]).rc == 0


def test_enabled_sites_are_still_links(host):
    for name in ("vhost-a", "vhost-b"):
        assert host.file("/etc/nginx/sites-enabled/" + name).linked_to == "/etc/nginx/sites-available/" + name


def test_nothing_was_reloaded(host, before):
    assert host.file("/run/nginx.pid").content_string.strip() == str(before["nginx_master_pid"])
    assert host.check_output("pgrep -d, -f '^nginx: worker'") == str(before["nginx_worker_pids"])


def test_nginx_keeps_serving_the_old_configuration(host):
    assert status(host, "http://127.0.0.1:8081/fast.php") == (0, "200")
    assert status(host, "http://127.0.0.1:8082/fast.php") == (0, "200")
    # vhost A still runs on its 100 ms read timeout: the edits never reached nginx
    assert status(host, "http://127.0.0.1:8081/medium.php") == (0, "504")


def test_the_broken_include_is_reported_not_repaired(host):
    assert host.run("nginx -t").rc != 0
    assert "seed-missing.conf" in host.file("/etc/nginx/snippets/seed-extra.conf").content_string
