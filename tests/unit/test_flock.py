"""flock logging: the parser's judgement on a labelled corpus, tricky cases, the bounded walk, the runtime join."""

import fcntl
import json
import os
import subprocess
import sys
import time

import pytest
from conftest import FIXTURES

from ansible_collections.acceptq.remediation.plugins.module_utils import concerns
from ansible_collections.acceptq.remediation.plugins.module_utils.flock import analyze, collect, rules, scan
from ansible_collections.acceptq.remediation.plugins.module_utils.registry import run_checks

CORPUS = FIXTURES / "flock" / "corpus"


def _hits(text, path="app/Logger.php"):
    hits, errors = analyze.analyze(path, text.encode())
    return [(hit.kind, hit.line) for hit in hits], errors


def test_corpus_precision_and_recall():
    manifest = json.loads((CORPUS / "MANIFEST.json").read_text())
    assert len(manifest["projects"]) >= 15
    expected = {(item["file"], item["line"], item["kind"]) for item in manifest["expected"]}
    found = set()
    for path in sorted(CORPUS.rglob("*")):
        if path.is_file() and path.name != "MANIFEST.json":
            hits, _errors = analyze.analyze(str(path), path.read_bytes())
            found.update((str(path.relative_to(CORPUS)), hit.line, hit.kind) for hit in hits)
    true_positives = found & expected
    precision = len(true_positives) / len(found) if found else 0.0
    recall = len(true_positives) / len(expected)
    print(
        "flock corpus: %d expected, %d found, precision %.3f, recall %.3f"
        % (len(expected), len(found), precision, recall)
    )
    negatives = {(item["file"], item["line"]) for item in manifest["negatives"]}
    assert not {(file, line) for file, line, _kind in found} & negatives
    assert precision >= 0.95, sorted(found - expected)
    assert recall >= 0.95, sorted(expected - found)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # flags built in a variable, and a LOCK_NB retry loop
        (
            "<?php function w($m) { $mode = 'ab'; $op = LOCK_EX | LOCK_NB;\n"
            "$fp = fopen('/var/log/app/app.log', $mode);\n"
            "while (!flock($fp, $op)) { usleep(10); }\nfwrite($fp, $m); flock($fp, LOCK_UN); fclose($fp); }",
            [("lock_append", 3)],
        ),
        # the lock and the write in different methods of one class
        (
            "<?php class L { private $h;\n function open() { $this->h = fopen('/var/log/x.log', 'a+'); }\n"
            " function lock() { flock($this->h, LOCK_EX); }\n"
            " function put($m) { $this->lock(); fwrite($this->h, $m); } }",
            [("lock_append", 3)],
        ),
        # Monolog, positional 5th argument and a factory's arguments
        ("<?php\n$h = new StreamHandler('/var/log/a.log', Logger::DEBUG, true, null, true);", [("monolog_locking", 2)]),
        ("<?php\n$h = new StreamHandler('/var/log/a.log', Logger::DEBUG, true, null, false);", []),
        (
            "<?php\n$c->make(StreamHandler::class, ['stream' => '/var/log/a.log',\n 'useLocking' => true]);",
            [("monolog_locking", 3)],
        ),
        ("<?php\n$container->extension('monolog', [])->handler('main')->useLocking(true);", [("config_locking", 2)]),
        (
            "<?php\nreturn ['channels' => ['single' => ['driver' => 'single', 'locking' => env('LOG_LOCK', true)]]];",
            [("config_locking", 2)],
        ),
        # not findings: comments, strings, a method or a class named flock, read locks, rewrites
        (
            "<?php\n// flock($fp, LOCK_EX); file_put_contents($f, $l, FILE_APPEND | LOCK_EX);\n"
            "$s = 'flock($fp, LOCK_EX)';",
            [],
        ),
        ("<?php\nclass flock { function flock($a, $b) {} }\n$x = new flock(); $x->flock($fp, LOCK_EX);", []),
        ("<?php\n$fp = fopen('/tmp/c', 'r'); flock($fp, LOCK_SH); fread($fp, 10);", []),
        ("<?php\n$fp = fopen('/tmp/c', 'c+'); flock($fp, LOCK_EX); ftruncate($fp, 0); fwrite($fp, $data);", []),
        ("<?php\n$fp = fopen('/tmp/lock', 'a'); flock($fp, LOCK_EX); run(); flock($fp, LOCK_UN);", []),
        ("<?php\nfile_put_contents('/tmp/cache.php', $code, LOCK_EX);", []),
        (
            "<?php\n$flags = FILE_APPEND | LOCK_EX;\nfile_put_contents('/var/log/a.log', $line, $flags);",
            [("put_append_lock", 3)],
        ),
        ("<?php\nfile_put_contents('/var/log/a.log', $line, flags: FILE_APPEND | LOCK_EX);", [("put_append_lock", 2)]),
    ],
)
def test_tricky_cases(code, expected):
    hits, errors = _hits(code)
    assert hits == expected
    assert errors == []


def test_symfony_yaml_use_locking():
    text = (
        "monolog:\n  handlers:\n    main:\n      type: stream\n      path: '/var/log/app.log'\n"
        "      use_locking: true # herd\n    other:\n      use_locking: false\n"
    )
    hits, errors = analyze.analyze("config/packages/monolog.yaml", text.encode())
    assert [(hit.kind, hit.line, hit.target) for hit in hits] == [("config_locking", 6, "/var/log/app.log")]
    assert hits[0].edit["replace"][0][2] == "false"


def test_refusal_facts_for_the_codemod():
    code = (
        "<?php function w($m) {\n $fp = fopen('/var/log/a.log', 'a');\n flock($fp, LOCK_EX);\n"
        " if (filesize('/var/log/a.log') > 1000) { rename('/var/log/a.log', '/var/log/a.log.1'); }\n"
        " fwrite($fp, $m);\n flock($fp, LOCK_UN);\n}\n"
    )
    (hit,) = analyze.analyze("a.php", code.encode())[0]
    assert hit.guards == ["a rotation (rename) at line 4"]
    simple = (
        "<?php function w($m) {\n $fp = fopen('/var/log/a.log', 'a');\n flock($fp, LOCK_EX);\n"
        " fwrite($fp, $m);\n flock($fp, LOCK_UN);\n}\n"
    )
    (hit,) = analyze.analyze("a.php", simple.encode())[0]
    assert hit.guards == [] and len(hit.edit["remove"]) == 2 and hit.target == "/var/log/a.log"


def test_syntax_errors_and_binary_are_named_not_raised():
    hits, errors = analyze.analyze(
        "broken.php", b"<?php\nfunction ( {\nfile_put_contents($f, $l, FILE_APPEND | LOCK_EX);\n"
    )
    assert errors and errors[0].startswith("broken.php:")
    hits, errors = analyze.analyze("img.php", b"\x89PNG\r\n\x1a\n\0\0\0flock")
    assert hits == [] and errors == ["img.php: binary content, not PHP"]
    hits, errors = analyze.analyze(
        "latin1.php", "<?php // caf\xe9\nfile_put_contents('/l', $x, FILE_APPEND|LOCK_EX);".encode("latin-1")
    )
    assert [(hit.kind, hit.line) for hit in hits] == [("put_append_lock", 2)]


def _tree(tmp_path):
    app = tmp_path / "app"
    (app / "vendor" / "acme").mkdir(parents=True)
    (app / "vendor" / "acme" / "Log.php").write_text(
        "<?php file_put_contents('/var/log/a.log', $l, FILE_APPEND | LOCK_EX);\n"
    )
    (app / "plain.php").write_text("<?php echo 'hello';\n")
    (app / "bin.php").write_bytes(b"\0\0\0flock" * 10)
    (app / "bad.php").write_bytes(b"<?php\n\xff\xfe flock(\n")
    with open(app / "huge.php", "wb") as handle:  # sparse: 100 MB without the disk
        handle.truncate(100 << 20)
    os.symlink(str(app), str(app / "vendor" / "loop"))
    return app


def test_walk_bounds_and_bad_input(tmp_path):
    app = _tree(tmp_path)
    roots = [{"path": str(app), "sources": ["declared"]}, {"path": str(tmp_path / "gone"), "sources": ["declared"]}]
    section = collect.scan_roots(roots)
    shipped = sorted(os.path.basename(candidate["path"]) for candidate in section["candidates"])
    assert shipped == ["Log.php", "bad.php"]  # vendor/ walked once, through the loop never
    assert [c["utf8"] for c in section["candidates"] if c["path"].endswith("bad.php")] == [False]
    reasons = {os.path.basename(entry["path"]): entry["reason"] for entry in section["skipped"]}
    assert reasons["bin.php"] == "binary content" and "over the" in reasons["huge.php"]
    assert section["roots"][1]["error"] == "no such directory"
    findings = run_checks("web1", {"php_code": section})
    ids = sorted(finding.id for finding in findings)
    assert ids == ["AQ-FLOCK-002", "AQ-FLOCK-007"]
    (unjudged,) = [finding for finding in findings if finding.id == "AQ-FLOCK-007"]
    assert "huge.php" in unjudged.observed and "gone: no such directory" in unjudged.observed


def test_walk_stops_at_its_file_limit(tmp_path):
    for number in range(20):
        (tmp_path / ("f%02d.php" % number)).write_text("<?php flock($a, LOCK_EX);")
    section = collect.scan_roots([{"path": str(tmp_path), "sources": ["declared"]}], {"max_files": 5})
    assert section["truncated"] == "more than 5 files" and len(section["candidates"]) == 5


def test_bad_walk_limits_are_named_and_the_defaults_apply(tmp_path):
    evidence = concerns.collect(
        ["php_code"], hints={"php_code_roots": [str(tmp_path)], "php_code_limits": {"max_files": "many", "speed": 3}}
    )
    messages = [error["message"] for error in evidence["errors"] if error["section"] == "php_code"]
    assert any("max_files must be a positive number, got 'many'" in message for message in messages)
    assert any("unknown walk limit 'speed'" in message for message in messages)
    assert evidence["php_code"]["limits"]["max_files"] == collect.LIMITS["max_files"]


def test_roots_from_nginx_and_php_fpm(tmp_path):
    pool = tmp_path / "www.conf"
    pool.write_text("[www]\nchdir = /srv/api\n;chdir = /nope\n")
    dump = (
        "server {\n root /srv/shop/public;\n location ~ \\.php$ {\n"
        "  fastcgi_param SCRIPT_FILENAME /srv/legacy$fastcgi_script_name;\n }\n"
        "  fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n}\n"
    )
    evidence = {"php_fpm": {"binaries": [{"conf_files": [str(pool)]}]}, "nginx": {"dump": {"stdout": dump}}}
    roots = {root["path"]: root["sources"] for root in collect.derive_roots(evidence, ["/opt/declared"])}
    assert roots == {
        "/opt/declared": ["declared"],
        "/srv/api": ["php-fpm chdir"],
        "/srv/legacy": ["nginx SCRIPT_FILENAME"],
        "/srv/shop": ["nginx root (parent of the document root)"],
        "/srv/shop/public": ["nginx root"],
    }


def test_scan_reports_file_and_line_and_errors(tmp_path):
    app = _tree(tmp_path)
    findings, errors = scan.scan([str(app)])
    assert [(f.id, f.file, f.line) for f in findings] == [("AQ-FLOCK-002", str(app / "vendor/acme/Log.php"), 1)]
    assert findings[0].observed.startswith("vendor/acme/Log.php:1: ")
    reasons = {os.path.basename(error["path"]): error["message"] for error in errors}
    assert reasons["bin.php"] == "skipped: binary content" and reasons["huge.php"].startswith("skipped: ")
    assert scan.claims(str(app)) and not scan.claims(str(tmp_path / "nothing"))


@pytest.mark.parametrize("passed_in", [False, True])
def test_runtime_join_names_waiters_and_code(tmp_path, passed_in):
    log = tmp_path / "app.log"
    log.touch()
    code = tmp_path / "app"
    code.mkdir()
    if passed_in:
        # The logger takes the path as a parameter; the page that calls it writes the path.
        logger = "<?php\nfunction logit($path, $m) {\n    file_put_contents($path, $m, FILE_APPEND | LOCK_EX);\n}\n"
        (code / "index.php").write_text("<?php\nrequire 'Logger.php';\nlogit(\n    '%s',\n    'hello');\n" % log)
        expected = "written under LOCK_EX (path passed at index.php:4) by Logger.php:3"
    else:
        logger = "<?php\nfunction logit($m) {\n    file_put_contents('%s', $m, FILE_APPEND | LOCK_EX);\n}\n" % log
        expected = "written under LOCK_EX by Logger.php:3"
    (code / "Logger.php").write_text(logger)
    holder = open(log, "a")  # noqa: SIM115 - held across the test on purpose
    fcntl.flock(holder, fcntl.LOCK_EX)
    script = "import fcntl; f = open(%r, 'a'); fcntl.flock(f, fcntl.LOCK_EX)" % str(log)
    waiters = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(2)]
    try:
        for _ in range(50):
            evidence = concerns.collect(["locks", "php_code"], hints={"php_code_roots": [str(code)]})
            if evidence["locks"]["waiters_total"] >= 2:
                break
            time.sleep(0.1)
        findings = [f for f in run_checks("web1", evidence) if f.id == "AQ-FLOCK-006"]
        assert len(findings) == 1
        observed = findings[0].observed
        assert observed.startswith("2 python") and "worker(s) wait on %s, %s" % (log, expected) in observed, observed
    finally:
        for process in waiters:
            process.kill()
        holder.close()


def test_display_path_is_relative_to_its_root():
    assert rules.display_path("/srv/app/src/Logger.php", [{"path": "/srv"}, {"path": "/srv/app"}]) == "src/Logger.php"
    assert rules.display_path("/elsewhere/x.php", [{"path": "/srv"}]) == "/elsewhere/x.php"
    walked = [{"path": "/srv/app"}, {"path": "/srv/app/public", "walked_by": "/srv/app"}]
    assert rules.display_path("/srv/app/public/index.php", walked) == "public/index.php"


LOGGER = """<?php
class Logger
{
    public function log($message)
    {
        $fp = fopen('/var/log/app/app.log', 'ab');
        flock($fp, LOCK_EX);
        fwrite($fp, $message . "\\n");
        flock($fp, LOCK_UN);
        fclose($fp);
    }
}
"""
ROTATING = """<?php
function logit($m) {
    $fp = fopen('/var/log/app/r.log', 'a');
    flock($fp, LOCK_EX);
    if (filesize('/var/log/app/r.log') > 1048576) {
        rename('/var/log/app/r.log', '/var/log/app/r.log.1');
    }
    fwrite($fp, $m);
    flock($fp, LOCK_UN);
}
"""


def _plan_tree(tmp_path):
    app = tmp_path / "app"
    (app / "vendor" / "acme").mkdir(parents=True)
    (app / "Logger.php").write_text(LOGGER)
    (app / "put.php").write_text(
        "<?php\nfile_put_contents('/var/log/app/p.log', $l . PHP_EOL, FILE_APPEND | LOCK_EX);\n"
    )
    (app / "rotating.php").write_text(ROTATING)
    (app / "vendor" / "acme" / "Log.php").write_text("<?php\nfile_put_contents('/l', $l, FILE_APPEND | LOCK_EX);\n")
    (app / "broken.php").write_text("<?php\nfile_put_contents('/l', $l, FILE_APPEND | LOCK_EX);\nfunction ( {\n")
    (app / "monolog.yaml").write_text("monolog:\n  handlers:\n    main:\n      use_locking: true\n")
    return app


def test_codemod_plan_edits_what_is_safe_and_refuses_the_rest(tmp_path):
    from ansible_collections.acceptq.remediation.plugins.module_utils.flock import plan

    app = _plan_tree(tmp_path)
    section = collect.scan_roots([{"path": str(app), "sources": ["declared"]}])
    planned = plan.plan(section, "8.2")
    edited = {os.path.basename(item["path"]): item["content"] for item in planned["files"]}
    assert sorted(edited) == ["Logger.php", "monolog.yaml", "put.php"]
    assert "flock" not in edited["Logger.php"] and "fwrite($fp, $message" in edited["Logger.php"]
    assert edited["Logger.php"].count("\n") == LOGGER.count("\n") - 2  # the two lines go, nothing else
    assert "FILE_APPEND);" in edited["put.php"] and "LOCK_EX" not in edited["put.php"]
    assert "use_locking: false" in edited["monolog.yaml"]
    reasons = {os.path.basename(entry["file"]): entry["message"] for entry in planned["refused"]}
    assert reasons["rotating.php"].startswith("the lock also guards a rotation (rename) at line 6")
    assert reasons["Log.php"].startswith("under vendor/")
    assert reasons["broken.php"].startswith("the file does not parse cleanly")
    # Applied, a second plan has nothing left to do (idempotent), and refusals stay refusals.
    for item in planned["files"]:
        with open(item["path"], "w") as handle:
            handle.write(item["content"])
    again = plan.plan(collect.scan_roots([{"path": str(app), "sources": ["declared"]}]), "8.2")
    assert again["files"] == [] and len(again["refused"]) == len(planned["refused"])


def test_codemod_refuses_old_php_and_network_filesystems(tmp_path):
    from ansible_collections.acceptq.remediation.plugins.module_utils.flock import plan

    app = _plan_tree(tmp_path)
    section = collect.scan_roots([{"path": str(app), "sources": ["declared"]}])
    old = plan.plan(section, "7.4")
    assert sorted(os.path.basename(item["path"]) for item in old["files"]) == ["monolog.yaml"]
    assert any("PHP 7.4: before 8.0" in entry["message"] for entry in old["refused"])
    for candidate in section["candidates"]:
        candidate["fs"] = "nfs4"
    remote = plan.plan(section, "8.2")
    assert remote["files"] == [] and all(
        "on nfs4" in entry["message"] or "vendor" in entry["message"] or "parse" in entry["message"]
        for entry in remote["refused"]
    )
