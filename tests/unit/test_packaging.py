"""What installing the collection from Galaxy or into an execution environment
relies on: a README per role, the licence the metadata declares, and the
controller's Python requirements in meta/ (what ansible-builder reads)."""

import ast
import importlib.metadata
import re
import sys

import yaml
from conftest import ROOT


def _third_party_imports(root):
    """Top-level modules imported under root that are neither stdlib nor Ansible."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in ("ansible", "ansible_collections", "__future__"):
                    continue
                found.setdefault(top, "%s:%d" % (path.relative_to(ROOT), node.lineno))
    return found


def _requirement_names(path):
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.add(re.split(r"[<>=!~;\[ ]", line)[0].lower().replace("_", "-"))
    return names


def test_controller_imports_are_declared_for_execution_environments():
    spec = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    requirements = ROOT / spec["dependencies"]["python"]
    declared = _requirement_names(requirements)
    distributions = importlib.metadata.packages_distributions()
    # What ansible-core itself requires is on every controller (PyYAML, Jinja2, ...).
    core = {
        re.split(r"[<>=!~;\[ ]", requirement)[0].lower().replace("_", "-")
        for requirement in importlib.metadata.requires("ansible-core") or []
    }
    declared |= core
    missing = []
    for module, where in _third_party_imports(ROOT / "plugins").items():
        names = {name.lower().replace("_", "-") for name in distributions.get(module, [module])}
        if not names & declared:
            missing.append("%s (imported at %s; distribution %s)" % (module, where, "/".join(sorted(names))))
    assert not missing, "not in %s: %s" % (requirements.relative_to(ROOT), "; ".join(missing))


def test_every_requirement_is_importable_here():
    # A requirement the venv lacks would be untested on the controller.
    spec = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    for name in _requirement_names(ROOT / spec["dependencies"]["python"]):
        importlib.metadata.version(name)


def test_every_role_has_a_readme_and_argument_specs():
    for role in sorted((ROOT / "roles").iterdir()):
        if role.is_dir():
            assert (role / "README.md").is_file(), "%s has no README.md (the Galaxy importer rejects it)" % role.name
            assert (role / "meta" / "argument_specs.yml").is_file(), role.name


def test_license_matches_the_metadata():
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    assert galaxy["license"] == ["GPL-3.0-or-later"]
    assert 'license = "GPL-3.0-or-later"' in (ROOT / "pyproject.toml").read_text()
    text = (ROOT / "LICENSE").read_text()
    assert "GNU GENERAL PUBLIC LICENSE" in text and "Version 3, 29 June 2007" in text


def test_development_files_stay_out_of_the_collection():
    ignored = set(yaml.safe_load((ROOT / "galaxy.yml").read_text())["build_ignore"])
    for path in ("src", "tests", "tools", "molecule", "awx", "execution-environment.yml", "changelogs/fragments"):
        assert path in ignored, path


def test_the_collection_and_the_cli_declare_the_same_ansible_core_floor():
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    floor = re.match(r">=(\d+\.\d+)", runtime["requires_ansible"]).group(1)
    assert '"ansible-core>=%s,' % floor in (ROOT / "pyproject.toml").read_text()
