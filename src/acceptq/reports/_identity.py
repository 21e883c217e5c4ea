"""What one finding is about, independent of when it was seen.

The SARIF fingerprints, the JUnit test names and ``acceptq diff`` /
``--baseline`` all need the same answer, so it is computed here once: the
rule, the host and the object the finding judges (a pool, a listener, an
upstream, a file), never a line number or a counter value, which move
between runs while the problem stays the same.
"""

from __future__ import annotations

import hashlib
import re

# Evidence keys that name the thing judged (not a measured value).
IDENTITY_KEYS = (
    "pool",
    "listener",
    "local",
    "listen",
    "address",
    "target",
    "upstream",
    "server",
    "location",
    "directive",
    "unit",
    "service",
    "binary",
    "conf",
    "file",
    "path",
    "script",
    "function",
    "name",
    "port",
)
# "/etc/nginx/nginx.conf:42" and "site.conf:7" in observed text.
_FILE_LINE = re.compile(r"((?:/|\./|\b)[\w./@+-]+\.[\w]+|/[\w./@+-]+):(\d+)\b")
_NUMBERS = re.compile(r"\d+(?:\.\d+)?")


def location(finding) -> tuple[str | None, int | None]:
    """(file, line) the finding points at: its own fields, else the first file:line in observed."""
    if getattr(finding, "file", None):
        line = getattr(finding, "line", None)
        return finding.file, int(line) if isinstance(line, int) or str(line or "").isdigit() else None
    match = _FILE_LINE.search(finding.observed or "")
    if match:
        return match.group(1), int(match.group(2))
    return None, None


def object_key(finding) -> str:
    """The judged object, stable across runs: identity fields of the evidence, else the file, else the text."""
    evidence = finding.evidence if isinstance(finding.evidence, dict) else {}
    parts = []
    for key in IDENTITY_KEYS:
        value = evidence.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
            parts.append("%s=%s" % (key, value))
    if parts:
        return " ".join(parts)
    path, _line = location(finding)
    if path:
        return path
    # Counters and sizes change from run to run; the wording does not.
    return _NUMBERS.sub("#", finding.observed or "").strip()


def identity(finding) -> tuple[str, str, str]:
    return (finding.id, finding.host or "", object_key(finding))


def fingerprint(finding) -> str:
    return hashlib.sha256("\0".join(identity(finding)).encode("utf-8")).hexdigest()[:32]
