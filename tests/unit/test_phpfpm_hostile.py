"""php-fpm pool files read as php-fpm reads them, and edited keeping their bytes (issue #18's corpus).

Each case: no exception, every error names the file and line, and what php-fpm
accepts (checked against php-fpm8.2 -tt on Debian 12) is not refused.
"""

import base64
import hashlib
import json
import time

import pytest

from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import collect as _phpfpm
from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import plan as _backlog_plan
from ansible_collections.acceptq.remediation.plugins.plugin_utils import _planning

POOL = b"[app]\nuser = www-data\nlisten = 127.0.0.1:9001\npm = static\npm.max_children = 4\n"


def main_including(tmp_path, pattern):
    main = tmp_path / "php-fpm.conf"
    main.write_bytes(b"[global]\nerror_log = /var/log/x.log\ninclude = " + pattern.encode() + b"\n")
    return main


def locate(tmp_path, files, prefix=None):
    """Write files under tmp_path/pool.d and locate the pools through an include glob."""
    (tmp_path / "pool.d").mkdir(exist_ok=True)
    for name, data in files.items():
        (tmp_path / "pool.d" / name).write_bytes(data)
    main = main_including(tmp_path, str(tmp_path / "pool.d" / "*.conf"))
    return _phpfpm.locate_pools(str(main), prefix=prefix)


def assert_located_errors(located):
    for error in located["errors"]:
        assert error["file"] and error["line"], error


def edit_backlog(tmp_path, name, data, sized, pool="app"):
    """The bytes render_files writes for pool's backlog in pool.d/name."""
    located = locate(tmp_path, {name: data})
    definition = _phpfpm.definition_record(located, pool)
    assert definition["complete"], definition["errors"]
    record = {"name": pool, "definition": definition}
    path, line, kind, old, new = _backlog_plan._edit_for(record, sized)
    edits = {path: [{"pool": pool, "line": line, "kind": kind, "old": old, "new": new, "reason": "test"}]}
    texts = {path: _phpfpm.decode((tmp_path / "pool.d" / name).read_bytes())}
    files, refused = _backlog_plan.render_files(edits, texts)
    assert refused == []
    return files[0]["content"].encode("utf-8", "surrogateescape")


# -- what php-fpm accepts is read --------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf" + POOL,
        b"\xef\xbb\xbf; a comment first\n" + POOL,
        b"; caf\xe9 cr\xe8me (Latin-1)\n" + POOL,
        POOL.replace(b"\n", b"\r\n"),
        POOL.replace(b"\n", b"\r"),
        POOL + b"listen.backlog = 77 ; trailing caf\xe9\n",
        POOL + b'listen.backlog = "78" ; quoted\n',
        b"[app] ; the app's pool\n" + POOL.split(b"\n", 1)[1],
        POOL + b"; form\x0cfeed and \xe2\x80\xa8 line separator and \xc2\x85 NEL in a comment\n",
        POOL + b"   \t\n\n",
        POOL + b"php_admin_value[error_log] = /var/log/$pool.log\n",
        POOL + b"env[PATH] = /usr/bin:/bin\n",
    ],
    ids=[
        "bom",
        "bom-comment",
        "latin1-comment",
        "crlf",
        "cr-only",
        "trailing-comment",
        "quoted-value",
        "header-comment",
        "odd-line-breaks-in-comment",
        "blank-lines",
        "pool-variable",
        "array-key",
    ],
)
def test_what_php_fpm_accepts_is_located_complete(tmp_path, data):
    located = locate(tmp_path, {"app.conf": data})
    assert located["errors"] == []
    definition = _phpfpm.definition_record(located, "app")
    assert definition["complete"] and definition["line"] in (1, 2)
    assert definition["sections"][0]["listen"]["value"] == "127.0.0.1:9001"


def test_line_numbers_count_only_php_fpms_newlines(tmp_path):
    data = b"; a\x0cb \xe2\x80\xa8 c\n" + POOL + b"listen.backlog = 5\n"
    located = locate(tmp_path, {"app.conf": data})
    assert located["pools"]["app"]["backlog"]["line"] == 7


def test_trailing_comment_value_is_the_number(tmp_path):
    located = locate(tmp_path, {"app.conf": POOL + b"listen.backlog = 77   ; caf\xe9\n"})
    assert located["pools"]["app"]["backlog"]["value"] == "77"
    assert located["pools"]["app"]["backlog"]["text"] == "listen.backlog = 77   ; caf\ufffd"  # JSON-safe


# -- edits keep the bytes -----------------------------------------------------


def test_editing_keeps_the_trailing_comment_and_its_latin1_bytes(tmp_path):
    data = b"; caf\xe9\n" + POOL + b"listen.backlog = 65535   ; PHP 5.5.6's caf\xe9\n"
    written = edit_backlog(tmp_path, "app.conf", data, 380)
    assert written == data.replace(b"= 65535   ;", b"= 380   ;")


def test_editing_a_quoted_value_keeps_its_comment(tmp_path):
    data = POOL + b'listen.backlog = "65535" ; deep\n'
    assert edit_backlog(tmp_path, "app.conf", data, 200) == POOL + b"listen.backlog = 200 ; deep\n"


def test_editing_keeps_crlf_on_every_line_and_on_the_inserted_one(tmp_path):
    data = POOL.replace(b"\n", b"\r\n")
    written = edit_backlog(tmp_path, "app.conf", data, 100)
    assert written == data.replace(b"9001\r\n", b"9001\r\nlisten.backlog = 100\r\n")


def test_editing_a_cr_only_file_keeps_cr(tmp_path):
    data = POOL.replace(b"\n", b"\r")
    written = edit_backlog(tmp_path, "app.conf", data, 100)
    assert written == data.replace(b"9001\r", b"9001\rlisten.backlog = 100\r")


def test_editing_keeps_the_bom(tmp_path):
    data = b"\xef\xbb\xbf[app]\nuser = www-data\n"
    written = edit_backlog(tmp_path, "app.conf", data, 100)
    assert written == b"\xef\xbb\xbf[app]\nlisten.backlog = 100\nuser = www-data\n"


def test_editing_a_file_without_final_newline(tmp_path):
    data = POOL + b"listen.backlog = 9"
    assert edit_backlog(tmp_path, "app.conf", data, 10) == POOL + b"listen.backlog = 10"


def test_editing_keeps_form_feeds_and_u2028_in_comments(tmp_path):
    data = b"; page\x0cbreak \xe2\x80\xa8 here\n" + POOL + b"listen.backlog = 1\n"
    assert edit_backlog(tmp_path, "app.conf", data, 2) == data.replace(b"= 1\n", b"= 2\n")


def test_a_pool_split_across_files_is_edited_where_its_backlog_is_set_last(tmp_path):
    located = locate(tmp_path, {"a.conf": POOL, "b.conf": b"[app]\nlisten.backlog = 50\n"})
    definition = located["pools"]["app"]
    assert [section["file"] for section in definition["sections"]] == [
        str(tmp_path / "pool.d/a.conf"),
        str(tmp_path / "pool.d/b.conf"),
    ]
    assert definition["backlog"]["file"] == str(tmp_path / "pool.d/b.conf") and definition["backlog"]["line"] == 2


def test_a_duplicate_key_edits_the_last_line(tmp_path):
    located = locate(tmp_path, {"app.conf": POOL + b"listen.backlog = 1\nlisten.backlog = 2\n"})
    assert located["pools"]["app"]["backlog"]["line"] == 7


# -- includes as php-fpm resolves them ---------------------------------------


def test_a_relative_include_is_resolved_against_php_fpms_prefix(tmp_path):
    (tmp_path / "etc/fpm.d").mkdir(parents=True)
    (tmp_path / "etc/fpm.d/app.conf").write_bytes(POOL)
    main = main_including(tmp_path, "etc/fpm.d/*.conf")
    located = _phpfpm.locate_pools(str(main), prefix=str(tmp_path))
    assert located["errors"] == [] and "app" in located["pools"]


def test_the_prefix_comes_from_the_binarys_install_directory():
    assert _phpfpm.binary_prefix("/usr/sbin/php-fpm8.2") == "/usr"
    assert _phpfpm.binary_prefix("/usr/local/sbin/php-fpm") == "/usr/local"


def test_a_relative_include_without_a_known_prefix_is_an_error_naming_the_line(tmp_path):
    main = main_including(tmp_path, "pool.d/*.conf")
    (error,) = _phpfpm.locate_pools(str(main))["errors"]
    assert (error["file"], error["line"]) == (str(main), 3) and "relative include" in error["message"]


def test_an_include_into_a_missing_directory_is_an_error_as_php_fpm_fails(tmp_path):
    main = main_including(tmp_path, "/nonexistent/acceptq/*.conf")
    (error,) = _phpfpm.locate_pools(str(main))["errors"]
    assert (error["file"], error["line"]) == (str(main), 3) and "does not exist, so php-fpm fails" in error["message"]


def test_an_include_matching_nothing_in_an_existing_directory_is_fine(tmp_path):
    (tmp_path / "empty").mkdir()
    main = main_including(tmp_path, str(tmp_path / "empty" / "*.conf"))
    assert _phpfpm.locate_pools(str(main))["errors"] == []


def test_an_include_loop_with_fan_out_stops_at_once(tmp_path):
    first, second = tmp_path / "a.conf", tmp_path / "b.conf"
    first.write_text("include = %s\ninclude = %s\n" % (second, second))
    second.write_text("include = %s\ninclude = %s\n" % (first, first))
    started = time.monotonic()
    located = _phpfpm.locate_pools(str(first))
    assert time.monotonic() - started < 1
    assert any("include loop" in error["message"] for error in located["errors"])
    assert len(located["files"]) <= 3
    assert_located_errors(located)


def test_a_deep_include_chain_stops_at_the_depth_bound(tmp_path):
    for number in range(20):
        (tmp_path / ("%02d.conf" % number)).write_text("include = %s\n" % (tmp_path / ("%02d.conf" % (number + 1))))
    located = _phpfpm.locate_pools(str(tmp_path / "00.conf"))
    assert any("deeper than %d" % _phpfpm.MAX_INCLUDE_DEPTH in error["message"] for error in located["errors"])
    assert_located_errors(located)


def test_too_many_included_files_are_counted_and_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(_phpfpm, "MAX_FILES", 5)
    located = locate(tmp_path, dict(("%02d.conf" % number, b"; empty\n") for number in range(10)))
    assert len(located["files"]) == 5
    assert any("more than 5 files included" in error["message"] for error in located["errors"])
    assert_located_errors(located)


def test_too_many_bytes_are_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(_phpfpm, "MAX_BYTES", 1000)
    located = locate(tmp_path, {"big.conf": b"; x\n" * 400})
    assert any("more than 1000 bytes" in error["message"] for error in located["errors"])


def test_a_symlinked_pool_file_is_read(tmp_path):
    (tmp_path / "real.conf").write_bytes(POOL)
    (tmp_path / "pool.d").mkdir()
    (tmp_path / "pool.d" / "app.conf").symlink_to(tmp_path / "real.conf")
    located = locate(tmp_path, {})
    assert "app" in located["pools"] and located["errors"] == []


def test_an_unreadable_included_file_names_the_include_line(tmp_path):
    def read(path):
        if path.endswith("secret.conf"):
            raise PermissionError(13, "Permission denied")
        return _phpfpm._read_conf(path)

    (tmp_path / "pool.d").mkdir()
    (tmp_path / "pool.d" / "secret.conf").write_bytes(POOL)
    main = main_including(tmp_path, str(tmp_path / "pool.d" / "*.conf"))
    (error,) = _phpfpm.locate_pools(str(main), read=read)["errors"]
    assert (error["file"], error["line"]) == (str(main), 3) and "Permission denied" in error["message"]


# -- what php-fpm refuses is an error naming file and line --------------------


@pytest.mark.parametrize(
    "tail, message",
    [
        (b"# a shell comment\n", "'#' comment, which php-fpm rejects"),
        (b'listen.backlog = "128\n', "unterminated quote"),
        (b"pm.max_children 5\n", "not a [pool] header"),
        (b"\x00\x01\x02\xff\xfe garbage\n", "not a [pool] header"),
        (b"= 5\n", "not a [pool] header"),
        (b"\x89PNG\r\n\x1a\n", "not a [pool] header"),
    ],
    ids=["hash-comment", "open-quote", "no-equals", "binary", "no-key", "png"],
)
def test_what_php_fpm_refuses_is_an_error_with_file_and_line(tmp_path, tail, message):
    located = locate(tmp_path, {"app.conf": POOL + tail})
    assert located["errors"], "nothing reported"
    (error,) = [error for error in located["errors"] if message in error["message"]][:1]
    assert error["file"] == str(tmp_path / "pool.d" / "app.conf") and error["line"] == 6
    assert _phpfpm.definition_record(located, "app")["complete"] is False
    json.dumps(located)  # the evidence travels as JSON: no lone surrogates in it


def test_a_non_numeric_backlog_is_refused_by_the_plan_naming_file_and_line(tmp_path):
    located = locate(tmp_path, {"app.conf": POOL + b"listen.backlog = abc\n"})
    record = {"name": "app", "definition": _phpfpm.definition_record(located, "app")}
    reason = _backlog_plan._refusal(record, {"sized": 100, "reason": ""})
    assert "listen.backlog = abc at %s:6 is not a number" % (tmp_path / "pool.d" / "app.conf") in reason


def test_an_empty_main_file_and_a_missing_one(tmp_path):
    (tmp_path / "empty.conf").write_bytes(b"")
    assert _phpfpm.locate_pools(str(tmp_path / "empty.conf"))["pools"] == {}
    (error,) = _phpfpm.locate_pools(str(tmp_path / "absent.conf"))["errors"]
    assert error["file"] == str(tmp_path / "absent.conf") and "No such file" in error["message"]


def test_the_plan_refuses_a_line_changed_since_it_was_read_even_with_latin1_bytes(tmp_path):
    data = POOL + b"listen.backlog = 65535 ; caf\xe9\n"
    located = locate(tmp_path, {"app.conf": data})
    record = {"name": "app", "definition": _phpfpm.definition_record(located, "app")}
    path, line, kind, old, new = _backlog_plan._edit_for(record, 10)
    edits = {path: [{"pool": "app", "line": line, "kind": kind, "old": old, "new": new, "reason": "t"}]}
    same = {path: _phpfpm.decode(data)}
    assert _backlog_plan.render_files(edits, same)[1] == []
    changed = {path: _phpfpm.decode(data.replace(b"65535", b"511"))}
    files, refused = _backlog_plan.render_files(edits, changed)
    assert files == [] and refused[0]["line"] == 6 and "changed since it was read" in refused[0]["message"]


def test_the_planned_write_carries_the_exact_bytes_and_the_digest_they_were_planned_from():
    raw = b"\xef\xbb\xbf; caf\xe9\r\n[app]\r\nlisten.backlog = 1 ; x\xe9\r\n"
    text = _phpfpm.decode(raw)
    (write,) = _planning.writes(
        [{"path": "/etc/p.conf", "content": text.replace("= 1 ", "= 2 ")}], {"/etc/p.conf": raw}
    )
    assert base64.b64decode(write["content_b64"]) == raw.replace(b"= 1 ", b"= 2 ")
    assert write["sha256_before"] == hashlib.sha256(raw).hexdigest()
