"""SIGINT and SIGTERM: an interrupted run never reports success.

Outside a playbook run a signal unwinds at once (``Interrupted``, exit
128 + signal number: 130, 143). During a run it is recorded and passed on to
ansible-playbook (SIGINT to its process group, so Ansible stops its workers
and says so); if it has not stopped after a grace period, or on a second
signal, ansible-runner kills it. The CLI then writes what it has, marked
incomplete, and exits with the same code.
"""

from __future__ import annotations

import os
import signal
import sys
import time

GRACE_S = 10.0


class Interrupted(BaseException):
    """Like KeyboardInterrupt, a BaseException: library code catching Exception must not swallow it."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class _State:
    signum: int | None = None
    count = 0
    in_run = False
    forwarded_at: float | None = None


state = _State()


def _handler(signum, _frame):
    if state.signum is None:
        state.signum = signum
    state.count += 1
    if not state.in_run:
        raise Interrupted(state.signum)


_default_unraisablehook = sys.unraisablehook


def _unraisable(unraisable) -> None:
    """A signal that lands in a callback Python cannot raise from (an import lock's weakref
    callback, a __del__) would print "Exception ignored ... Traceback" and be lost: exit now instead."""
    exc = unraisable.exc_value
    if isinstance(exc, (Interrupted, KeyboardInterrupt)):
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        try:
            sys.stderr.write("acceptq: interrupted (%s)\n" % signal.Signals(signum).name)
            sys.stderr.flush()
        finally:
            os._exit(128 + signum)
    _default_unraisablehook(unraisable)


def install() -> None:
    """Handle SIGINT and SIGTERM (idempotent); call before anything slow."""
    sys.unraisablehook = _unraisable
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not _handler:
            signal.signal(signum, _handler)


def received() -> Interrupted | None:
    return Interrupted(state.signum) if state.signum is not None else None


def _children() -> list[int]:
    """This process's direct children (Linux /proc)."""
    pids = []
    try:
        with open("/proc/self/task/%d/children" % os.getpid()) as handle:
            pids = [int(pid) for pid in handle.read().split()]
    except OSError:
        pass
    return pids


def cancel_requested() -> bool:
    """ansible-runner's cancel_callback: forward the signal, then cancel (SIGKILL) after the grace period."""
    if state.signum is None:
        return False
    if state.forwarded_at is None:
        state.forwarded_at = time.monotonic()
        for pid in _children():
            try:
                group = os.getpgid(pid)
                if group == os.getpgrp():  # never our own group: that would signal us again
                    os.kill(pid, signal.SIGINT)
                else:
                    os.killpg(group, signal.SIGINT)
            except OSError:
                pass
        return False
    return state.count > 1 or time.monotonic() - state.forwarded_at > GRACE_S


class running:
    """Context: signals are recorded and handed to the run instead of unwinding."""

    def __enter__(self):
        state.in_run = True
        return self

    def __exit__(self, *_exc):
        state.in_run = False
        return False
