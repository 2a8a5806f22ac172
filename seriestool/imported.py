"""Which ``distributed`` the series' tests may import: the rules that
``seriestool.pytest_harness`` applies, kept apart so that they can be tested without
importing distributed.
"""

from __future__ import annotations

from pathlib import Path


def import_error(
    version: str,
    location: Path,
    rootpath: Path,
    expected: str | None,
    source_tree: Path | None,
) -> str | None:
    """Why the imported distributed (``version``, package directory ``location``) must
    not be tested, or None.

    By default it must be an installed patched build (a ``+`` local version, ``expected``
    when given), never the source tree ``rootpath`` of the tests. With ``source_tree``
    (``seriestool test PATH`` only) it must come from that tree instead.
    """
    location = location.resolve()
    if expected is not None and version != expected:
        return f"distributed {version} imported, expected {expected}"
    if source_tree is not None:
        if not location.is_relative_to(source_tree.resolve()):
            return f"distributed imported from {location}, not from the source tree {source_tree}"
        return None
    if "+" not in version:
        return f"distributed {version} imported, not a patched build"
    if location.is_relative_to(rootpath.resolve()):
        return f"distributed imported from the source tree ({location})"
    return None


def report_header(version: str, location: Path, source_tree: Path | None) -> str:
    """The line the harness adds to pytest's header: what is tested."""
    if source_tree is not None:
        return (
            f"distributed {version} from {location}: the source tree {source_tree}"
            " as it is on disk (uncommitted changes included), not a built wheel"
        )
    return f"distributed {version} from {location}: an installed build"
