"""nginx started with -c /etc/nginx/alt/nginx.conf: the role edits and validates that configuration."""

from pathlib import Path

SCENARIO = Path(__file__).resolve().parents[1]
ALT_SITE = "/etc/nginx/alt/sites/app.conf"


def test_the_master_still_runs_the_alternative_configuration(host):
    masters = host.run("pgrep -a -f '^nginx: master'").stdout
    assert "-c /etc/nginx/alt/nginx.conf" in masters


def test_the_alternative_site_was_edited(host):
    data = host.file(ALT_SITE).content
    assert b"fastcgi_read_timeout 1500ms;" in data and b"300s" not in data
    assert b"fastcgi_connect_timeout 500ms;" in data
    assert data.startswith(b"# men\xe9 caf\xe9\n")  # the Latin-1 comment kept byte for byte


def test_the_packaged_configuration_was_not_touched(host):
    assert host.run("sha256sum -c /var/lib/acceptq-test/packaged.sha256").rc == 0


def test_nginx_reloaded_the_validated_edit(host):
    before = host.file("/var/lib/acceptq-test/workers").content_string.strip()
    after = host.run("pgrep -d , -f '^nginx: worker'").stdout.strip()
    assert after and after != before
    dumped = host.run("nginx -T -c /etc/nginx/alt/nginx.conf").stdout_bytes  # bytes: the Latin-1 comment
    assert b"fastcgi_read_timeout 1500ms;" in dumped


def test_the_audit_reads_the_running_configuration(acceptq_audit):
    report = acceptq_audit(SCENARIO)
    nginx = [finding for finding in report["findings"] if finding["concern"] == "nginx"]
    assert not [finding for finding in nginx if finding["id"] in ("AQ-NGINX-001", "AQ-NGINX-010", "AQ-NGINX-012")], (
        nginx
    )
    assert not [finding for finding in nginx if finding["id"] == "AQ-NGINX-016"], nginx
    # the default site of the packaged nginx.conf is not what runs: it is not audited
    assert all("sites-enabled/default" not in finding["observed"] for finding in nginx)
