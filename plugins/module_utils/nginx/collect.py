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
import time

from ansible_collections.acceptq.remediation.plugins.module_utils.core.evidence import Section

BINARY_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
# Caps that keep one host's evidence small whatever the configuration or logs hold.
MAX_CONFIG_BYTES = 4 * 1024 * 1024  # the controller's model refuses more (nginx/model.py LIMITS)
MAX_CONFIG_FILES = 2000
LOG_TAIL_BYTES = 256 * 1024
LOG_TAIL_LINES = 2000
# All logs together: a host with dozens of access logs must not grow its evidence past what
# a task result carries.
LOG_TAIL_BYTES_TOTAL = 1024 * 1024


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


def _configure_option(text, name):
    for token in text.split():
        if token.startswith("--%s=" % name):
            return token.split("=", 1)[1]
    return None


def conf_path_from_version(text, prefix=None):
    """The main configuration as nginx -V says it was built: --conf-path, else prefix + conf/nginx.conf."""
    prefix = prefix or prefix_from_version(text)
    conf = _configure_option(text, "conf-path") or "conf/nginx.conf"
    return conf if conf.startswith("/") else os.path.join(prefix, conf)


def prefix_from_version(text):
    """--prefix from ``nginx -V``; nginx's compiled default (NGX_PREFIX) when not given."""
    prefix = _configure_option(text, "prefix") or "/usr/local/nginx"
    return prefix.rstrip("/") + "/"


def master_options(cmdline):
    """(-c, -p, -g) from a master's command line as nginx leaves it ("nginx: master process ARGV").

    nginx joins its argv with spaces in the process title, so a -g value with
    spaces cannot be split back: only -c and -p are taken, as nginx -T needs them.
    """
    words = cmdline.split()
    if words[:3] == ["nginx:", "master", "process"]:
        words = words[3:]
    options = {"c": None, "p": None, "g": None}
    index = 1
    while index < len(words):
        word = words[index]
        if len(word) >= 2 and word[0] == "-" and word[1] in options:
            if len(word) > 2:
                options[word[1]] = word[2:]
            elif index + 1 < len(words):
                index += 1
                options[word[1]] = words[index]
        index += 1
    return options


def read_config_tree(conf_path, errors):
    """Every regular file under the configuration's directory, for when ``nginx -T`` cannot dump.

    A directory reached twice (a symlink loop) is read once and reported.
    """
    files = {}
    total = 0
    root = os.path.dirname(conf_path) or "/"
    seen = set()
    for directory, dirs, names in os.walk(root, followlinks=True):
        try:
            status = os.stat(directory)
        except OSError:
            continue
        if (status.st_dev, status.st_ino) in seen:
            errors.append({"section": "nginx", "source": directory, "message": "directory symlink loop: read once"})
            dirs[:] = []
            continue
        seen.add((status.st_dev, status.st_ino))
        dirs.sort()
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
    lines = data.decode("utf-8", "replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if start and lines:
        lines = lines[1:]  # the first line was cut
    return lines[-max_lines:]


def command_lines(proc_root):
    """(pid, command line) of every process, arguments joined by spaces; gone processes skipped."""
    try:
        entries = [entry for entry in os.listdir(proc_root) if entry.isdigit()]
    except OSError:
        return
    for pid in entries:
        try:
            with open(os.path.join(proc_root, pid, "cmdline"), "rb") as handle:
                yield pid, handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except (IOError, OSError):
            continue


def nginx_processes(proc_root):
    """(masters, worker pids): masters as {pid: command line} of the running nginx processes."""
    masters, workers = {}, []
    for pid, cmdline in command_lines(proc_root):
        if cmdline.startswith("nginx: master process"):
            masters[int(pid)] = cmdline
        elif cmdline.startswith("nginx: worker process"):
            workers.append(int(pid))
    return masters, sorted(workers)


def process_start(proc_root, pid):
    """A process's start as seconds since the epoch (from /proc/PID/stat and the boot time), or None."""
    try:
        with open(os.path.join(proc_root, str(pid), "stat"), "rb") as handle:
            stat = handle.read().decode("ascii", "replace")
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        with open(os.path.join(proc_root, "stat"), "rb") as handle:
            for line in handle.read().decode("ascii", "replace").split("\n"):
                if line.startswith("btime "):
                    return int(line.split()[1]) + ticks / float(os.sysconf("SC_CLK_TCK"))
    except (IOError, OSError, ValueError, IndexError):
        return None
    return None


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


def dumped_paths(stdout):
    """The files a ``nginx -T`` dump holds, from its markers."""
    return [
        line[len("# configuration file ") : -1]
        for line in stdout.split("\n")
        if line.startswith("# configuration file ") and line.endswith(":")
    ]


def liveness(proc_root, masters, workers, paths, conf_source):
    """Whether the files are what nginx runs: changed after its newest worker started, they are not.

    A reload starts new workers, so the newest worker's start is when the
    running configuration was last read (a worker respawned after a crash
    would make it look later: said in the finding's text).
    """
    live = {"running": bool(masters), "conf_source": conf_source, "changed": []}
    if not masters:
        return live
    live["master_pid"] = sorted(masters)[0]
    starts = [start for start in (process_start(proc_root, pid) for pid in workers) if start is not None]
    if not starts:
        starts = [start for start in (process_start(proc_root, pid) for pid in masters) if start is not None]
    if not starts:
        return live
    loaded_at = max(starts)
    live["loaded_at"] = loaded_at
    live["loaded_at_text"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(loaded_at))
    for path in paths:
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            continue
        if mtime > loaded_at + 1:  # start times are in clock ticks; allow for rounding
            live["changed"].append({"file": path, "mtime": mtime})
    return live


def _locate(version, masters):
    """(conf_path, prefix, where they came from): the running master's -c/-p, else nginx -V's build."""
    prefix = prefix_from_version(version)
    conf_path = conf_path_from_version(version, prefix)
    if not masters:
        return conf_path, prefix, "nginx -V's build default (no nginx master runs)"
    pid = sorted(masters)[0]
    options = master_options(masters[pid])
    source = "the running master's command line (pid %d)" % pid
    if options["p"]:
        prefix = options["p"].rstrip("/") + "/"
        if not options["c"]:
            conf_path = conf_path_from_version(version, prefix)
    if options["c"]:
        conf_path = options["c"] if options["c"].startswith("/") else os.path.join(prefix, options["c"])
    return conf_path, prefix, source


def _running_binary(proc_root, masters):
    for pid in sorted(masters):
        try:
            exe = os.readlink(os.path.join(proc_root, str(pid), "exe"))
        except OSError:
            continue
        exe = exe[: -len(" (deleted)")] if exe.endswith(" (deleted)") else exe
        if os.access(exe, os.X_OK):
            return exe
    return None


def collect_nginx(context, binary=None, timeout=20):
    errors = context["errors"]
    proc_root = context["proc_root"]
    masters, workers = nginx_processes(proc_root)
    binary = binary or _running_binary(proc_root, masters) or find_binary()
    section = {"binary": binary, "version": None, "conf_path": None, "dump": None, "files": None}
    if not binary:
        return section
    try:
        _rc, _out, version = _run([binary, "-V"], timeout)
        section["version"] = version.split("\n")[0].rpartition("/")[2] if version else None
        conf_path, prefix, source = _locate(version, masters)
        section.update(conf_path=conf_path, prefix=prefix, conf_source=source)
        section["http_log_path"] = _configure_option(version, "http-log-path")
        returncode, stdout, stderr = _run([binary, "-T", "-p", prefix, "-c", conf_path], timeout)
    except (OSError, subprocess.SubprocessError) as exc:
        errors.append({"section": "nginx", "source": "%s -T" % binary, "message": str(exc)})
        return section
    section["dump"] = {"returncode": returncode, "stdout": stdout, "stderr": stderr}
    if len(stdout) > MAX_CONFIG_BYTES:
        # more than the controller audits: say how much, ship none of it (bounded evidence)
        section["dump"].update(stdout="", truncated_bytes=len(stdout))
    if returncode != 0:
        # nginx -T dumps nothing when the test fails: read the files to locate the errors.
        section["files"] = read_config_tree(section["conf_path"], errors)
    paths = dumped_paths(stdout)[:MAX_CONFIG_FILES] if returncode == 0 else sorted(section["files"])
    section["live"] = liveness(proc_root, masters, workers, paths, section["conf_source"])
    section["running"] = bool(masters)
    section["worker_count"] = len(workers)
    section["cpu_count"] = os.cpu_count()
    section["logs"] = {}
    budget = LOG_TAIL_BYTES_TOTAL
    for path in open_log_paths(proc_root, sorted(masters) + workers):
        if budget <= 0:
            section["logs"][path] = {
                "lines": [],
                "error": "not read: %d bytes of log tails already" % LOG_TAIL_BYTES_TOTAL,
            }
            continue
        share = min(LOG_TAIL_BYTES, budget)
        budget -= share
        try:
            lines = tail_lines(path, max_bytes=share)
        except (IOError, OSError) as exc:
            section["logs"][path] = {"lines": [], "error": exc.strerror or str(exc)}
            continue
        section["logs"][path] = {"lines": lines, "error": None}
    return section


SECTIONS = (Section("nginx", collect_nginx, 40),)
