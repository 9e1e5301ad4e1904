"""The gateway's two boundaries, read from the code.

- Out of the gateway come domain types: the engine's JSON is read inside dockerweb/gateway/
  only, and the inspect document (`.raw`) leaves it only for the Inspect tabs that show it.
- Into docker-py, the gateway goes through its public API, except in one module
  (dockerweb/gateway/raw_http.py) that says for each private helper why it needs it: a
  docker-py upgrade that changes them breaks there alone.
"""

import ast
import re
from pathlib import Path

import docker

BASE_DIR = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {".venv", "tests", "bench", "node_modules", "migrations", "var", ".git"}
GATEWAY = "dockerweb/gateway/"

# -- docker-py's private API -------------------------------------------------------------------

RAW_HTTP = "dockerweb/gateway/raw_http.py"
# Modules still calling docker-py's private helpers themselves, for now (none).
TEMPORARILY_ALLOWED: set[str] = set()


def _docker_py_private_names() -> set[str]:
    """Every single-underscore attribute of docker-py's APIClient, its class and an instance
    (`_get`, `_url`, `_stream_helper`, `_read_from_socket`, `_version`, `_auth_configs`…)."""
    names = set(dir(docker.APIClient))
    client = docker.APIClient(base_url="unix:///nonexistent.sock", version="1.41")
    try:
        names |= set(vars(client))
    finally:
        client.close()
    return {name for name in names if name.startswith("_") and not name.startswith("__")}


PRIVATE_NAMES = _docker_py_private_names()


def _project_modules():
    for path in sorted(BASE_DIR.rglob("*.py")):
        relative = path.relative_to(BASE_DIR)
        if not SKIPPED_DIRS & set(relative.parts):
            yield str(relative), ast.parse(path.read_text())


def _private_uses(tree: ast.AST) -> set[str]:
    """docker-py private attributes read on anything but `self`/`cls` (`client._get`,
    `api()._url`, `self.client._post`…)."""
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in PRIVATE_NAMES
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    }


def test_the_private_api_check_sees_what_it_looks_for():
    source = "client._get(client._url('/x'))\napi()._stream_helper(r)\nself.api._post(u)\n"
    assert _private_uses(ast.parse(source)) == {"_get", "_url", "_stream_helper", "_post"}
    assert _private_uses(ast.parse("self._get()\nJob._meta.fields\n")) == set()


def test_docker_py_private_api_is_used_in_raw_http_only():
    users = {module: uses for module, tree in _project_modules() if (uses := _private_uses(tree))}
    assert RAW_HTTP in users  # the check still sees what raw_http does
    assert set(users) - {RAW_HTTP} == TEMPORARILY_ALLOWED, users


# -- Docker's JSON stays in the gateway -------------------------------------------------------

# Reading the engine's JSON outside the gateway, allowed where named:
JSON_READERS_ALLOWED = {
    # judges complete create bodies (the request the gateway will send), never an answer of
    # the engine: the one host-access policy must see the whole configuration
    "dockerweb/host_access/",
}
# (module, function) that may read the inspect document: the Inspect tabs show it as it is
# (a container's goes through gateway.containers.inspect_document, which hides env values).
RAW_READERS = {
    ("images/views/browse.py", "render_detail"),
}
# Functions outside the gateway that still read the engine's JSON keys, for now (none).
KEY_READERS_TEMPORARILY_ALLOWED: set[tuple[str, str]] = set()
# The engine's JSON keys are PascalCase ("Id", "HostConfig", "NetworkSettings", "RepoTags",
# "IPAddress"); the portal's own dicts (forms, requests, settings, channel messages) use
# lower_case keys, headers have hyphens, Django's META is UPPER_CASE.
ENGINE_KEY_RE = re.compile(r"^[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*$")


def _functions(tree: ast.AST):
    """(name of the innermost enclosing function or "", node) for every node."""

    def walk(node, owner):
        for child in ast.iter_child_nodes(node):
            inner = (
                child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else owner
            )
            yield inner, child
            yield from walk(child, inner)

    yield from walk(tree, "")


def _engine_key(node: ast.AST) -> str:
    """The engine JSON key `node` reads (`x["Config"]`, `x.get("Config")`…), or ""."""
    key = None
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        key = node.slice.value
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("get", "pop", "setdefault")
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ):
        key = node.args[0].value
    return key if isinstance(key, str) and ENGINE_KEY_RE.match(key) else ""


def _outside_the_gateway():
    for module, tree in _project_modules():
        if module.startswith(GATEWAY) or any(module.startswith(a) for a in JSON_READERS_ALLOWED):
            continue
        yield module, tree


def test_the_json_checks_see_what_they_look_for():
    tree = ast.parse(
        "def f(doc, item, detail):\n"
        "    doc['HostConfig']; item.get('RepoTags'); doc.get('NetworkSettings', {})\n"
        "    detail.raw\n"
        "    data['name']; request.META.get('REMOTE_ADDR'); response['Content-Type']\n"
    )
    found = {_engine_key(node) for _, node in _functions(tree)} - {""}
    assert found == {"HostConfig", "RepoTags", "NetworkSettings"}
    assert [f for f, n in _functions(tree) if isinstance(n, ast.Attribute) and n.attr == "raw"]


def test_the_inspect_document_leaves_the_gateway_only_for_the_inspect_tabs():
    readers = {
        (module, function)
        for module, tree in _outside_the_gateway()
        for function, node in _functions(tree)
        if isinstance(node, ast.Attribute) and node.attr == "raw"
    }
    assert readers == RAW_READERS


def test_the_engine_json_is_read_inside_the_gateway_only():
    readers = {}
    for module, tree in _outside_the_gateway():
        for function, node in _functions(tree):
            if key := _engine_key(node):
                readers.setdefault((module, function), set()).add(key)
    assert set(readers) == KEY_READERS_TEMPORARILY_ALLOWED, readers
