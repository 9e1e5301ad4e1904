"""The container image installs only requirements.txt's runtime part (up to "# Tests and
development"): every third-party module the portal's own code imports must come from there,
directly or as a dependency of something listed there."""

import ast
import re
import sys
from importlib import metadata

from packaging.requirements import Requirement

from tests.conftest import BASE_DIR

MARKER = "# Tests and development"
# Not the portal: tests, benchmarks and developer scripts run beside it, never in the image.
NOT_IN_THE_IMAGE = {"tests", "bench", "scripts", "node_modules", "var", "docs", "test-results"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_requirements() -> set[str]:
    text = (BASE_DIR / "requirements.txt").read_text()
    assert MARKER in text, "the Dockerfile cuts requirements.txt at this line"
    names = set()
    for line in text.split(MARKER)[0].splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.add(canonical(re.split(r"[\[=<>!~; ]", line)[0]))
    return names


def with_dependencies(names: set[str]) -> set[str]:
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        for line in metadata.requires(name) or ():
            requirement = Requirement(line)
            # Other platforms' and optional extras' dependencies don't count.
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonical(requirement.name))
    return found


def portal_files():
    for path in BASE_DIR.rglob("*.py"):
        parts = path.relative_to(BASE_DIR).parts
        if parts[0] not in NOT_IN_THE_IMAGE and not parts[0].startswith("."):
            yield path


def imported_top_level_modules() -> dict[str, str]:
    """Top-level module name → one file importing it, for absolute imports of the portal."""
    found: dict[str, str] = {}
    for path in portal_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(BASE_DIR)))
    return found


def test_every_module_the_portal_imports_is_in_the_runtime_requirements():
    first_party = {path.name for path in BASE_DIR.iterdir() if path.is_dir()} | {"manage"}
    providers = metadata.packages_distributions()
    allowed = with_dependencies(runtime_requirements())
    assert {"django", "daphne", "cryptography"} <= allowed
    missing = {}
    for module, where in imported_top_level_modules().items():
        if module in sys.stdlib_module_names or module in first_party:
            continue
        distributions = {canonical(name) for name in providers.get(module, ())}
        assert distributions, f"{module} (imported in {where}) is not installed at all"
        if not distributions & allowed:
            missing[module] = (where, sorted(distributions))
    assert not missing, (
        f"imported by the portal but not in requirements.txt's runtime part: {missing}"
    )
