"""``docs``: the documentation pages that the series adds or changes, written out."""

from __future__ import annotations

from pathlib import Path

from .project import Project
from .series import write_atomic
from .tree import patched_tree, touched_files

DOCS_SOURCE = "docs/source/"


def write_docs(project: Project, dest: Path) -> list[Path]:
    """Copy each file under ``docs/source/`` that the series adds or changes, from a
    fresh patched tree, to ``dest`` (same relative paths); return the files written.
    Each file is written whole (a temporary file, then a rename).
    """
    written: list[Path] = []
    with patched_tree(project) as tree:
        for name in touched_files(tree):
            if not name.startswith(DOCS_SOURCE):
                continue
            target = dest / name[len(DOCS_SOURCE) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, (tree / name).read_bytes())
            written.append(target)
    return written
