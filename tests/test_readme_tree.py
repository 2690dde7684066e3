"""The README's architecture tree matches the code.

Every folder and file the tree names exists where the tree puts it (``*`` names are globs
and must match at least one file), every ``*.py`` its descriptions name exists in that
folder, and every import package of ours (a folder with ``__init__.py``) is in the tree.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("learned", "dda", "nmm", "coupling")


def readme_tree(text: str) -> list[tuple[str, list[str]]]:
    """(path, [file names named in its description]) for every entry of the first code block
    after '## Architecture'; indentation of two spaces a level nests a line under the last
    folder above it. Several leading names on one line ('cases/  docs/') are several entries."""
    block = text.split("## Architecture", 1)[1].split("```", 2)[1]
    entries: list[tuple[str, list[str]]] = []
    stack: list[str] = []
    for line in block.splitlines()[1:]:
        if not line.strip():
            continue
        level = (len(line) - len(line.lstrip())) // 2
        stack = stack[:level]
        words = line.split()
        names = []
        while words and re.fullmatch(r"[\w*.]+/|[\w*]+\.py", words[0]):
            names.append(words.pop(0))
        described = re.findall(r"[\w*]+\.py", " ".join(words))
        parent = "".join(stack)
        for name in names:
            entries.append((parent + name, described if name.endswith("/") else []))
        if len(names) == 1 and names[0].endswith("/"):
            stack.append(names[0])
    return entries


def check_tree(text: str, root: Path) -> list[str]:
    """What the tree in ``text`` gets wrong about the files under ``root``."""
    problems = []
    entries = readme_tree(text)
    for path, described in entries:
        if not list(root.glob(path.rstrip("/"))):
            problems.append(f"{path} named in the tree does not exist")
        for name in described:
            if not list((root / path).glob(name)):
                problems.append(f"{path}{name} named in the tree does not exist")
    folders = {p for p, _ in entries if p.endswith("/")}
    for pkg in PACKAGES:
        for init in sorted((root / pkg).rglob("__init__.py")):
            folder = init.parent.relative_to(root).as_posix() + "/"
            if folder not in folders:
                problems.append(f"package {folder} is missing from the tree")
    return problems


def test_readme_tree_matches_the_code():
    assert check_tree((ROOT / "README.md").read_text(), ROOT) == []


def test_the_tree_check_sees_a_missing_and_a_stale_entry(tmp_path):
    for d in ("learned", "dda", "nmm", "coupling/solvers/fem", "coupling/extra"):
        (tmp_path / d).mkdir(parents=True)
        (tmp_path / d / "__init__.py").write_text("")
    (tmp_path / "learned" / "law.py").write_text("")
    text = ("## Architecture\n\n```\nlearned/   laws (law.py, gone.py)\ndda/  x\nnmm/  y\ncoupling/  app\n"
            "  solvers/  s\n    fem/   f\n  old/   removed folder\n```\n")
    problems = check_tree(text, tmp_path)
    assert sorted(problems) == sorted(["coupling/old/ named in the tree does not exist",
                                       "learned/gone.py named in the tree does not exist",
                                       "package coupling/extra/ is missing from the tree"])
