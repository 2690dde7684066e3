"""Private names stay inside their package: a module imports ``_name`` from another module
only when both sit in the same package folder (siblings sharing a helper); benchmarks,
examples and other packages use public names only."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = ("learned", "dda", "nmm", "coupling")


def private_imports(path: Path, root: Path = ROOT) -> list[str]:
    """'module: name' for every private name ``path`` imports from a module of ours in another folder."""
    here = ".".join(path.relative_to(root).parts[:-1])
    bad = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level and node.module.split(".")[0] in OURS:
            folder = node.module.rsplit(".", 1)[0] if "." in node.module else node.module
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__") and folder != here:
                    bad.append(f"{node.module}: {alias.name}")
    return bad


def test_no_private_name_crosses_a_package_folder():
    found = {str(p.relative_to(ROOT)): b for pkg in (*OURS, "benchmarks", "docs/examples")
             for p in sorted((ROOT / pkg).rglob("*.py")) if (b := private_imports(p))}
    assert found == {}


def test_the_check_sees_a_private_import_across_folders(tmp_path):
    (tmp_path / "coupling" / "ensemble").mkdir(parents=True)
    f = tmp_path / "coupling" / "ensemble" / "m.py"
    f.write_text("from coupling.case.loader import _KEY\nfrom coupling.ensemble.table import _ok\n")
    assert private_imports(f, tmp_path) == ["coupling.case.loader: _KEY"]
