"""Static checks of the package's shape, read from the source with ``ast`` (nothing is imported):

- no import cycle among the core modules ``emulator/*.py`` (imports inside ``if TYPE_CHECKING:``
  are ignored, imports inside functions count: a cycle hidden in a function is still a cycle);
- SQL statements appear only in ``storage.py`` files (each vendor's ``storage.py``, migrations
  included, and the core's ``emulator/storage.py``): emulator/vendors/README.md.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

EMULATOR = Path(__file__).resolve().parents[2] / "emulator"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(EMULATOR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The emulator modules ``path`` imports at run time (module level or in a function)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def resolve(node: ast.ImportFrom) -> str:
        if node.level == 0:
            return node.module or ""
        base = package.split(".")
        base = base[:len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            target = resolve(node)
            found.add(target)
            for alias in node.names:  # ``from . import x`` imports the module emulator.x
                found.add(f"{target}.{alias.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in EMULATOR.rglob("*.py")}
    return {name: imported_modules(path, set(files)) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan), as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def core_edges(graph: dict[str, set[str]], core: set[str]) -> dict[str, set[str]]:
    """An edge m -> n between core modules when m imports n directly or through modules outside
    the core (e.g. ``emulator.app`` -> the vendor packages -> ``emulator.context``), so a cycle
    through a vendor package counts too."""
    out = {}
    for m in core:
        reached: set[str] = set()
        todo = list(graph.get(m, ()))
        while todo:
            n = todo.pop()
            if n in reached:
                continue
            reached.add(n)
            if n not in core and n != "emulator":  # the root package is initialised before any of its modules
                todo.extend(graph.get(n, ()))
        out[m] = reached & core
    return out


def core_graph() -> dict[str, set[str]]:
    """The graph among the core's top-level modules ``emulator/*.py``."""
    return core_edges(import_graph(), {module_name(p) for p in EMULATOR.glob("*.py")} - {"emulator"})


def test_the_graph_sees_the_imports_it_must():
    """The walk finds the imports the check relies on (guards the checker itself)."""
    graph = import_graph()
    assert "emulator.storage" in graph["emulator.context"]  # ``from .storage import ...``
    assert "emulator.vendors" in graph["emulator.app"]  # the registry
    assert "emulator.context" not in graph["emulator.vendor"]  # imported only under TYPE_CHECKING
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    through_a_vendor = {"emulator.a": {"emulator.vendors.x"}, "emulator.vendors.x": {"emulator.b"},
                        "emulator.b": {"emulator.a"}}
    assert cycles(core_edges(through_a_vendor, {"emulator.a", "emulator.b"})) == [["emulator.a", "emulator.b"]]


def test_no_import_cycle_among_the_core_modules():
    graph = core_graph()
    assert len(graph) >= 15, sorted(graph)
    found = cycles(graph)
    report = ["  " + " <-> ".join(c) + ": " + "; ".join(f"{m} imports {', '.join(sorted(graph[m] & set(c)))}"
                                                        for m in c) for c in found]
    assert found == [], "import cycles among emulator/*.py:\n" + "\n".join(report)


# -- SQL lives in storage.py files ------------------------------------------------------------------

#: SQL keywords in capitals, as every statement of the project writes them (prose stays out)
SQL = re.compile(r"""(?sx)
    \bSELECT\b .+? \bFROM\b | \bINSERT\s+(OR\s+\w+\s+)?INTO\b | \bUPDATE\s+\S+\s+SET\b | \bDELETE\s+FROM\b
    | \bCREATE\s+(TEMP\s+|UNIQUE\s+)?(TABLE|INDEX|TRIGGER|VIEW)\b | \bDROP\s+TABLE\b | \bALTER\s+TABLE\b
    | \bPRAGMA\s+\w+ | \bWITH\s+RECURSIVE\b""")


def sql_allowed(path: Path) -> bool:
    return path.name == "storage.py"


def sql_outside_storage() -> list[str]:
    found = []
    for path in sorted(EMULATOR.rglob("*.py")):
        if sql_allowed(path):
            continue
        tree = ast.parse(path.read_text(), str(path))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        skip = docstrings
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                match = SQL.search(node.value)
                if match:
                    found.append(f"{path.relative_to(EMULATOR.parent)}:{node.lineno}: {match.group(0)[:60]!r}")
        # f-strings: the literal parts joined
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)
                match = SQL.search(text)
                if match:
                    found.append(f"{path.relative_to(EMULATOR.parent)}:{node.lineno}: {match.group(0)[:60]!r}")
    return sorted(set(found))


def test_the_sql_scan_finds_sql():
    assert SQL.search("SELECT value FROM toy_items WHERE name = ?")
    assert SQL.search("INSERT OR REPLACE INTO core_meta(key) VALUES (?)")
    assert SQL.search("UPDATE jpush_devices SET alias = ?")
    assert SQL.search("DELETE FROM x") and SQL.search("PRAGMA foreign_keys = ON")
    assert not SQL.search("Select the profile from the list")  # prose
    assert not SQL.search("Remove every fault rule (?vendor=)")


def test_sql_only_in_storage_modules():
    found = sql_outside_storage()
    assert found == [], ("SQL outside storage.py (move it into the package's storage.py or emulator/storage.py):\n"
                         + "\n".join(found))


def test_the_server_module_does_not_import_cryptography():
    """The HTTPS proxy's CA, and with it cryptography, is loaded only where the proxy starts (in a
    worker thread, and not at all with the proxy off): importing the server, what every start
    pays before its ready line, must not pull it in."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "import sys, emulator.server, emulator.cli; "
                          "print(sorted(m for m in sys.modules if m.split('.')[0] == 'cryptography'))"],
                         capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"


def test_foreign_key_checks_are_deferred_only_through_the_store_helper():
    """The writer checks a write's foreign keys only when it deferred them through
    ``storage.defer_foreign_keys``: a deferral made any other way would surface at the batch's
    COMMIT and fail every write sharing it."""
    found = []
    for path in sorted(EMULATOR.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"defer_foreign_keys\s*=\s*(ON|1|TRUE|YES)", line, re.I):
                found.append(f"{path.relative_to(EMULATOR.parent)}:{number}")
    assert found == [f"emulator/storage.py:{_line_of('emulator/storage.py', 'PRAGMA defer_foreign_keys = ON')}"]


def _line_of(relative: str, text: str) -> int:
    lines = (EMULATOR.parent / relative).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)
