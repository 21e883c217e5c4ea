"""The report formats the CLI can write: one module per format, registered here.

A renderer is a module with ``render(report) -> str``; ``report`` is an
``acceptq.report.Report``. Adding a format is one file and one line below.
"""

from __future__ import annotations

from importlib import import_module

FORMATS = ("table", "json", "sarif", "junit")


def render(name: str, report) -> str:
    if name not in FORMATS:
        raise ValueError("unknown report format %r (known: %s)" % (name, ", ".join(FORMATS)))
    return import_module("acceptq.reports.%s" % name).render(report)
