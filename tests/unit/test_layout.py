"""The layout the registry relies on: host-side code is stdlib-only and closed,
the queue fact installs exactly it, and docs/findings.md is the registry's."""

import ast
import sys

import yaml
from conftest import ROOT

from ansible_collections.acceptq.remediation.plugins.module_utils import concerns, registry

MODULE_UTILS = ROOT / "plugins" / "module_utils"
PREFIX = "ansible_collections.acceptq.remediation.plugins.module_utils."


def _imports(path):
    """(stdlib-or-third-party top-level names, module_utils files) a file imports."""
    tree = ast.parse(path.read_text(), str(path))
    outside, inside = set(), set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + ["%s.%s" % (node.module, alias.name) for alias in node.names]
        for name in names:
            if name.startswith(PREFIX):
                relative = name[len(PREFIX) :].replace(".", "/")
                for candidate in (MODULE_UTILS / (relative + ".py"), MODULE_UTILS / relative / "__init__.py"):
                    if candidate.is_file():
                        inside.add(candidate)
            elif not name.startswith("ansible_collections.") and name != "__future__":
                outside.add(name.split(".")[0])
    return outside, inside


def host_side_closure(roots=None):
    roots = roots or [MODULE_UTILS / "concerns.py", MODULE_UTILS / "facts" / "snapshot.py"]
    seen, queue = set(), list(roots)
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        queue.extend(_imports(path)[1])
    return seen


def test_host_side_code_imports_only_the_standard_library_and_host_side_files():
    for path in host_side_closure():
        outside, inside = _imports(path)
        assert outside <= set(sys.stdlib_module_names), "%s imports %s" % (path, outside - set(sys.stdlib_module_names))
        for other in inside:
            assert other.stem not in ("rules", "model", "plan", "fleet", "registry"), "%s imports %s" % (path, other)


def test_every_concern_is_a_package_with_its_collector_and_rules():
    for name, module in concerns.CONCERNS:
        assert (MODULE_UTILS / name / "collect.py").is_file()
        assert module.__name__ == PREFIX + name + ".collect"
        assert (MODULE_UTILS / name / "rules.py").is_file()
    assert [concern.name for concern in registry.CONCERNS] == [name for name, _module in concerns.CONCERNS]


def test_the_queue_fact_installs_exactly_the_host_side_code():
    installed = yaml.safe_load((ROOT / "roles" / "queue_facts" / "vars" / "main.yml").read_text())
    files = {MODULE_UTILS / path for path in installed["__queue_facts_modules"]}
    fact = host_side_closure([MODULE_UTILS / "facts" / "snapshot.py"])
    packages = {path.parent / "__init__.py" for path in fact if path.parent != MODULE_UTILS}
    assert files == fact | packages


def test_findings_reference_is_generated_from_the_registry():
    committed = (ROOT / "docs" / "findings.md").read_text()
    assert committed == registry.findings_markdown(), "run: acceptq rules --format markdown > docs/findings.md"


def test_gather_module_documents_every_section_of_the_registry():
    source = (ROOT / "plugins" / "modules" / "gather.py").read_text()
    documentation = yaml.safe_load(source.split('DOCUMENTATION = r"""')[1].split('"""')[0])
    described = " ".join(documentation["description"])
    for name in concerns.RUN_ORDER:
        assert "C(%s) section" % name in described, "the gather module does not document the %s section" % name


def test_example_inventory_policy_block_is_the_registry_defaults():
    example = yaml.safe_load((ROOT / "inventory" / "example" / "group_vars" / "all.yml").read_text())
    assert example["acceptq_policy"] == registry.DEFAULT_POLICY
