# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx evidence on the host: the effective configuration and log tails.

Python 3 standard library only, and no parsing: ``nginx -T`` prints every
file of the effective configuration, includes resolved; the controller parses
it (``_nginx.py``). When the configuration does not pass ``nginx -t`` there is
no dump, so the files under the configuration directory are read instead and
the controller reports the errors with file and line.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

from ansible_collections.acceptq.remediation.plugins.module_utils.core.evidence import Section

BINARY_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
# Caps that keep one host's evidence small whatever the configuration or logs hold.
MAX_CONFIG_BYTES = 8 * 1024 * 1024
MAX_CONFIG_FILES = 2000
LOG_TAIL_BYTES = 256 * 1024
LOG_TAIL_LINES = 2000


def find_binary(candidates=BINARY_CANDIDATES):
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    import shutil  # here: the queue facts import this module but never look for nginx

    return shutil.which("nginx")


def _run(argv, timeout):
    completed = subprocess.run(argv, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return (
        completed.returncode,
        completed.stdout.decode("utf-8", "replace"),
        completed.stderr.decode("utf-8", "replace"),
    )


def conf_path_from_version(text):
    """--conf-path from ``nginx -V``; nginx's own default when not given."""
    for token in text.split():
        if token.startswith("--conf-path="):
            return token.split("=", 1)[1]
    return "/etc/nginx/nginx.conf"


def read_config_tree(conf_path, errors):
    """Every regular file under the configuration's directory, for when ``nginx -T`` cannot dump."""
    files = {}
    total = 0
    root = os.path.dirname(conf_path) or "/"
    for directory, _dirs, names in os.walk(root, followlinks=True):
        for name in sorted(names):
            path = os.path.join(directory, name)
            if len(files) >= MAX_CONFIG_FILES or total >= MAX_CONFIG_BYTES:
                errors.append({"section": "nginx", "source": root, "message": "configuration tree truncated"})
                return files
            try:
                with open(path, "rb") as handle:
                    data = handle.read(MAX_CONFIG_BYTES - total)
            except (IOError, OSError) as exc:
                errors.append({"section": "nginx", "source": path, "message": exc.strerror or str(exc)})
                continue
            if b"\0" in data:
                continue  # a binary file, not configuration
            files[path] = data.decode("utf-8", "replace")
            total += len(data)
    return files


def tail_lines(path, max_bytes=LOG_TAIL_BYTES, max_lines=LOG_TAIL_LINES):
    """The last complete lines of a file, read from its end."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        start = max(0, size - max_bytes)
        handle.seek(start)
        data = handle.read()
    lines = data.decode("utf-8", "replace").splitlines()
    if start and lines:
        lines = lines[1:]  # the first line was cut
    return lines[-max_lines:]


def nginx_processes(proc_root):
    """(master pids, worker pids) of the running nginx processes."""
    masters, workers = [], []
    try:
        entries = [entry for entry in os.listdir(proc_root) if entry.isdigit()]
    except OSError:
        return masters, workers
    for pid in entries:
        try:
            with open(os.path.join(proc_root, pid, "cmdline"), "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except (IOError, OSError):
            continue
        if cmdline.startswith("nginx: master process"):
            masters.append(int(pid))
        elif cmdline.startswith("nginx: worker process"):
            workers.append(int(pid))
    return sorted(masters), sorted(workers)


def open_log_paths(proc_root, pids):
    """Files ending in .log that the given processes hold open: nginx's access and error logs."""
    paths = set()
    for pid in pids:
        fd_dir = os.path.join(proc_root, str(pid), "fd")
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith("/") and target.endswith(".log"):
                paths.add(target)
    return sorted(paths)


def collect_nginx(context, binary=None, timeout=20):
    errors = context["errors"]
    binary = binary or find_binary()
    section = {"binary": binary, "version": None, "conf_path": None, "dump": None, "files": None}
    if not binary:
        return section
    try:
        _rc, _out, version = _run([binary, "-V"], timeout)
        section["version"] = version.splitlines()[0].rpartition("/")[2] if version else None
        section["conf_path"] = conf_path_from_version(version)
        returncode, stdout, stderr = _run([binary, "-T"], timeout)
    except (OSError, subprocess.SubprocessError) as exc:
        errors.append({"section": "nginx", "source": "%s -T" % binary, "message": str(exc)})
        return section
    section["dump"] = {"returncode": returncode, "stdout": stdout, "stderr": stderr}
    if returncode != 0:
        # nginx -T dumps nothing when the test fails: read the files to locate the errors.
        section["files"] = read_config_tree(section["conf_path"], errors)
    proc_root = context["proc_root"]
    masters, workers = nginx_processes(proc_root)
    section["running"] = bool(masters)
    section["worker_count"] = len(workers)
    section["cpu_count"] = os.cpu_count()
    section["logs"] = {}
    for path in open_log_paths(proc_root, masters + workers):
        try:
            section["logs"][path] = {"lines": tail_lines(path), "error": None}
        except (IOError, OSError) as exc:
            section["logs"][path] = {"lines": [], "error": exc.strerror or str(exc)}
    return section


SECTIONS = (Section("nginx", collect_nginx, 40),)
