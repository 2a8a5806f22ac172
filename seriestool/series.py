"""``patches/series``: the ordered list of patch files, and the patch files themselves."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .project import Project, SeriesError


@dataclass
class Entry:
    name: str
    # Comment and blank lines written directly above this entry (not for the first).
    above: list[str] = field(default_factory=list)


@dataclass
class Series:
    header: list[str]
    entries: list[Entry]
    trailer: list[str]

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]


def parse_series(text: str) -> Series:
    header: list[str] = []
    entries: list[Entry] = []
    pending: list[str] = []
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            pending.append(line)
            continue
        if not entries:
            header, pending = pending, []
        entries.append(Entry(stripped, pending))
        pending = []
    if not entries:
        return Series(pending, [], [])
    return Series(header, entries, pending)


def render_series(old: Series, names: list[str]) -> str:
    """``names`` as a series file, keeping the old header, trailer and comments above kept names."""
    above = {e.name: e.above for e in old.entries}
    lines = list(old.header)
    for name in names:
        lines += above.get(name, [])
        lines.append(name + "\n")
    lines += old.trailer
    return "".join(lines)


def read_series(project: Project) -> Series:
    try:
        text = project.series_file.read_text()
    except FileNotFoundError:
        raise SeriesError(f"{project.rel(project.series_file)} does not exist") from None
    series = parse_series(text)
    seen: set[str] = set()
    for name in series.names:
        if "/" in name or not name.endswith(".patch"):
            raise SeriesError(
                f"{project.rel(project.series_file)} lists '{name}',"
                " which is not a *.patch file name in patches/"
            )
        if name in seen:
            raise SeriesError(f"{project.rel(project.series_file)} lists {name} twice")
        seen.add(name)
    return series


def listed_patches(project: Project) -> list[Path]:
    """The listed patch files in order, after checking series and directory agree."""
    names = read_series(project).names
    for name in names:
        if not (project.patches_dir / name).is_file():
            raise SeriesError(
                f"patch {name} is listed in {project.rel(project.series_file)} but does not exist"
            )
    listed = set(names)
    for path in sorted(project.patches_dir.glob("*.patch")):
        if path.name not in listed:
            raise SeriesError(
                f"patch {path.name} is in {project.rel(project.patches_dir)}/"
                f" but not listed in {project.rel(project.series_file)}"
            )
    return [project.patches_dir / name for name in names]


def series_digest(patches: list[tuple[str, bytes]]) -> str:
    """sha256 over the ordered patch names and contents (comments in series do not count)."""
    h = hashlib.sha256()
    for name, data in patches:
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def read_patches(paths: list[Path]) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in paths]


def build_label(patches: list[tuple[str, bytes]]) -> str:
    """PEP 440 local label for a build of this series, e.g. ``pins.3f9a0c12de``."""
    digits = series_digest(patches)[:10]
    # PEP 440 normalises an all-digit segment as an integer (drops leading zeros);
    # do the same so the label is exactly what ends up in the wheel's name.
    if digits.isdigit():
        digits = str(int(digits))
    return f"pins.{digits}"


def write_atomic(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` via a temp file and rename; False when already equal."""
    if path.exists() and path.read_bytes() == data:
        return False
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        Path(tmp).chmod(0o644)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
