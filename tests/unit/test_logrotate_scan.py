"""acceptq scan on logrotate files: what it claims, what it reports, bad input."""

from ansible_collections.acceptq.remediation.plugins.module_utils.logrotate import scan


def _tree(tmp_path):
    drop = tmp_path / "logrotate.d"
    drop.mkdir()
    (tmp_path / "logrotate.conf").write_text("weekly\nrotate 4\ninclude %s\n" % drop)
    (drop / "app").write_text(
        "/var/log/app/*.log {\n  daily\n  postrotate\n    systemctl reload php8.2-fpm\n  endscript\n}\n"
        "/var/log/x.log {\n  bogus\n"
    )
    (drop / "app.dpkg-old").write_text("garbage {\n")
    return drop


def test_claims_logrotate_files_and_directories_not_nginx(tmp_path):
    drop = _tree(tmp_path)
    assert scan.claims(str(tmp_path / "logrotate.conf")) and scan.claims(str(drop)) and scan.claims(str(tmp_path))
    assert scan.claims(str(drop / "app"))
    nginx = tmp_path / "nginx.conf"
    nginx.write_text("events {}\nhttp { server { listen 80; } }\n")
    assert not scan.claims(str(nginx))
    binary = drop / "blob"
    binary.write_bytes(b"\x00\x01/var/log {\n")
    assert not scan.claims(str(binary))


def test_scan_reports_the_reload_and_what_logrotate_d_lets_pass_with_file_and_line(tmp_path):
    drop = _tree(tmp_path)
    for path in (str(tmp_path / "logrotate.conf"), str(drop)):
        findings, errors = scan.scan([path])
        assert errors == []
        observed = sorted((finding.id, finding.observed.split(" ")[0]) for finding in findings)
        assert observed == [
            ("AQ-LOGROTATE-003", "%s/app:4" % drop),
            ("AQ-LOGROTATE-004", "%s/app:1:" % drop),
            ("AQ-LOGROTATE-011", "%s/app:7:" % drop),
            ("AQ-LOGROTATE-011", "%s/app:8:" % drop),
        ]


def test_scan_of_an_unreadable_file_is_an_error_not_a_traceback(tmp_path):
    missing = tmp_path / "logrotate.conf"
    findings, errors = scan.scan([str(missing)])
    assert findings == [] and "No such file" in errors[0]["message"]
