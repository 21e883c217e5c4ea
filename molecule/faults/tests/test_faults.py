"""Faults against real nginx + php-fpm: nothing changed unless the run succeeded, services answering, files named."""

import json

import pytest

STATE = "/var/lib/acceptq-test"
REFUSED = {
    "immutable": ["/etc/php/8.2/fpm/pool.d/seed.conf: the file is immutable (chattr +i)", "nothing was changed"],
    "disk-full": ["not enough space on the filesystem of /var/backups/acceptq", "nothing was changed"],
    "locked": [
        "the lock /var/lib/acceptq/safe_edit/lock is held by pid",
        "other-run",
        "stopped in nginx_timeouts",
        "Roles completed: kernel_queues.",
        "Files written and validated before the failure: none.",
        "Not run: php_fpm_backlog, logrotate_schedule.",
    ],
}


def read(host, name):
    return host.file("%s/%s" % (STATE, name)).content_string


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_refused_run_changes_no_file_owner_mode_and_reloads_nothing(host, case):
    assert read(host, case + "-before.txt") == read(host, case + "-after.txt")


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_refused_run_fails_naming_the_file_and_the_reason(host, case):
    text = read(host, case + ".txt")
    assert text.splitlines()[0] != "rc=0"
    assert "Traceback" not in text
    for words in REFUSED[case]:
        assert words in text, words


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_nginx_answered_after_the_refused_run(host, case):
    assert read(host, case + ".txt").splitlines()[1] == "http=200"


def test_the_killed_run_left_whole_files_backups_and_its_journal(host):
    journal = json.loads(read(host, "journal-left.json"))
    assert journal["state"] == "writing"
    for entry in journal["files"]:
        assert host.file(entry["backup"]).exists
    after = read(host, "killed-after.txt")
    assert read(host, "killed-before.txt") != after  # its edits were written, whole


def test_the_next_run_rolled_the_killed_run_back_and_finished(host):
    text = read(host, "after-kill.txt")
    assert text.splitlines()[0] == "rc=0", text[-3000:]
    assert "rolled back the unvalidated edits of a killed nginx_timeouts run" in text
    assert "killed run's edit" not in host.file("/etc/nginx/sites-available/vhost-a").content_string
    assert "fastcgi_read_timeout 1500ms" in host.file("/etc/nginx/sites-available/vhost-a").content_string
    assert not host.file("/var/lib/acceptq/safe_edit/journal-nginx_timeouts.json").exists


def test_nginx_runs_the_remediated_configuration(host):
    assert host.run("nginx -t").rc == 0
    # vhost A's 300 ms page failed on its 100 ms read timeout; the reload applied 1500ms
    result = host.run("curl -s -o /dev/null -w '%{http_code}' -m 3 http://127.0.0.1:8081/medium.php")
    assert result.stdout == "200"


def test_the_pool_edit_kept_its_trailing_comment(host):
    lines = host.file("/etc/php/8.2/fpm/pool.d/seed.conf").content_string.splitlines()
    (line,) = [line for line in lines if line.startswith("listen.backlog")]
    assert line.endswith("; PHP 5.5.6's") and "65535" not in line
