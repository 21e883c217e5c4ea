# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host side of the flock concern: find the PHP code that might lock its log writes.

Python 3 standard library only. Walks the code roots (declared ones, php-fpm
pools' ``chdir``, nginx ``root`` and ``fastcgi_param SCRIPT_FILENAME``) within
limits on files, bytes and time, never twice through one directory (symlink
loops), vendor/ included: that is where the loggers live. A file is a
candidate when its bytes hold one of a few words every locking logger needs;
only the candidates' text is shipped, and the controller parses it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import time

from ansible_collections.acceptq.remediation.plugins.module_utils.core.evidence import EvidenceError, Section, read_text

PHP_SUFFIXES = (".php", ".inc", ".phtml", ".module")
YAML_SUFFIXES = (".yaml", ".yml")
# Every finding the controller can make needs one of these in the file's bytes.
PHP_NEEDLES = (b"flock", b"LOCK_EX", b"ocking", b"StreamHandler", b"RotatingFileHandler")
YAML_NEEDLES = (b"use_locking",)
NEEDLE_OVERLAP = max(len(needle) for needle in PHP_NEEDLES + YAML_NEEDLES)
SKIP_DIRS = frozenset((".git", ".svn", ".hg", "node_modules", ".cache"))
# Document roots whose code lives one level up (Laravel, Symfony, CodeIgniter 4 public/).
DOCROOT_NAMES = frozenset(("public", "web", "www", "htdocs", "html", "public_html", "pub", "webroot"))
# Literal log paths in any PHP file, with their line: the run-time join matches a locked file
# with the call that passes its path to a logger taking it as a parameter.
_LOG_LITERAL = re.compile(rb"""['"](/[^'"\s]{1,200}\.log)['"]""")
MAX_LOG_SITES = 500
NETWORK_FS = frozenset(("nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs", "fuse.sshfs", "9p", "afs"))

LIMITS = {
    "max_files": 200000,  # files looked at, all roots together
    "max_file_bytes": 8 << 20,  # bigger files are skipped, named
    "max_candidate_bytes": 1 << 20,  # a candidate bigger than this is named, not shipped
    "max_shipped_bytes": 16 << 20,  # all shipped text together
    "max_seconds": 20.0,
    "max_depth": 40,
    "max_listed": 50,  # skipped files and unreadable directories listed by name
}
READ_CHUNK = 1 << 20

_NGINX_ROOT = re.compile(r"^\s*root\s+(?P<value>[^;]+);", re.M)
_NGINX_SCRIPT = re.compile(r"^\s*fastcgi_param\s+SCRIPT_FILENAME\s+(?P<value>[^;]+);", re.M)
_FPM_CHDIR = re.compile(r"^\s*chdir\s*=\s*(?P<value>\S.*?)\s*$", re.M)


def _literal_prefix(value):
    """/srv/app/public from '/srv/app/public$fastcgi_script_name'; None when it starts with a variable."""
    value = value.strip().strip("'\"")
    prefix = value.split("$", 1)[0]
    if not prefix.startswith("/"):
        return None
    if prefix != value and not prefix.endswith("/"):
        # '/srv/app/public$fastcgi_script_name': the directory is the literal part.
        return prefix.rstrip("/") or "/"
    if prefix == value and prefix.endswith(".php"):
        return os.path.dirname(prefix)
    return prefix.rstrip("/") or "/"


def nginx_roots(text):
    """[(path, "nginx root"|"nginx SCRIPT_FILENAME")] from nginx configuration text."""
    found = []
    for pattern, source in ((_NGINX_ROOT, "nginx root"), (_NGINX_SCRIPT, "nginx SCRIPT_FILENAME")):
        for match in pattern.finditer(text):
            path = _literal_prefix(match.group("value"))
            if path:
                found.append((path, source))
    return found


def fpm_chdirs(text):
    found = []
    for match in _FPM_CHDIR.finditer(text):
        value = match.group("value").strip().strip("'\"")
        if value.startswith("/") and "$" not in value:
            found.append((value, "php-fpm chdir"))
    return found


def _nginx_text(evidence):
    nginx = evidence.get("nginx") or {}
    dump = nginx.get("dump") or {}
    if dump.get("stdout"):
        return dump["stdout"]
    return "\n".join((nginx.get("files") or {}).values())


def _fpm_conf_files(evidence):
    files = []
    for binary in (evidence.get("php_fpm") or {}).get("binaries") or []:
        files.extend(binary.get("conf_files") or [])
    return files


def _default_fpm_conf_files(etc="/etc/php"):
    files = []
    try:
        versions = sorted(os.listdir(etc))
    except OSError:
        return files
    for version in versions:
        for directory in (os.path.join(etc, version, "fpm"), os.path.join(etc, version, "fpm", "pool.d")):
            try:
                names = sorted(os.listdir(directory))
            except OSError:
                continue
            files.extend(os.path.join(directory, name) for name in names if name.endswith(".conf"))
    return files


def derive_roots(evidence, declared=(), errors=None):
    """[{"path", "sources"}] to walk: declared roots, php-fpm chdir, nginx roots (and their parents)."""
    found = [(path, "declared") for path in declared or ()]
    conf_files = _fpm_conf_files(evidence) if evidence.get("php_fpm") else _default_fpm_conf_files()
    for path in conf_files:
        try:
            found.extend(fpm_chdirs(read_text(path)))
        except EvidenceError as exc:
            if errors is not None:
                errors.append({"section": "php_code", "source": path, "message": str(exc)})
    text = _nginx_text(evidence) if evidence.get("nginx") else ""
    for path, source in nginx_roots(text):
        found.append((path, source))
        if os.path.basename(path) in DOCROOT_NAMES:
            found.append((os.path.dirname(path), source + " (parent of the document root)"))
    roots = {}
    for path, source in found:
        path = os.path.normpath(path)
        roots.setdefault(path, [])
        if source not in roots[path]:
            roots[path].append(source)
    return [{"path": path, "sources": sources} for path, sources in sorted(roots.items())]


def _nested(path, others):
    return any(path != other and path.startswith(other.rstrip("/") + "/") for other in others)


def mount_types(mountinfo="/proc/self/mountinfo"):
    """[(mount point, fs type)], longest mount point first."""
    mounts = []
    try:
        text = read_text(mountinfo)
    except EvidenceError:
        return mounts
    for line in text.splitlines():
        left, _sep, right = line.partition(" - ")
        fields, after = left.split(), right.split()
        if len(fields) >= 5 and after:
            mounts.append((fields[4].replace("\\040", " "), after[0]))
    mounts.sort(key=lambda item: len(item[0]), reverse=True)
    return mounts


def fs_type(path, mounts):
    for point, kind in mounts:
        if path == point or path.startswith(point.rstrip("/") + "/"):
            return kind
    return None


class Walk:
    """One bounded walk over the roots; what it found and what it had to leave out."""

    def __init__(self, limits=None, clock=time.monotonic):
        self.limits = dict(LIMITS, **(limits or {}))
        self.clock = clock
        self.started = clock()
        self.files = self.bytes = self.shipped_bytes = 0
        self.candidates = []
        self.skipped = []
        self.skipped_count = 0
        self.unreadable = []
        self.truncated = None
        self.seen_dirs = set()
        self.log_sites = {}
        self.log_site_count = 0

    def _skip(self, path, reason):
        self.skipped_count += 1
        if len(self.skipped) < self.limits["max_listed"]:
            self.skipped.append({"path": path, "reason": reason})

    def _stop(self, reason):
        if self.truncated is None:
            self.truncated = reason

    def walk(self, root):
        stack = [(root, 0)]
        while stack:
            if self.truncated:
                return
            directory, depth = stack.pop()
            try:
                info = os.stat(directory)
            except OSError as exc:
                self._unreadable(directory, exc)
                continue
            key = (info.st_dev, info.st_ino)
            if key in self.seen_dirs:
                continue  # a symlink loop, or a root inside another
            self.seen_dirs.add(key)
            try:
                entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
            except OSError as exc:
                self._unreadable(directory, exc)
                continue
            subdirs = []
            for entry in entries:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    continue
                if is_dir:
                    if entry.name not in SKIP_DIRS:
                        if depth + 1 > self.limits["max_depth"]:
                            self._skip(entry.path, "deeper than %d directories" % self.limits["max_depth"])
                        else:
                            subdirs.append((entry.path, depth + 1))
                    continue
                name = entry.name
                if name.endswith(PHP_SUFFIXES):
                    self.file(entry.path, PHP_NEEDLES)
                elif name.endswith(YAML_SUFFIXES) and "monolog" in entry.path:
                    self.file(entry.path, YAML_NEEDLES)
                else:
                    continue
                if self.truncated:
                    return
            stack.extend(reversed(subdirs))

    def _log_sites(self, path, chunk):
        """Record literal '/...log' paths of a file's first chunk with their line and the two lines before."""
        for match in _LOG_LITERAL.finditer(chunk):
            if self.log_site_count >= MAX_LOG_SITES:
                return
            line = chunk.count(b"\n", 0, match.start()) + 1
            start = match.start()
            for _line_back in range(3):
                start = chunk.rfind(b"\n", 0, start)
                if start < 0:
                    break
            context = chunk[start + 1 : chunk.find(b"\n", match.end()) % (len(chunk) + 1)][:400]
            literal = match.group(1).decode("utf-8", "replace")
            self.log_sites.setdefault(literal, []).append(
                {"file": path, "line": line, "context": context.decode("utf-8", "replace")}
            )
            self.log_site_count += 1

    def _unreadable(self, path, exc):
        if len(self.unreadable) < self.limits["max_listed"]:
            self.unreadable.append({"path": path, "reason": exc.strerror or str(exc)})

    def file(self, path, needles):
        limits = self.limits
        self.files += 1
        if self.files > limits["max_files"]:
            self._stop("more than %d files" % limits["max_files"])
            return
        if self.clock() - self.started > limits["max_seconds"]:
            self._stop("walk took longer than %s s" % limits["max_seconds"])
            return
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            self._skip(path, exc.strerror or str(exc))
            return
        try:
            size = os.fstat(fd).st_size
            if size > limits["max_file_bytes"]:
                self._skip(path, "%d bytes, over the %d-byte limit" % (size, limits["max_file_bytes"]))
                return
            chunks, tail, hit, first, done_bytes = [], b"", False, True, 0
            while True:
                # Sized to the file: a 1 MiB buffer per small file costs more than the read.
                chunk = os.read(fd, min(READ_CHUNK, max(size - done_bytes, 0) + 1))
                done_bytes += len(chunk)
                if not chunk:
                    break
                self.bytes += len(chunk)
                window = tail + chunk if tail else chunk
                if first and b"\0" in chunk[:8192]:
                    self._skip(path, "binary content")
                    return
                if not hit:
                    hit = any(needle in window for needle in needles)
                if first and b".log" in chunk and self.log_site_count < MAX_LOG_SITES:
                    self._log_sites(path, chunk)
                if size <= limits["max_candidate_bytes"]:
                    chunks.append(chunk)
                tail = window[-NEEDLE_OVERLAP:]
                first = False
        except OSError as exc:
            self._skip(path, exc.strerror or str(exc))
            return
        finally:
            os.close(fd)
        if not hit:
            return
        if size > limits["max_candidate_bytes"]:
            self._skip(
                path, "a candidate of %d bytes, over the %d-byte shipping limit" % (size, limits["max_candidate_bytes"])
            )
            return
        data = b"".join(chunks)
        if self.shipped_bytes + len(data) > limits["max_shipped_bytes"]:
            self._stop("candidates exceed %d bytes" % limits["max_shipped_bytes"])
            return
        self.shipped_bytes += len(data)
        try:
            text, valid = data.decode("utf-8"), True
        except UnicodeDecodeError:
            text, valid = data.decode("utf-8", "replace"), False
        self.candidates.append({"path": path, "size": len(data), "text": text, "utf8": valid})


def scan_roots(roots, limits=None, mounts=None):
    """Walk the root records (each {"path", "sources"}) and return the section's body."""
    walk = Walk(limits)
    mounts = mount_types() if mounts is None else mounts
    paths = [root["path"] for root in roots]
    records = []
    for root in roots:
        record = dict(root, error=None, fs=fs_type(root["path"], mounts))
        records.append(record)
        if not os.path.isdir(root["path"]):
            record["error"] = "no such directory" if not os.path.exists(root["path"]) else "not a directory"
            continue
        if _nested(root["path"], paths):
            record["walked_by"] = [other for other in paths if _nested(root["path"], [other])][0]
            continue
        walk.walk(root["path"])
    for candidate in walk.candidates:
        candidate["fs"] = fs_type(os.path.realpath(candidate["path"]), mounts)
    return {
        "roots": records,
        "candidates": walk.candidates,
        "log_sites": walk.log_sites,
        "files_seen": min(walk.files, walk.limits["max_files"]),
        "bytes_read": walk.bytes,
        "shipped_bytes": walk.shipped_bytes,
        "skipped": walk.skipped,
        "skipped_count": walk.skipped_count,
        "unreadable": walk.unreadable,
        "truncated": walk.truncated,
        "elapsed_s": round(walk.clock() - walk.started, 3),
        "limits": walk.limits,
    }


def checked_limits(limits):
    """(the limits that are known names with positive numbers, a message for each other one)."""
    clean, problems = {}, []
    for name, value in sorted((limits or {}).items()):
        if name not in LIMITS:
            problems.append("unknown walk limit %r (known: %s)" % (name, ", ".join(sorted(LIMITS))))
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            problems.append("walk limit %s must be a positive number, got %r" % (name, value))
        else:
            clean[name] = value
    return clean, problems


def collect_php_code(context):
    hints = context.get("hints") or {}
    errors = context["errors"]
    evidence = context.get("evidence") or {}
    roots = derive_roots(evidence, hints.get("php_code_roots") or (), errors)
    limits, problems = checked_limits(hints.get("php_code_limits"))
    for message in problems:
        errors.append(
            {"section": "php_code", "source": "php_code_limits", "message": message + "; the default applies"}
        )
    section = scan_roots(roots, limits)
    for root in section["roots"]:
        if root["error"]:
            errors.append(
                {
                    "section": "php_code",
                    "source": root["path"],
                    "message": "code root %s (%s): %s" % (root["path"], ", ".join(root["sources"]), root["error"]),
                }
            )
    for entry in section["unreadable"]:
        errors.append({"section": "php_code", "source": entry["path"], "message": "unreadable: %s" % entry["reason"]})
    if section["truncated"]:
        errors.append({"section": "php_code", "source": "walk", "message": "stopped early: %s" % section["truncated"]})
    return section


# After php_fpm (30) and nginx (40): their evidence names the roots.
SECTIONS = (Section("php_code", collect_php_code, 50),)
