"""``patches/series``: the ordered list of patch files, and the patch files themselves."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .project import Project, SeriesError

# A series line ``upstream-only: NAME.patch`` lists a patch applied to the upstream
# branches only: a change to a file that the sdist does not ship, such as one of
# upstream's own tests that a pull request changes.
UPSTREAM_ONLY = "upstream-only:"
# A comment line ``# PR <n>: <title>`` starts the n-th pull request of the stack.
_PR_LINE = re.compile(r"^# PR (\d+): (\S.*)$")


@dataclass
class Entry:
    name: str
    # Comment and blank lines written directly above this entry; for the first entry,
    # those from its "# PR 1: ..." line on.
    above: list[str] = field(default_factory=list)
    upstream_only: bool = False


@dataclass
class Series:
    header: list[str]
    entries: list[Entry]
    trailer: list[str]

    @property
    def names(self) -> list[str]:
        """Every listed patch, for the sdist or upstream-only"""
        return [e.name for e in self.entries]

    @property
    def sdist_names(self) -> list[str]:
        """The patches applied to the sdist, in order"""
        return [e.name for e in self.entries if not e.upstream_only]


@dataclass
class PullRequest:
    """A pull request of the upstream stack: the entries below its ``# PR`` line."""

    number: int
    title: str
    entries: list[Entry] = field(default_factory=list)


def parse_series(text: str) -> Series:
    header: list[str] = []
    entries: list[Entry] = []
    pending: list[str] = []
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            pending.append(line)
            continue
        upstream_only = stripped.startswith(UPSTREAM_ONLY)
        if upstream_only:
            stripped = stripped[len(UPSTREAM_ONLY) :].strip()
        if not entries:
            first_pr = next(
                (i for i, x in enumerate(pending) if x.startswith("# PR ")), len(pending)
            )
            header, pending = pending[:first_pr], pending[first_pr:]
        entries.append(Entry(stripped, pending, upstream_only))
        pending = []
    if not entries:
        return Series(pending, [], [])
    return Series(header, entries, pending)


def render_series(old: Series, names: list[str]) -> str:
    """``names`` (the sdist patches) as a series file, keeping the old header, trailer,
    comments above kept names, and upstream-only entries after the patch they followed.
    """
    above = {e.name: e.above for e in old.entries}
    follow: dict[str | None, list[Entry]] = {}
    anchor: str | None = None
    for e in old.entries:
        if e.upstream_only:
            follow.setdefault(anchor, []).append(e)
        else:
            anchor = e.name
    lines = list(old.header)

    def upstream_only(after: str | None) -> None:
        for e in follow.pop(after, []):
            lines.extend(e.above)
            lines.append(f"{UPSTREAM_ONLY} {e.name}\n")

    upstream_only(None)
    for name in names:
        lines += above.get(name, [])
        lines.append(name + "\n")
        upstream_only(name)
    for after in list(follow):
        upstream_only(after)
    lines += old.trailer
    return "".join(lines)


def pull_requests(series: Series, where: str) -> list[PullRequest]:
    """The stack of pull requests that ``# PR <n>: <title>`` lines make of the series;
    empty when there is none. ``where`` names the series file in errors.
    """
    prs: list[PullRequest] = []
    for entry in series.entries:
        for line in entry.above:
            text = line.strip()
            m = _PR_LINE.match(text)
            if m:
                if prs and not prs[-1].entries:
                    raise SeriesError(f"{where}: PR {prs[-1].number} lists no patch")
                if int(m.group(1)) != len(prs) + 1:
                    raise SeriesError(f"{where}: '{text}' should be PR {len(prs) + 1}")
                prs.append(PullRequest(len(prs) + 1, m.group(2).strip()))
            elif text.startswith("# PR"):
                raise SeriesError(f"{where}: '{text}' is not '# PR <n>: <title>'")
        if prs:
            prs[-1].entries.append(entry)
    for line in series.header + series.trailer:
        if line.startswith("# PR"):
            raise SeriesError(f"{where}: '{line.strip()}' is followed by no patch")
    if prs and prs[0].entries[0] is not series.entries[0]:
        raise SeriesError(f"{where}: patch {series.entries[0].name} is in no PR")
    return prs


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


def listed_patches(project: Project, *, upstream_only: bool = False) -> list[Path]:
    """The listed patch files for the sdist in order (or, with ``upstream_only``, the
    upstream-only ones), after checking series and directory agree.
    """
    series = read_series(project)
    names = series.names
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
    if upstream_only:
        return [project.patches_dir / e.name for e in series.entries if e.upstream_only]
    return [project.patches_dir / name for name in series.sdist_names]


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
