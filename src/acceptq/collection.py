"""Locate the acceptq.remediation collection and import its shared code."""

from __future__ import annotations

import os
import sys
from pathlib import Path


class CollectionNotFound(RuntimeError):
    pass


def collection_root() -> Path:
    """The repository root that is the collection (holds galaxy.yml)."""
    declared = os.environ.get("ACCEPTQ_COLLECTION_ROOT")
    candidates = [Path(declared)] if declared else []
    candidates.append(Path(__file__).resolve().parents[2])
    for candidate in candidates:
        if (candidate / "galaxy.yml").is_file() and (candidate / "playbooks").is_dir():
            return candidate
    raise CollectionNotFound(
        "cannot find the acceptq.remediation collection (looked in %s); set ACCEPTQ_COLLECTION_ROOT"
        % ", ".join(str(path) for path in candidates)
    )


def collections_path(root: Path) -> Path:
    """A collections path where acceptq.remediation resolves to this checkout."""
    path = root / ".ansible" / "collections"
    link = path / "ansible_collections" / "acceptq" / "remediation"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():
            link.unlink()
        link.symlink_to(os.path.relpath(root, link.parent))
    return path


def import_shared(root: Path):
    """Put the collection on sys.path so its module_utils can be imported."""
    path = str(collections_path(root))
    if path not in sys.path:
        sys.path.insert(0, path)


def render_fact(root: Path, target: Path, state_dir: str, lib_dir: Path | None = None) -> str:
    """roles/queue_facts' acceptq.fact rendered outside Ansible (benchmark, tests).

    Points at this checkout's code (or lib_dir). Where the shebang's
    interpreter is missing, the same flags run this Python. Returns the
    shebang line.
    """
    import json

    import jinja2  # what Ansible renders templates with

    environment = jinja2.Environment(keep_trailing_newline=True)
    environment.filters["comment"] = lambda text: "#\n# %s\n#" % text
    environment.filters["to_json"] = json.dumps
    template = root / "roles" / "queue_facts" / "templates" / "acceptq.fact.j2"
    text = environment.from_string(template.read_text()).render(
        ansible_managed="Ansible managed (rendered outside Ansible)",
        queue_facts_lib_dir=str(lib_dir or collections_path(root)),
        queue_facts_state_dir=state_dir,
    )
    interpreter = text.splitlines()[0][2:].split()[0]
    if not os.access(interpreter, os.X_OK):
        text = text.replace(interpreter, sys.executable, 1)
    target.write_text(text)
    target.chmod(0o755)
    return text.splitlines()[0]
