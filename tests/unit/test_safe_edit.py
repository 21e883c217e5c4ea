"""The safe-edit transaction on real files: whole or nothing, byte for byte, locked, journaled."""

import base64
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.acceptq.remediation.plugins.module_utils import _safe_edit

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chattr, chown, mount)")


def sha(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def box(tmp_path):
    conf = tmp_path / "etc"
    conf.mkdir()
    return {
        "conf": conf,
        "backup_dir": str(tmp_path / "backups"),
        "state_dir": str(tmp_path / "state"),
    }


def plan(path, new, old=None):
    item = {"path": str(path), "content_b64": base64.b64encode(new).decode("ascii")}
    if old is not None:
        item["sha256_before"] = sha(old)
    return item


def run(box, files, validators=(), **kwargs):
    return _safe_edit.transaction(
        files,
        validators=validators,
        backup_dir=box["backup_dir"],
        state_dir=box["state_dir"],
        label=kwargs.pop("label", "test"),
        lock_timeout=kwargs.pop("lock_timeout", 1),
        **kwargs,
    )


def snapshot(directory):
    state = {}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        st = os.lstat(path)
        with open(path, "rb") if os.path.isfile(path) else open(os.devnull, "rb") as handle:
            state[name] = (handle.read(), st.st_mode, st.st_uid, st.st_gid)
    return state


OK = {"argv": ["true"], "name": "true"}
REJECT = {"argv": ["sh", "-c", "echo 'emerg: unknown directive in /etc/x.conf:3' >&2; exit 1"], "name": "nginx -t"}


def test_a_validated_edit_keeps_owner_mode_and_leaves_a_backup(box):
    path = box["conf"] / "a.conf"
    path.write_bytes(b"a 1;\r\n")
    os.chmod(path, 0o640)
    result = run(box, [plan(path, b"a 2;\r\n", b"a 1;\r\n")], [OK])
    assert result["changed"] and path.read_bytes() == b"a 2;\r\n"
    assert oct(os.stat(path).st_mode & 0o7777) == "0o640"
    backup = result["backup"] + str(path)
    with open(backup, "rb") as handle:
        assert handle.read() == b"a 1;\r\n"
    assert _safe_edit.pending(box["state_dir"], "test") == [str(path)]
    assert _safe_edit.commit(box["state_dir"], "test")
    assert _safe_edit.pending(box["state_dir"], "test") == []


def test_unchanged_content_changes_nothing_and_runs_no_checker(box):
    path = box["conf"] / "a.conf"
    path.write_bytes(b"same\n")
    result = run(box, [plan(path, b"same\n")], [REJECT])
    assert not result["changed"] and result["validated"] == [] and result["backup"] is None


def test_a_rejecting_checker_restores_every_file_byte_for_byte(box):
    first, second = box["conf"] / "a.conf", box["conf"] / "b.conf"
    first.write_bytes(b"\xef\xbb\xbfa 1; # caf\xe9\n")
    second.write_bytes(b"b 1;\n")
    os.chmod(second, 0o600)
    before = snapshot(box["conf"])
    with pytest.raises(_safe_edit.EditError) as failure:
        run(
            box,
            [plan(first, b"a 2;\n"), plan(second, b"b 2;\n")],
            [OK, REJECT],
            failure_note="and nginx was not reloaded",
        )
    message = str(failure.value)
    assert "nginx -t rejected the configuration after the edits" in message
    assert "restored byte for byte" in message and "/etc/x.conf:3" in message
    assert "nginx was not reloaded" in message
    assert snapshot(box["conf"]) == before
    assert _safe_edit.journals(box["state_dir"]) == []


def test_a_fail_pattern_fails_a_checker_that_exits_zero(box):
    path = box["conf"] / "rotate"
    path.write_bytes(b"old\n")
    checker = {"argv": ["sh", "-c", "echo 'error: /etc/logrotate.d/x:4 unknown option'"], "fail_pattern": "^error:"}
    with pytest.raises(_safe_edit.EditError, match=r"reported: error: /etc/logrotate.d/x:4"):
        run(box, [plan(path, b"new\n")], [checker])
    assert path.read_bytes() == b"old\n"


def test_a_missing_checker_binary_is_a_failure_naming_it(box):
    path = box["conf"] / "a.conf"
    path.write_bytes(b"old\n")
    with pytest.raises(_safe_edit.EditError, match="/nonexistent/nginx could not run"):
        run(box, [plan(path, b"new\n")], [{"argv": ["/nonexistent/nginx", "-t"]}])
    assert path.read_bytes() == b"old\n"


def test_a_file_changed_since_planning_is_refused_before_any_write(box):
    first, second = box["conf"] / "a.conf", box["conf"] / "b.conf"
    first.write_bytes(b"a 1;\n")
    second.write_bytes(b"b 1; edited by someone else\n")
    with pytest.raises(_safe_edit.EditError, match="b.conf: changed since it was read for planning"):
        run(box, [plan(first, b"a 2;\n", b"a 1;\n"), plan(second, b"b 2;\n", b"b 1;\n")], [OK])
    assert first.read_bytes() == b"a 1;\n"
    assert not os.path.exists(box["backup_dir"])


def test_a_symlink_is_followed_and_stays_a_link(box):
    target = box["conf"] / "available"
    target.write_bytes(b"x 1;\n")
    link = box["conf"] / "enabled"
    link.symlink_to(target)
    run(box, [plan(link, b"x 2;\n")], [OK])
    assert os.path.islink(link) and target.read_bytes() == b"x 2;\n"


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda conf: (conf / "loop").symlink_to(conf / "loop"), "Too many levels of symbolic links"),
        (lambda conf: (conf / "loop").mkdir(), "not a regular file"),
        (lambda conf: None, "No such file or directory"),
    ],
    ids=["symlink-loop", "directory", "missing"],
)
def test_what_cannot_be_edited_is_refused_naming_the_file(box, make, expected):
    make(box["conf"])
    with pytest.raises(_safe_edit.EditError) as failure:
        run(box, [plan(box["conf"] / "loop", b"x\n")], [OK])
    assert str(box["conf"] / "loop") in str(failure.value) and expected in str(failure.value)


@ROOT_ONLY
def test_an_immutable_file_is_refused_before_any_other_file_is_written(box):
    first, second = box["conf"] / "a.conf", box["conf"] / "b.conf"
    first.write_bytes(b"a 1;\n")
    second.write_bytes(b"b 1;\n")
    if subprocess.run(["chattr", "+i", str(second)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i not supported here")
    try:
        with pytest.raises(_safe_edit.EditError, match=r"b.conf: the file is immutable \(chattr \+i\)"):
            run(box, [plan(first, b"a 2;\n"), plan(second, b"b 2;\n")], [OK])
        assert first.read_bytes() == b"a 1;\n"
    finally:
        subprocess.run(["chattr", "-i", str(second)])


@ROOT_ONLY
def test_owner_is_kept(box):
    path = box["conf"] / "pool.conf"
    path.write_bytes(b"old\n")
    os.chown(path, 33, 33)
    run(box, [plan(path, b"new\n")], [OK])
    st = os.stat(path)
    assert (st.st_uid, st.st_gid) == (33, 33)


@pytest.fixture
def small_fs(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True
        ).returncode
    ):
        pytest.skip("cannot mount a small tmpfs here")
    yield mount
    subprocess.run(["umount", str(mount)])


def test_no_space_for_backup_and_temp_file_is_refused_before_any_write(box, small_fs):
    path = small_fs / "big.conf"
    path.write_bytes(b"x" * 100_000)
    filler = small_fs / "filler"
    with open(filler, "wb") as handle:
        try:
            handle.write(b"\0" * 200_000)
        except OSError:
            pass
    box["backup_dir"] = str(small_fs / "backups")
    with pytest.raises(_safe_edit.EditError, match="not enough space on the filesystem of .*big.conf"):
        run(box, [plan(path, b"y" * 100_000)], [OK])
    assert path.read_bytes() == b"x" * 100_000


def test_a_full_disk_during_the_write_leaves_the_original_whole(box, small_fs, monkeypatch):
    path = small_fs / "a.conf"
    path.write_bytes(b"original\n")
    monkeypatch.setattr(_safe_edit, "SPACE_MARGIN", 0)  # let the preflight pass, as a racing writer would
    with open(small_fs / "filler", "wb") as handle:
        try:
            handle.write(b"\0" * 250_000)
        except OSError:
            pass
    os.unlink(small_fs / "filler")
    # fill the disk after the preflight: the write itself hits ENOSPC
    real = _safe_edit.atomic_write

    def filling(target, data, mode, uid, gid):
        if target == str(path):
            with open(small_fs / "filler", "wb") as handle:
                try:
                    handle.write(b"\0" * 300_000)
                except OSError:
                    pass
        return real(target, data, mode, uid, gid)

    monkeypatch.setattr(_safe_edit, "atomic_write", filling)
    with pytest.raises(_safe_edit.EditError, match=r"writing .*a.conf failed \(No space left on device\)"):
        run(box, [plan(path, b"n" * 100_000)], [OK])
    assert path.read_bytes() == b"original\n"
    assert [name for name in os.listdir(small_fs) if name.endswith(".tmp")] == []


HOLD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, %r)
    from ansible_collections.acceptq.remediation.plugins.module_utils import _safe_edit
    with _safe_edit.HostLock(sys.argv[1], "nginx_timeouts", 1):
        print("held", flush=True)
        time.sleep(30)
    """
)


def test_a_second_run_waits_then_refuses_naming_the_holder(box):
    path = box["conf"] / "a.conf"
    path.write_bytes(b"old\n")
    collections = os.path.join(ROOT, ".ansible", "collections")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD % collections, os.path.join(box["state_dir"], "lock")], stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout.readline().strip() == b"held"
        started = time.monotonic()
        with pytest.raises(_safe_edit.EditError) as failure:
            run(box, [plan(path, b"new\n")], [OK], lock_timeout=0.5)
        assert time.monotonic() - started >= 0.5
        assert "held by pid %d (nginx_timeouts" % holder.pid in str(failure.value)
        assert path.read_bytes() == b"old\n"
    finally:
        holder.kill()
        holder.wait()
    # a killed holder's lock is free at once
    assert run(box, [plan(path, b"new\n")], [OK])["changed"]


KILLED = textwrap.dedent(
    """
    import base64, sys
    sys.path.insert(0, %r)
    from ansible_collections.acceptq.remediation.plugins.module_utils import _safe_edit
    files = [{"path": p, "content_b64": base64.b64encode(b"edited\\n").decode()} for p in sys.argv[3:]]
    slow = {"argv": ["sh", "-c", "echo checking; sleep 30"], "name": "slow -t"}
    _safe_edit.transaction(files, [slow], backup_dir=sys.argv[1], state_dir=sys.argv[2], label="nginx_timeouts")
    """
)


def test_a_run_killed_before_its_checker_is_rolled_back_by_the_next(box):
    paths = [box["conf"] / name for name in ("a.conf", "b.conf")]
    for number, path in enumerate(paths):
        path.write_bytes(b"original %d\n" % number)
    os.chmod(paths[1], 0o604)
    before = snapshot(box["conf"])
    collections = os.path.join(ROOT, ".ansible", "collections")
    victim = subprocess.Popen(
        [sys.executable, "-c", KILLED % collections, box["backup_dir"], box["state_dir"]] + [str(p) for p in paths]
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(p.read_bytes() == b"edited\n" for p in paths):
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert all(p.read_bytes() == b"edited\n" for p in paths)  # whole files, never half
    ((journal, document),) = _safe_edit.journals(box["state_dir"])
    assert document["state"] == "writing"
    # check mode only says what it would do
    preview = run(box, [], check_mode=True)
    assert "left unvalidated edits" in preview["recovered"][0]
    assert all(p.read_bytes() == b"edited\n" for p in paths)
    result = run(box, [], [OK], label="php_fpm_backlog")
    assert "rolled back the unvalidated edits of a killed nginx_timeouts run" in result["recovered"][0]
    assert snapshot(box["conf"]) == before
    assert _safe_edit.journals(box["state_dir"]) == []


def test_check_mode_changes_nothing_and_reports_the_diff(box):
    path = box["conf"] / "a.conf"
    path.write_bytes(b"a 1;\n")
    result = run(box, [plan(path, b"a 2;\n")], [REJECT], check_mode=True)
    assert result["changed"] and result["diff"][0]["after"] == "a 2;\n"
    assert path.read_bytes() == b"a 1;\n"
    assert not os.path.exists(box["state_dir"]) and not os.path.exists(box["backup_dir"])


def test_check_mode_still_refuses_what_a_real_run_would_refuse(box):
    path = box["conf"] / "a.conf"
    path.write_bytes(b"a 1;\n")
    with pytest.raises(_safe_edit.EditError, match="changed since it was read"):
        run(box, [plan(path, b"a 2;\n", b"something else\n")], check_mode=True)


def test_restore_puts_back_a_previous_results_files(box):
    path = box["conf"] / "a.conf"
    path.write_bytes(b"a 1;\n")
    result = run(box, [plan(path, b"a 2;\n")], [OK])
    restored, failures = _safe_edit.restore([entry for entry in result["files"] if entry.get("written")])
    assert (restored, failures) == ([str(path)], [])
    assert path.read_bytes() == b"a 1;\n"


def test_a_read_only_filesystem_is_refused_before_any_write(box, small_fs):
    path = small_fs / "a.conf"
    path.write_bytes(b"old\n")
    if subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], capture_output=True).returncode:
        pytest.skip("cannot remount read-only here")
    try:
        with pytest.raises(_safe_edit.EditError, match="a.conf: its filesystem is mounted read-only"):
            run(box, [plan(path, b"new\n")], [OK])
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_fs)])
    assert path.read_bytes() == b"old\n"


def test_an_append_only_file_is_refused(box):
    path = box["conf"] / "a.conf"
    path.write_bytes(b"old\n")
    if os.geteuid() != 0 or subprocess.run(["chattr", "+a", str(path)], capture_output=True).returncode:
        pytest.skip("chattr +a not available here")
    try:
        with pytest.raises(_safe_edit.EditError, match=r"append-only \(chattr \+a\)"):
            run(box, [plan(path, b"new\n")], [OK])
    finally:
        subprocess.run(["chattr", "-a", str(path)])


def test_the_same_file_planned_twice_through_a_link_is_refused(box):
    target = box["conf"] / "a.conf"
    target.write_bytes(b"old\n")
    (box["conf"] / "link").symlink_to(target)
    with pytest.raises(_safe_edit.EditError, match="planned twice"):
        run(box, [plan(target, b"one\n"), plan(box["conf"] / "link", b"two\n")], [OK])
    assert target.read_bytes() == b"old\n"


def test_bad_base64_and_relative_paths_are_refused_naming_them(box):
    with pytest.raises(_safe_edit.EditError) as failure:
        run(box, [{"path": "relative.conf", "content": "x"}, {"path": "/etc/x.conf", "content_b64": "%%%"}], [OK])
    assert "'relative.conf': the path must be absolute" in str(failure.value)
    assert "/etc/x.conf: content_b64 is not valid base64" in str(failure.value)


def test_a_checker_that_hangs_is_stopped_and_the_files_restored(box):
    path = box["conf"] / "a.conf"
    path.write_bytes(b"old\n")
    with pytest.raises(_safe_edit.EditError, match="did not finish within 0.5 s"):
        run(box, [plan(path, b"new\n")], [{"argv": ["sleep", "5"], "name": "slow -t"}], validate_timeout=0.5)
    assert path.read_bytes() == b"old\n"


def test_a_corrupt_journal_is_reported_not_ignored(box):
    os.makedirs(box["state_dir"])
    with open(os.path.join(box["state_dir"], "journal-x.json"), "w") as handle:
        handle.write("{not json")
    with pytest.raises(_safe_edit.EditError, match="cannot read the journal .*journal-x.json"):
        run(box, [])
