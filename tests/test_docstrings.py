"""Docstring coverage of public functions, classes and methods, per package (≥ 90 %).

Public: a module-level function or class, or a method of a public class, whose name does
not start with an underscore (dunder methods are not counted), in a module whose name does
not start with an underscore (``__init__.py`` counts). Nested functions are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: the four import packages, and the continuum solver packages inside coupling/ on their own
PACKAGES = ("learned", "dda", "nmm", "coupling", "coupling/solvers")
THRESHOLD = 0.90


def public_definitions(path: Path) -> list[tuple[str, bool]]:
    """(qualified name, has a docstring) for every public function, class and method of a file."""
    tree = ast.parse(path.read_text(), str(path))
    out: list[tuple[str, bool]] = []
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    for node in tree.body:
        if isinstance(node, defs) and not node.name.startswith("_"):
            out.append((node.name, ast.get_docstring(node) is not None))
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, defs) and not item.name.startswith("_"):
                        out.append((f"{node.name}.{item.name}", ast.get_docstring(item) is not None))
    return out


def coverage(package: str) -> tuple[float, list[str]]:
    """(documented fraction, undocumented qualified names) of one package."""
    total, missing = 0, []
    for path in sorted((ROOT / package).rglob("*.py")):
        if path.name.startswith("_") and path.name != "__init__.py":
            continue
        for name, documented in public_definitions(path):
            total += 1
            if not documented:
                missing.append(f"{path.relative_to(ROOT)}:{name}")
    return (1.0 - len(missing) / total if total else 1.0), missing


@pytest.mark.parametrize("package", PACKAGES)
def test_public_definitions_have_docstrings(package):
    fraction, missing = coverage(package)
    assert fraction >= THRESHOLD, f"{package}: {fraction:.0%} documented; missing: {missing}"


def test_the_counter_sees_a_missing_docstring(tmp_path):
    (tmp_path / "m.py").write_text('def f():\n    """Doc."""\n\n\ndef g():\n    pass\n\n\nclass C:\n    def h(self):\n        pass\n')
    assert public_definitions(tmp_path / "m.py") == [("f", True), ("g", False), ("C", False), ("C.h", False)]


if __name__ == "__main__":  # a report: python tests/test_docstrings.py
    for p in PACKAGES:
        f, m = coverage(p)
        print(f"{p:10s} {f:6.1%}  ({len(m)} missing)")
