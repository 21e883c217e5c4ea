# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gather engine and the readers every concern's host-side collector shares.

Python 3 standard library only, and host-side: it imports nothing but other
host-side files (tests/unit/test_layout.py checks this). Each concern's
``collect`` module declares its evidence sections (``SECTIONS``); the registry
in ``plugins/module_utils/concerns.py`` lists them, and ``collect`` runs them
in one call per host. A collector that cannot read its source records an
error naming that source and the rest of the gathering goes on.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import sys
import threading

SCHEMA_VERSION = 1


class EvidenceError(Exception):
    """A source could not be read or parsed; the message names it."""


# Big enough that /proc/locks comes back in one read: a seq_file read fills
# the whole buffer, and every further read is one more wait for the GIL.
READ_CHUNK = 1 << 20


def read_text(path):
    """A file's text in os-level reads (no buffered file object to build).

    One syscall for a file under READ_CHUNK; raises EvidenceError naming it.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except (IOError, OSError) as exc:
        raise EvidenceError("%s: %s" % (path, exc.strerror or exc)) from None
    try:
        parts = []
        while True:
            chunk = os.read(fd, READ_CHUNK)
            parts.append(chunk)
            if len(chunk) < READ_CHUNK:
                break
        return b"".join(parts).decode("utf-8", "replace")
    except (IOError, OSError) as exc:
        raise EvidenceError("%s: %s" % (path, exc.strerror or exc)) from None
    finally:
        os.close(fd)


class Background(object):
    """function(*args) in a thread, for work that waits in the kernel.

    Reading /proc/locks takes the kernel's file_rwsem for writing, which
    waits for an RCU grace period (6-8 ms on an idle VM, longer while this
    process keeps a CPU busy) using no CPU: one syscall, so it overlaps the
    rest fully. A netlink dump of thousands of connections is kernel time
    too, but each of its 32 KiB replies takes the GIL back, so it overlaps
    only in part (a millisecond or two on a 2-vCPU VM; more where the main
    thread waits on php-fpm -tt).
    """

    def __init__(self, function, *args):
        self.function, self.args = function, args
        self.value = self.error = None
        self.thread = threading.Thread(target=self._run, name="acceptq-background")
        self.thread.daemon = True
        self.thread.start()

    def _run(self):
        try:
            self.value = self.function(*self.args)
        except Exception as exc:  # handed to the caller of result()
            self.error = exc

    def result(self):
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.value


def start_background(context, section, function, *args):
    """Start a section's slow part now; the section runs it itself if no thread starts."""
    if section in context.get("sections", ()) and section not in context.setdefault("background", {}):
        try:
            context["background"][section] = Background(function, *args)
        except RuntimeError:  # no thread to be had
            pass


def background_result(context, section, function, *args):
    """The started job's result (taken once), or function(*args) run here."""
    job = context.get("background", {}).pop(section, None)
    if job is not None and job.function is function and job.args == args:
        return job.result()
    return function(*args)


def context_netns(context):
    """The network namespace's id, read once per gathering."""
    if "netns" not in context:
        context["netns"] = netns_id(context["proc_root"])
    return context["netns"]


def netns_id(proc_root):
    try:
        return os.readlink(os.path.join(proc_root, "self/ns/net"))
    except OSError:
        return None


def _open_fds(proc_root, pid):
    """Yield (fd name, fd directory handle) for a process; nothing once it has exited."""
    try:
        fd_dir = os.open(os.path.join(proc_root, str(pid), "fd"), os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return  # the process exited, or is not ours to read
    try:
        for fd in os.listdir(fd_dir):
            yield fd, fd_dir
    except OSError:
        return  # it exited while we read it: what was found stands
    finally:
        os.close(fd_dir)


def process_name(proc_root, pid):
    try:
        return read_text(os.path.join(proc_root, str(pid), "comm")).strip()
    except EvidenceError:
        return None


def collect_host(context):
    # os.uname() rather than the platform module: the same values, without
    # its import cost in a fact that starts a fresh interpreter every run.
    uname = os.uname()
    return {
        "system": uname.sysname,
        "kernel_release": uname.release,
        "python": sys.version.split()[0],
        "hostname": socket.gethostname(),
    }


class Section(object):
    """One evidence section a concern's host side gathers.

    order: its place in the run (lower first). waits: it waits for a
    background job, so it runs after every section that does not.
    start: called with (context, hints) on the run's first line, to start
    slow kernel work early. linux_only: needs /proc and netlink.
    """

    def __init__(self, name, collector, order, waits=False, start=None, linux_only=True):
        self.name, self.collector, self.order = name, collector, order
        self.waits, self.start, self.linux_only = waits, start, linux_only


def run_order(sections):
    """Section names in the order they run: the waiting ones last, by construction."""
    return tuple(section.name for section in sorted(sections, key=lambda section: (section.waits, section.order)))


def collect(registry, sections=None, proc_root="/proc", counter_sample_interval=1.0, hints=None, before_waiting=None):
    """Run the requested sections of a registry ({name: Section}) and return the evidence document.

    hints: what a previous run saved (a snapshot's state), handed to each
    section's start hook and collector (context["hints"]) to make a repeated
    run cheaper. before_waiting: called once with the evidence so far, after
    the sections that need no background job and before those that wait for
    one, so that a caller's own work overlaps the kernel's.
    """
    sections = list(sections or registry)
    unknown = [name for name in sections if name not in registry]
    if unknown:
        raise ValueError("unknown evidence sections: %s" % ", ".join(unknown))
    errors = []
    context = {
        "proc_root": proc_root,
        "errors": errors,
        "counter_sample_interval": counter_sample_interval,
        "hints": hints or {},
        "sections": sections,
    }
    evidence = {"schema": SCHEMA_VERSION, "sections": sections, "errors": errors, "host": collect_host(context)}
    # A later section may read an earlier one's evidence (php_code reads php_fpm's and nginx's roots).
    context["evidence"] = evidence
    linux = evidence["host"]["system"] == "Linux"
    order = run_order(registry.values())
    if linux:
        for name in order:
            if name in sections and registry[name].start is not None:
                registry[name].start(context)
    for name in [name for name in order if name in sections] + [None]:
        if before_waiting is not None and (name is None or registry[name].waits):
            before_waiting(evidence)
            before_waiting = None
        if name is None or name == "host":
            continue
        if registry[name].linux_only and not linux:
            errors.append(
                {
                    "section": name,
                    "source": "platform",
                    "message": "%s evidence needs Linux; this host runs %s" % (name, evidence["host"]["system"]),
                }
            )
            evidence[name] = None
            continue
        evidence[name] = registry[name].collector(context)
    return evidence
