"""The flow reads one way and each third-party library sits behind one module (checked by AST)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "detr_watch"

# library -> the only places (module paths relative to the package) allowed to import it
ALLOWED = {
    "rich": ("render/",),
    "plotext": ("render/plot.py",),
    "watchdog": ("watch.py",),
    "matplotlib": ("figure.py",),
    "pyarrow": ("export.py",),
}
# modules that must need nothing but the standard library and numpy (orjson is an optional speed-up)
CORE_THIRD_PARTY = {"numpy", "orjson"}
CORE = (
    "records.py",
    "store.py",
    "tail.py",
    "formats/",
    "analysis.py",
    "roles.py",
    "summary.py",
    "pipeline.py",
    "text.py",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules() -> list[tuple[str, set[str]]]:
    return [(p.relative_to(PACKAGE).as_posix(), _imports(p)) for p in sorted(PACKAGE.rglob("*.py"))]


def test_each_library_is_imported_in_one_place() -> None:
    offenders = [
        (rel, lib)
        for rel, names in _modules()
        for lib, places in ALLOWED.items()
        if lib in names and not rel.startswith(places)
    ]
    assert not offenders, offenders


def test_core_modules_need_only_stdlib_and_numpy() -> None:
    stdlib = set(sys.stdlib_module_names)
    offenders = [
        (rel, sorted(names - stdlib - CORE_THIRD_PARTY - {"detr_watch", "__future__"}))
        for rel, names in _modules()
        if rel.startswith(CORE) and names - stdlib - CORE_THIRD_PARTY - {"detr_watch", "__future__"}
    ]
    assert not offenders, offenders


def test_core_modules_do_not_reach_downstream() -> None:
    """Parsing, tailing and storage never import the view, the app or the commands."""
    downstream = (
        "detr_watch.render",
        "detr_watch.app",
        "detr_watch.cli",
        "detr_watch.commands",
        "detr_watch.ingest",
    )
    offenders = []
    for p in sorted(PACKAGE.rglob("*.py")):
        rel = p.relative_to(PACKAGE).as_posix()
        if not rel.startswith(CORE):
            continue
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(downstream):
                offenders.append((rel, node.module))
    assert not offenders, offenders
