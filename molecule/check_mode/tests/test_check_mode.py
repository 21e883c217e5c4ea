"""acceptq remediate --check --diff changes nothing on whole hosts, good or bad, and says why it would fail."""

import re

import pytest

STATE = "/var/lib/acceptq-test"


def output(host, name):
    """A check run's output, without the colours Molecule's environment forces on it."""
    return re.sub(r"\x1b\[[0-9;]*m", "", host.file("%s/%s.txt" % (STATE, name)).content_string)


def test_no_file_under_etc_usr_local_var_www_changed_and_no_master_restarted(host):
    before = host.file(STATE + "/before.txt").content_string
    after = host.file(STATE + "/after.txt").content_string
    assert "nginx " in before and before == after


def test_nothing_was_backed_up_locked_or_journaled(host):
    assert not host.file("/var/backups/acceptq").exists
    assert not host.file("/var/lib/acceptq/safe_edit").exists
    assert host.run("find /etc -name '*.acceptq-*.tmp'").stdout == ""


def test_nginx_and_php_fpm_still_answer(host):
    if host.backend.get_hostname() == "acceptq-check-bad":
        pytest.skip("the bad host's pool does not start by design")
    result = host.run("curl -s -o /dev/null -w '%{http_code}' -m 2 http://127.0.0.1:8082/fast.php")
    assert result.stdout == "200"


def test_the_check_runs_show_the_diff_of_the_good_host(host):
    if host.backend.get_hostname() != "acceptq-check-good":
        pytest.skip("the good host's diff")
    text = output(host, "playbook")
    assert "+++ after: /etc/nginx/sites-enabled/vhost-a" in text  # safe_edit's diff
    assert re.search(r"^\+\s*fastcgi_read_timeout 1500ms;", text, re.M)
    assert "+++ after: /etc/php/8.2/fpm/pool.d/seed.conf" in text
    assert re.search(r"^\+listen\.backlog = \d+   ; the seed's", text, re.M)  # the comment is kept


def test_the_cli_shows_the_diff_too(host):
    if host.backend.get_hostname() != "acceptq-check-good":
        pytest.skip("the good host's diff")
    text = output(host, "cli")
    assert "+++ after: /etc/nginx/sites-enabled/vhost-a" in text or "fastcgi_read_timeout 1500ms" in text


def test_the_bad_inputs_are_refused_naming_the_variables(host):
    if host.backend.get_hostname() != "acceptq-check-bad":
        pytest.skip("the bad host's refusal")
    for name in ("cli", "playbook"):
        text = output(host, name)
        assert "rc=0" not in text.splitlines()[0], name
        assert "kernel_queues_somaxconn must be a finite number" in text, name
        assert "acceptq_workload.pools.seed.peak_qps must be a finite number" in text, name


def test_the_bad_files_fail_the_check_naming_them(host):
    if host.backend.get_hostname() != "acceptq-check-bad":
        pytest.skip("the bad host's files")
    text = output(host, "bad-files")
    assert text.splitlines()[0] != "rc=0"
    assert "nothing was changed" in text or "fails before any change" in text
    assert "/etc/nginx/sites-enabled" in text
