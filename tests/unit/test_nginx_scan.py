"""acceptq scan for nginx: dumps, main files read with nginx's include rules, sites files."""

import json
import os
import subprocess
import sys

from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import scan as _scan

CORPUS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "nginx-corpus")
SITE = (
    "server {\n    listen 80;\n    location ~ \\.php$ {\n        fastcgi_read_timeout 300s;\n"
    "        fastcgi_pass 127.0.0.1:9000;\n    }\n}\n"
)


def ids(findings):
    return sorted(set(finding.id for finding in findings))


def test_a_sites_file_is_scanned_inside_http(tmp_path):
    site = tmp_path / "app.conf"
    site.write_text(SITE)
    assert _scan.claims(str(site))
    findings, errors = _scan.scan([str(site)])
    assert errors == []
    assert ids(findings) == ["AQ-NGINX-001", "AQ-NGINX-008", "AQ-NGINX-012"]
    leaves_first = [finding for finding in findings if finding.id == "AQ-NGINX-001"][0]
    assert (leaves_first.evidence["file"], leaves_first.evidence["line"]) == (str(site), 4)
    assert leaves_first.host == str(site)


def test_a_main_file_reads_its_includes_from_disk_as_nginx_does(tmp_path):
    (tmp_path / "sites").mkdir()
    (tmp_path / "nginx.conf").write_text("events {}\nhttp {\n    include sites/*.conf;\n}\n")
    (tmp_path / "sites" / "app.conf").write_text(SITE)
    (tmp_path / "sites" / ".off.conf").write_text("server { location / { proxy_pass http://x:1; } }\n")
    findings, errors = _scan.scan([str(tmp_path / "nginx.conf")])
    assert errors == [] and "AQ-NGINX-001" in ids(findings)
    assert all(".off.conf" not in json.dumps(finding.evidence) for finding in findings)
    # a directory holding nginx.conf is the same configuration
    assert ids(_scan.scan([str(tmp_path)])[0]) == ids(findings)


def test_a_dump_is_scanned_from_its_first_file(tmp_path):
    dump = tmp_path / "nginx-T.txt"
    dump.write_text(
        "# configuration file /etc/nginx/nginx.conf:\nhttp {\n    include /etc/nginx/sites/*;\n}\n\n"
        "# configuration file /etc/nginx/sites/app:\n" + SITE + "\n"
    )
    findings, errors = _scan.scan([str(dump)])
    assert errors == []
    leaves_first = [finding for finding in findings if finding.id == "AQ-NGINX-001"][0]
    assert (leaves_first.evidence["file"], leaves_first.evidence["line"]) == ("/etc/nginx/sites/app", 4)


def test_a_missing_include_is_a_finding_with_file_and_line(tmp_path):
    (tmp_path / "nginx.conf").write_text("http {\n    include missing.conf;\n}\n")
    findings, errors = _scan.scan([str(tmp_path / "nginx.conf")])
    (unreadable,) = [finding for finding in findings if finding.id == "AQ-NGINX-010"]
    assert unreadable.observed.startswith("%s:2: include %s/missing.conf" % (tmp_path / "nginx.conf", tmp_path))


def test_what_is_not_nginx_is_not_claimed(tmp_path):
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02 server {")
    (tmp_path / "index.php").write_text("<?php echo 1;\n")
    assert not _scan.claims(str(tmp_path / "blob.bin"))
    assert not _scan.claims(str(tmp_path / "index.php"))
    findings, errors = _scan.scan([str(tmp_path / "blob.bin")])
    assert findings == [] and "not an nginx configuration" in errors[0]["message"]


def test_the_corpus_scans_without_errors():
    for name in ("mastodon/nginx.conf", "discourse/nginx.sample.conf", "nextcloud-docker/nginx.conf"):
        path = os.path.join(CORPUS, name)
        assert _scan.claims(path), name
        findings, errors = _scan.scan([path])
        assert findings and all(error["path"] != path for error in errors), name


def test_the_cli_gives_json_findings_with_file_and_line(tmp_path):
    site = tmp_path / "app.conf"
    site.write_text(SITE)
    completed = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "acceptq"), "scan", "--format", "json", str(site)],
        capture_output=True,
        timeout=120,
    )
    report = json.loads(completed.stdout)
    assert completed.returncode != 0  # error findings fail the default gate
    located = [finding for finding in report["findings"] if finding["id"] == "AQ-NGINX-001"]
    assert located and located[0]["evidence"]["file"] == str(site)
