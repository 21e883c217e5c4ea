"""Locate the acceptq.remediation collection and import its shared code.

Found the way ansible-playbook (and ansible-navigator, molecule) find a
collection: ``ACCEPTQ_COLLECTION_ROOT`` first (development: a checkout or an
unpacked collection), then the checkout this CLI runs from (an editable
install), then Ansible's configured collections paths (the user's
ansible.cfg, ``ANSIBLE_COLLECTIONS_PATH``) and ``ansible_collections`` on
``sys.path``, in that order. Nothing is written into an installed collection
or into the CLI's own install.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

NAMESPACE, NAME = "acceptq", "remediation"
FQCN = "%s.%s" % (NAMESPACE, NAME)


class CollectionNotFound(RuntimeError):
    pass


def is_collection(path: Path) -> bool:
    """A collection directory: a source tree (galaxy.yml) or an installed one (MANIFEST.json)."""
    has_metadata = (path / "galaxy.yml").is_file() or (path / "MANIFEST.json").is_file()
    return has_metadata and (path / "playbooks").is_dir() and (path / "plugins").is_dir()


def ansible_collections_paths(with_sys_path: bool = True) -> list[Path]:
    """The collections paths Ansible itself would search, from the user's configuration.

    with_sys_path: also sys.path, which Ansible scans for ansible_collections
    unless COLLECTIONS_SCAN_SYS_PATH is off (the ``ansible`` package's bundle).
    """
    try:
        from ansible import constants  # reads ansible.cfg the way ansible-playbook does
    except Exception:  # an ansible.cfg Ansible cannot read: ansible-playbook will say why
        configured = []
    else:
        configured = list(constants.COLLECTIONS_PATHS or [])
        if with_sys_path and getattr(constants, "COLLECTIONS_SCAN_SYS_PATH", True):
            configured += [path for path in sys.path if path]
    paths = []
    for entry in configured:
        path = Path(os.path.expanduser(entry))
        if path.name == "ansible_collections":  # Ansible accepts either spelling
            path = path.parent
        if path not in paths:
            paths.append(path)
    return paths


def candidates() -> list[tuple[str, Path]]:
    """(where it came from, collection directory) in the order they are tried."""
    found = []
    declared = os.environ.get("ACCEPTQ_COLLECTION_ROOT")
    if declared:
        return [("ACCEPTQ_COLLECTION_ROOT", Path(declared).expanduser())]
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "galaxy.yml").is_file() and (checkout / "src" / "acceptq").is_dir():
        found.append(("this checkout", checkout))
    for path in ansible_collections_paths():
        found.append(("collections path %s" % path, path / "ansible_collections" / NAMESPACE / NAME))
    return found


def collection_root() -> Path:
    """The directory of the acceptq.remediation collection this CLI drives."""
    tried = candidates()
    for _origin, path in tried:
        if is_collection(path):
            return path.resolve()
    if os.environ.get("ACCEPTQ_COLLECTION_ROOT"):
        raise CollectionNotFound(
            "ACCEPTQ_COLLECTION_ROOT=%s is not the %s collection (no galaxy.yml or MANIFEST.json with playbooks/)"
            % (os.environ["ACCEPTQ_COLLECTION_ROOT"], FQCN)
        )
    raise CollectionNotFound(
        "cannot find the %s collection in %s; install it (ansible-galaxy collection install %s) "
        "or set ACCEPTQ_COLLECTION_ROOT to a checkout" % (FQCN, ", ".join(str(path) for _o, path in tried), FQCN)
    )


def installed_collections_path(root: Path) -> Path | None:
    """The collections path root is installed in (…/ansible_collections/acceptq/remediation), if it is."""
    if root.name == NAME and root.parent.name == NAMESPACE and root.parent.parent.name == "ansible_collections":
        return root.parent.parent.parent
    return None


def collections_path(root: Path) -> Path:
    """A collections path where acceptq.remediation resolves to root.

    An installed collection already sits in one. A source tree gets a link:
    the checkout's own .ansible/collections when it already points here
    (tools/bootstrap.sh makes it), otherwise one in the user's cache, never
    inside the tree itself.
    """
    installed = installed_collections_path(root)
    if installed is not None:
        return installed
    own = root / ".ansible" / "collections"
    if (own / "ansible_collections" / NAMESPACE / NAME).resolve() == root.resolve():
        return own
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "acceptq" / "collections"
    path = cache / hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    link = path / "ansible_collections" / NAMESPACE / NAME
    if not (link.is_symlink() and link.resolve() == root.resolve()):
        link.parent.mkdir(parents=True, exist_ok=True)
        temporary = link.with_name(".%s.%d" % (NAME, os.getpid()))
        if temporary.is_symlink():
            temporary.unlink()
        temporary.symlink_to(root.resolve())
        os.replace(temporary, link)  # atomic: a concurrent run sees the old link or the new one
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
