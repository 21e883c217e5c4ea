# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The safe-edit transaction (host side, standard library only).

lock -> roll back what a killed run left -> preflight every file -> back up ->
journal -> atomic writes -> the daemon's checkers -> keep, or restore byte
for byte. The journal is what lets a run killed between its writes and its
checkers be undone by the next one: nothing it wrote was ever validated.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import hashlib
import json
import os
import re
import stat
import subprocess
import time

FS_IOC_GETFLAGS = 0x80086601
FS_IMMUTABLE_FL = 0x00000010
FS_APPEND_FL = 0x00000020
# Room kept free beyond the bytes themselves: a block per file and the journal.
SPACE_MARGIN = 64 * 1024


class EditError(Exception):
    """A failure whose message names the file (or lock, or checker) and the reason."""


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _reason(exc):
    return exc.strerror or str(exc)


def attribute_flags(path):
    """The inode's chattr flags, or None where the filesystem does not say."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        buf = bytearray(8)
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, buf, True)
        return int.from_bytes(bytes(buf[:4]), "little")
    except (OSError, IOError):
        return None
    finally:
        os.close(fd)


def atomic_write(target, data, mode, uid, gid):
    """Write data to target through a temporary file in its directory: target is whole before or after."""
    directory = os.path.dirname(target)
    temp = os.path.join(directory, ".%s.acceptq-%d.tmp" % (os.path.basename(target), os.getpid()))
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if os.geteuid() == 0:
                os.fchown(fd, uid, gid)
            os.fchmod(fd, stat.S_IMODE(mode))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def _write_json(path, document):
    data = json.dumps(document, indent=1, sort_keys=True).encode("utf-8")
    atomic_write(path, data, 0o600, os.geteuid(), os.getegid())


class HostLock(object):
    """An flock on one file per host; the kernel drops it when the holder dies, even by SIGKILL."""

    def __init__(self, path, label, timeout):
        self.path, self.label, self.timeout = path, label, timeout
        self.fd = None

    def holder(self):
        try:
            text = _read(self.path).decode("utf-8", "replace").strip()
            info = json.loads(text)
            return "pid %s (%s, since %s)" % (info.get("pid"), info.get("label"), info.get("since"))
        except (OSError, ValueError, AttributeError):
            return "an unknown holder"

    def __enter__(self):
        directory = os.path.dirname(self.path)
        try:
            os.makedirs(directory, 0o700, exist_ok=True)
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise EditError("cannot open the host lock %s: %s" % (self.path, _reason(exc))) from None
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise EditError("cannot take the host lock %s: %s" % (self.path, _reason(exc))) from None
                if time.monotonic() >= deadline:
                    holder = self.holder()
                    os.close(self.fd)
                    self.fd = None
                    raise EditError(
                        "another acceptq run is editing this host: the lock %s is held by %s; waited %g s, "
                        "changed nothing. Run again once it has finished." % (self.path, holder, self.timeout)
                    ) from None
                time.sleep(0.2)
        info = {"pid": os.getpid(), "label": self.label, "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, json.dumps(info).encode("utf-8") + b"\n", 0)
        return self

    def __exit__(self, *exc_info):
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)
            except OSError:
                pass
            os.close(self.fd)  # closing drops the flock
            self.fd = None
        return False


def _journal_path(state_dir, label):
    return os.path.join(state_dir, "journal-%s.json" % re.sub(r"[^A-Za-z0-9_.-]", "_", label))


def journals(state_dir):
    """[(path, document)] of every journal left in state_dir; unreadable ones as EditError."""
    found = []
    try:
        names = sorted(os.listdir(state_dir))
    except OSError:
        return found
    for name in names:
        if not (name.startswith("journal-") and name.endswith(".json")):
            continue
        path = os.path.join(state_dir, name)
        try:
            found.append((path, json.loads(_read(path).decode("utf-8"))))
        except (OSError, ValueError) as exc:
            raise EditError("cannot read the journal %s a previous run left: %s" % (path, exc)) from None
    return found


def _restore_one(entry):
    """Put the backup's bytes, owner and mode back on the entry's target; returns what was done."""
    target = entry["target"]
    try:
        saved = _read(entry["backup"])
    except OSError as exc:
        raise EditError(
            "cannot restore %s: its backup %s cannot be read: %s" % (target, entry["backup"], _reason(exc))
        ) from None
    if sha256_bytes(saved) != entry["sha256_before"]:
        raise EditError("cannot restore %s: its backup %s does not hold the original bytes" % (target, entry["backup"]))
    try:
        current = _read(target)
    except OSError:
        current = None
    if current is not None and current == saved:
        return "unchanged"
    try:
        atomic_write(target, saved, entry["mode"], entry["uid"], entry["gid"])
    except OSError as exc:
        raise EditError("cannot restore %s from %s: %s" % (target, entry["backup"], _reason(exc))) from None
    return "restored"


def restore(entries):
    """Restore every entry; (restored paths, [EditError messages]) - one failure does not stop the others."""
    restored, failures = [], []
    for entry in entries:
        try:
            if _restore_one(entry) == "restored":
                restored.append(entry["target"])
        except EditError as exc:
            failures.append(str(exc))
    return restored, failures


def recover(state_dir, check_mode=False):
    """Roll back every edit a killed run wrote but never validated; returns [messages]."""
    messages = []
    for path, journal in journals(state_dir):
        if journal.get("state") != "writing":
            continue
        entries = journal.get("files") or []
        if check_mode:
            messages.append(
                "a killed %s run (pid %s, %s) left unvalidated edits in %s; a real run restores them from their backups"
                % (
                    journal.get("label"),
                    journal.get("pid"),
                    journal.get("started"),
                    ", ".join(e["target"] for e in entries),
                )
            )
            continue
        restored, failures = restore(entries)
        if failures:
            raise EditError(
                "a killed %s run left unvalidated edits and they could not all be rolled back: %s"
                % (journal.get("label"), "; ".join(failures))
            )
        messages.append(
            "rolled back the unvalidated edits of a killed %s run (pid %s, %s): %s"
            % (
                journal.get("label"),
                journal.get("pid"),
                journal.get("started"),
                ", ".join(restored) or "no file had been written yet",
            )
        )
        os.unlink(path)
    return messages


def _new_bytes(item):
    if item.get("content_b64") is not None:
        import base64

        try:
            return base64.b64decode(item["content_b64"], validate=True)
        except ValueError as exc:
            raise EditError("%s: content_b64 is not valid base64: %s" % (item.get("path"), exc)) from None
    if item.get("content") is not None:
        return item["content"].encode("utf-8")
    raise EditError("%s: neither content nor content_b64 given" % item.get("path"))


def _space(path):
    found = os.statvfs(path)
    return found.f_bavail * found.f_frsize, found.f_favail if found.f_files else None, bool(found.f_flag & os.ST_RDONLY)


def _nearest_existing(path):
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def preflight(files, backup_dir):
    """Check every planned write before the first one.

    Returns the planned entries, or raises EditError listing every problem found."""
    planned, problems = [], []
    needs = {}  # st_dev -> [bytes, inodes, a path on it]
    seen = set()
    for item in files:
        path = item.get("path")
        if not path or not os.path.isabs(path):
            problems.append("%r: the path must be absolute" % (path,))
            continue
        try:
            new = _new_bytes(item)
            target = os.path.realpath(path)
            st = os.stat(path)  # follows links; ELOOP for a link loop
        except EditError as exc:
            problems.append(str(exc))
            continue
        except OSError as exc:
            problems.append("%s: cannot be edited: %s" % (path, _reason(exc)))
            continue
        if target in seen:
            problems.append("%s: planned twice (through %s)" % (target, path))
            continue
        seen.add(target)
        if not stat.S_ISREG(st.st_mode):
            problems.append("%s: not a regular file" % path)
            continue
        try:
            old = _read(target)
        except OSError as exc:
            problems.append("%s: cannot be read: %s" % (path, _reason(exc)))
            continue
        where = path if target == path else "%s (-> %s)" % (path, target)
        expected = item.get("sha256_before")
        if expected and sha256_bytes(old) != expected:
            problems.append("%s: changed since it was read for planning (another run or a deploy?); plan again" % where)
            continue
        entry = {
            "path": path,
            "target": target,
            "mode": st.st_mode,
            "uid": st.st_uid,
            "gid": st.st_gid,
            "sha256_before": sha256_bytes(old),
            "sha256_after": sha256_bytes(new),
            "size_before": len(old),
            "old": old,
            "new": new,
            "changed": old != new,
        }
        planned.append(entry)
        if not entry["changed"]:
            continue
        directory = os.path.dirname(target)
        for place, what in ((target, "the file"), (directory, "its directory")):
            flags = attribute_flags(place)
            if flags is not None and flags & FS_IMMUTABLE_FL:
                problems.append(
                    "%s: %s is immutable (chattr +i); remove the flag to let acceptq edit it" % (where, what)
                )
            elif flags is not None and flags & FS_APPEND_FL:
                problems.append("%s: %s is append-only (chattr +a)" % (where, what))
        try:
            free, inodes, readonly = _space(directory)
        except OSError as exc:
            problems.append("%s: cannot inspect its filesystem: %s" % (where, _reason(exc)))
            continue
        if readonly:
            problems.append("%s: its filesystem is mounted read-only" % where)
        elif os.geteuid() != 0 and not os.access(directory, os.W_OK):
            problems.append("%s: its directory %s is not writable by uid %d" % (where, directory, os.geteuid()))
        if os.geteuid() != 0 and (st.st_uid != os.geteuid()):
            problems.append("%s: owned by uid %d, which a non-root run cannot keep" % (where, st.st_uid))
        need = needs.setdefault(st.st_dev, [0, 0, directory, []])
        need[0] += len(new) + SPACE_MARGIN
        need[1] += 1
        need[3].append(target)
    changed = [entry for entry in planned if entry["changed"]]
    if changed:
        base = _nearest_existing(backup_dir)
        try:
            free, inodes, readonly = _space(base)
            dev = os.stat(base).st_dev
        except OSError as exc:
            problems.append("backup directory %s: %s" % (backup_dir, _reason(exc)))
        else:
            if readonly:
                problems.append("backup directory %s: its filesystem is mounted read-only" % backup_dir)
            need = needs.setdefault(dev, [0, 0, base, []])
            need[0] += sum(entry["size_before"] for entry in changed) + SPACE_MARGIN
            need[1] += len(changed) + 1
            need[3].append("the backups in %s" % backup_dir)
        for size, count, place, users in needs.values():
            try:
                free, inodes, readonly = _space(place)
            except OSError:
                continue
            if free < size:
                problems.append(
                    "not enough space on the filesystem of %s for the backup and temporary files of %s: "
                    "%d bytes free, %d needed" % (place, ", ".join(users), free, size)
                )
            if inodes is not None and inodes < count:
                problems.append("no free inodes on the filesystem of %s (%d free, %d needed)" % (place, inodes, count))
    if problems:
        raise EditError("; ".join(problems))
    return planned


def unified_diff(entry):
    """Ansible's diff dict for one entry (bytes shown as UTF-8, others replaced)."""
    return {
        "before_header": entry["path"],
        "after_header": entry["path"],
        "before": entry["old"].decode("utf-8", "replace"),
        "after": entry["new"].decode("utf-8", "replace"),
    }


def run_validator(validator, timeout):
    """None when the checker accepts, else its failure text (exit status, output, or the matched line)."""
    argv = [str(arg) for arg in validator["argv"]]
    name = validator.get("name") or " ".join(argv)
    try:
        done = subprocess.run(
            argv, check=False, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout
        )
    except OSError as exc:
        return name, "%s could not run: %s" % (argv[0], _reason(exc))
    except subprocess.TimeoutExpired:
        return name, "%s did not finish within %g s" % (name, timeout)
    output = (done.stderr + done.stdout).decode("utf-8", "replace").strip()
    if done.returncode != 0:
        return name, "%s exited %d: %s" % (name, done.returncode, output or "(no output)")
    pattern = validator.get("fail_pattern")
    if pattern:
        found = re.search(pattern, output, re.M)
        if found:
            line = output[output.rfind("\n", 0, found.start()) + 1 :].split("\n", 1)[0]
            return name, "%s reported: %s" % (name, line.strip())
    return name, None


def _public(entry):
    return dict((key, value) for key, value in entry.items() if key not in ("old", "new"))


def backup_run_dir(backup_dir):
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    candidate, count = os.path.join(backup_dir, stamp), 1
    while os.path.exists(candidate):
        count += 1
        candidate = os.path.join(backup_dir, "%s-%d" % (stamp, count))
    return candidate


def _backup(entry, run_dir):
    dest = run_dir + entry["target"]
    os.makedirs(os.path.dirname(dest), 0o700, exist_ok=True)
    atomic_write(dest, entry["old"], entry["mode"], entry["uid"], entry["gid"])
    return dest


def transaction(
    files,
    validators=(),
    backup_dir="/var/backups/acceptq",
    state_dir="/var/lib/acceptq/safe_edit",
    label="acceptq",
    lock_timeout=10.0,
    validate_timeout=120.0,
    check_mode=False,
    failure_note="",
):
    """Apply files whole or not at all. Returns a result dict; raises EditError with what was and was not done."""
    note = (" " + failure_note) if failure_note else ""
    result = {"changed": False, "files": [], "recovered": [], "backup": None, "validated": []}
    if check_mode:
        result["recovered"] = recover(state_dir, check_mode=True)
        planned = preflight(files, backup_dir)
        result["files"] = [_public(entry) for entry in planned]
        result["changed"] = any(entry["changed"] for entry in planned)
        result["diff"] = [unified_diff(entry) for entry in planned if entry["changed"]]
        return result
    with HostLock(os.path.join(state_dir, "lock"), label, lock_timeout):
        result["recovered"] = recover(state_dir)
        planned = preflight(files, backup_dir)
        changed = [entry for entry in planned if entry["changed"]]
        result["files"] = [_public(entry) for entry in planned]
        result["diff"] = [unified_diff(entry) for entry in changed]
        if not changed:
            return result
        run_dir = backup_run_dir(backup_dir)
        try:
            for entry in changed:
                entry["backup"] = _backup(entry, run_dir)
        except OSError as exc:
            raise EditError(
                "no file was changed: the backup of %s failed: %s%s" % (entry["target"], _reason(exc), note)
            ) from None
        result["backup"] = run_dir
        journal = _journal_path(state_dir, label)
        document = {
            "label": label,
            "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "state": "writing",
            "files": [_public(entry) for entry in changed],
        }
        try:
            _write_json(journal, document)
        except OSError as exc:
            raise EditError(
                "no file was changed: the journal %s could not be written: %s%s" % (journal, _reason(exc), note)
            ) from None
        written = []
        failure = None
        for entry in changed:
            try:
                atomic_write(entry["target"], entry["new"], entry["mode"], entry["uid"], entry["gid"])
                written.append(entry)
            except OSError as exc:
                failure = "writing %s failed (%s), so" % (entry["target"], _reason(exc))
                break
        if failure is None:
            for validator in validators:
                name, problem = run_validator(validator, validate_timeout)
                result["validated"].append({"name": name, "ok": problem is None})
                if problem:
                    failure = "%s rejected the configuration after the edits, so" % name
                    result["validator_output"] = problem
                    break
        if failure is None:
            document["state"] = "validated"
            _write_json(journal, document)
            for entry in written:
                entry["written"] = True
            result["files"] = [_public(entry) for entry in planned]
            result["changed"] = True
            return result
        restored, failures = restore(written)
        if failures:
            # Leave the journal: the next run retries the rollback.
            raise EditError(
                "%s acceptq tried to restore the edited files from %s, but %s; restored: %s%s"
                % (failure, run_dir, "; ".join(failures), ", ".join(restored) or "none", note)
            )
        os.unlink(journal)
        detail = result.get("validator_output", "")
        raise EditError(
            "%s every edited file was restored byte for byte from %s (%s)%s%s"
            % (
                failure,
                run_dir,
                ", ".join(entry["target"] for entry in written) or "none had been written",
                note,
                (": " + detail) if detail else "",
            )
        )


def commit(state_dir, label):
    """The caller's daemon has taken the validated edits: forget the journal."""
    path = _journal_path(state_dir, label)
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def pending(state_dir, label):
    """Validated edits of label whose daemon was never told (the run died before its handler)."""
    for _path, journal in journals(state_dir):
        if journal.get("label") == label and journal.get("state") == "validated":
            return [entry["target"] for entry in journal.get("files") or []]
    return []
