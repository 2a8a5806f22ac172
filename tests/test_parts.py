"""Smaller pieces: series file, build label, sdist download, upstream branch."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from conftest import FILES, Cli, commit, git, make_sdist

from seriestool import sdist
from seriestool.build import wheel_version
from seriestool.project import Project, SeriesError
from seriestool.series import build_label, parse_series, render_series
from seriestool.tree import find_offset


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment\n",
        "a.patch\nb.patch\n",
        "# head\n\n# about a\na.patch\n\n# about b\nb.patch\n# tail\n",
        "a.patch",  # no final newline: rendered with one, so check reports a difference
    ],
)
def test_series_round_trip(text: str) -> None:
    series = parse_series(text)
    rendered = render_series(series, series.names)
    assert rendered == (text if not text or text.endswith("\n") else text + "\n")


def test_series_render_keeps_comments_of_kept_patches() -> None:
    series = parse_series("# head\n# about a\na.patch\n# about b\nb.patch\n# tail\n")
    assert series.header == ["# head\n", "# about a\n"]
    assert render_series(series, ["c.patch", "b.patch"]) == (
        "# head\n# about a\nc.patch\n# about b\nb.patch\n# tail\n"
    )
    assert render_series(parse_series("# head\n"), ["a.patch"]) == "# head\na.patch\n"


def test_build_label_is_stable_and_tracks_content() -> None:
    patches = [("a.patch", b"one"), ("b.patch", b"two")]
    label = build_label(patches)
    assert label == build_label(list(patches))
    assert label.startswith("pins.") and len(label) == len("pins.") + 10
    assert build_label([("a.patch", b"one"), ("b.patch", b"two!")]) != label
    assert build_label(list(reversed(patches))) != label


def test_wheel_version_ignores_series_comments(with_patches: Project) -> None:
    version = wheel_version(with_patches)
    assert version.startswith("1.0+pins.")
    text = with_patches.series_file.read_text()
    with_patches.series_file.write_text("# a new comment\n" + text)
    assert wheel_version(with_patches) == version


def test_find_offset_ignores_reshaped_hunks() -> None:
    a = b"diff --git a/x b/x\n@@ -5,7 +5,7 @@\n"
    assert find_offset(a, a) is None
    assert find_offset(a, b"diff --git a/x b/x\n@@ -6,7 +6,7 @@\n") == (
        "x (hunk written for line 5 applies at line 6)"
    )
    # A hunk of another size is a different patch, not an offset: the byte check reports it.
    assert find_offset(a, b"diff --git a/x b/x\n@@ -6,8 +6,8 @@\n") is None


def _fake_pip(monkeypatch: pytest.MonkeyPatch, source: Path) -> None:
    def command(project: Project, dest: Path) -> list[str]:
        code = f"import shutil; shutil.copy({str(source)!r}, {str(dest)!r})"
        return [sys.executable, "-c", code]

    monkeypatch.setattr(sdist, "pip_download_command", command)


def test_download_when_not_cached(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cached = project.cache_dir / "pkg-1.0.tar.gz"
    source = tmp_path / "pkg-1.0.tar.gz"
    shutil.move(cached, source)
    _fake_pip(monkeypatch, source)
    assert sdist.fetch_sdist(project) == cached
    assert cached.read_bytes() == source.read_bytes()
    assert [p.name for p in project.cache_dir.iterdir()] == ["pkg-1.0.tar.gz"]


def test_downloaded_sdist_with_wrong_hash_is_not_cached(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (project.cache_dir / "pkg-1.0.tar.gz").unlink()
    source = tmp_path / "pkg-1.0.tar.gz"
    make_sdist(source, {"other.txt": "x\n"})
    _fake_pip(monkeypatch, source)
    with pytest.raises(
        SeriesError, match=r"^sdist .*pkg-1.0.tar.gz has sha256 [0-9a-f]{64}, expected"
    ):
        sdist.fetch_sdist(project)
    assert list(project.cache_dir.iterdir()) == []


def test_failed_download_names_the_requirement(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project.cache_dir / "pkg-1.0.tar.gz").unlink()
    monkeypatch.setattr(
        sdist,
        "pip_download_command",
        lambda p, d: [
            sys.executable,
            "-c",
            "import sys; sys.exit('ERROR: No matching distribution')",
        ],
    )
    with pytest.raises(SeriesError) as e:
        sdist.fetch_sdist(project)
    assert str(e.value) == "pip download pkg==1.0 failed: ERROR: No matching distribution"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A git checkout standing in for dask/distributed (same files as the fake sdist)."""
    repo = tmp_path / "upstream"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "Upstream", dict(FILES))
    return repo


def test_upstream_creates_branch_with_one_commit_per_patch(
    with_patches: Project, cli: Cli, checkout: Path
) -> None:
    start = git(checkout, "rev-parse", "HEAD").strip()
    rc, out, err = cli("upstream", str(checkout))
    assert (rc, err) == (0, "")
    assert (
        out
        == f"seriestool: branch worker-pinning in {checkout}: 2 commits on top of {start[:12]}\n"
    )
    assert git(checkout, "log", "--format=%s", "main..worker-pinning").splitlines() == [
        "Add c",
        "Change a",
    ]
    assert git(checkout, "log", "-1", "--format=%an", "worker-pinning") == "Dev\n"


def test_upstream_failure_restores_checkout(
    with_patches: Project, cli: Cli, checkout: Path
) -> None:
    commit(checkout, "Diverge", {"c.txt": "already here\n"})
    head = git(checkout, "rev-parse", "HEAD")
    assert cli("upstream", str(checkout), "--branch", "pins") == (
        1,
        "",
        f"seriestool: error: patch add-c.patch does not apply to {checkout}: c.txt\n",
    )
    assert git(checkout, "rev-parse", "HEAD") == head
    assert git(checkout, "branch", "--show-current") == "main\n"
    assert git(checkout, "branch", "--list", "pins") == ""
    assert git(checkout, "status", "--porcelain") == ""


def test_upstream_three_way_merges_around_upstream_changes(
    with_patches: Project, cli: Cli, checkout: Path
) -> None:
    # Upstream moved on near the patched line: a plain apply fails, -3 merges it.
    commit(checkout, "Nearby", {"a.txt": FILES["a.txt"].replace("line 7\n", "line seven\n")})
    assert cli("upstream", str(checkout))[0] == 0
    assert "line seven\nline 8\nline 9\nline ten\n" in (checkout / "a.txt").read_text()


def test_upstream_refuses_dirty_checkout(with_patches: Project, cli: Cli, checkout: Path) -> None:
    (checkout / "b.txt").write_text("local edit\n")
    assert cli("upstream", str(checkout))[2] == (
        f"seriestool: error: checkout {checkout} has uncommitted changes or untracked files:"
        " b.txt\n"
    )


def test_upstream_refuses_existing_branch(with_patches: Project, cli: Cli, checkout: Path) -> None:
    git(checkout, "branch", "worker-pinning")
    assert cli("upstream", str(checkout))[2] == (
        f"seriestool: error: branch worker-pinning already exists in {checkout}\n"
    )
