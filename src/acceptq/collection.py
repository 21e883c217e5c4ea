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
