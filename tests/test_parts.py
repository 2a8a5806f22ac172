"""Smaller pieces: series file, build label, sdist download, upstream branch."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from conftest import FILES, LINES, Cli, commit, git, make_sdist

from seriestool import sdist
from seriestool.build import wheel_version
from seriestool.project import Project, SeriesError
from seriestool.series import build_label, parse_series, render_series
from seriestool.tree import PR_TITLE_PREFIX, PR_WARNING, check, find_offset


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
    branch = "worker-pinning/01-worker-pinning"
    assert out == (
        f"seriestool: 1 branches in {checkout}, on top of {start[:12]}:\n"
        f"  {branch}: 2 commits; PR 1: worker pinning\n"
    )
    assert git(checkout, "log", "--format=%s", f"main..{branch}").splitlines() == [
        "Add c",
        "Change a",
    ]


def stack(project: Project, cli: Cli) -> None:
    """Two pull requests: 'Change a' and 'Add c'; the first says when it can go."""
    work = project.default_worktree
    git(work, "reset", "-q", "--hard", "base")
    commit(
        work,
        "Change a\n\nBecause.\n\nStill needed while a.txt says 10.",
        {"a.txt": LINES.replace("line 10\n", "line ten\n")},
    )
    commit(work, "Add c", {"c.txt": "new\n", "pkg/tests/test_c.py": "def test_c():\n    pass\n"})
    assert cli("export")[0] == 0
    series = project.series_file.read_text()
    project.series_file.write_text(
        series.replace("change-a.patch", "# PR 1: Change a\nchange-a.patch").replace(
            "add-c.patch", "# PR 2: Add c\nadd-c.patch"
        )
    )
    for n, title in ((1, "Change a"), (2, "Add c")):
        (project.pull_requests_dir / f"0{n}-x.md").parent.mkdir(exist_ok=True)
        (project.pull_requests_dir / f"0{n}-x.md").write_text(
            f"# {PR_TITLE_PREFIX}{title}\n\n{PR_WARNING}\nText.\n"
        )


def test_upstream_stacks_one_branch_per_pull_request(
    with_patches: Project, cli: Cli, checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack(with_patches, cli)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Jane Doe")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "jane@example.com")
    rc, out, err = cli("upstream", str(checkout), "--prefix", "pins")
    assert (rc, err) == (0, "")
    assert out.splitlines()[1:] == [
        "  pins/01-change-a: 1 commits; PR 1: Change a",
        "  pins/02-add-c: 1 commits; PR 2: Add c",
    ]
    assert git(checkout, "log", "--format=%s", "main..pins/01-change-a").splitlines() == [
        "Change a"
    ]
    assert git(checkout, "log", "--format=%s", "pins/01-change-a..pins/02-add-c").split("\n")[
        0
    ] == ("Add c")
    # The note for this repository stays out of upstream's history
    message = git(checkout, "log", "-1", "--format=%B", "pins/01-change-a")
    assert message.rstrip("\n") == "Change a\n\nBecause."
    # The user's identity, not the patch's
    assert git(checkout, "log", "-1", "--format=%an <%ae>", "pins/02-add-c") == (
        "Jane Doe <jane@example.com>\n"
    )


def test_upstream_without_identity_fails_and_restores_checkout(
    with_patches: Project,
    cli: Cli,
    checkout: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    stack(with_patches, cli)
    home = tmp_path / "home"
    home.mkdir()
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "EMAIL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "")
    head = git(checkout, "rev-parse", "HEAD")
    rc, _, err = cli("upstream", str(checkout))
    assert rc == 1
    assert err.startswith("seriestool: error: git commit --quiet --amend") and "\n" not in err[:-1]
    assert git(checkout, "rev-parse", "HEAD") == head
    assert git(checkout, "branch", "--list", "worker-pinning/*") == ""
    assert git(checkout, "status", "--porcelain") == ""


def test_upstream_failure_restores_checkout(
    with_patches: Project, cli: Cli, checkout: Path
) -> None:
    commit(checkout, "Diverge", {"c.txt": "already here\n"})
    head = git(checkout, "rev-parse", "HEAD")
    assert cli("upstream", str(checkout), "--prefix", "pins") == (
        1,
        "",
        f"seriestool: error: patch add-c.patch does not apply to {checkout}: c.txt\n",
    )
    assert git(checkout, "rev-parse", "HEAD") == head
    assert git(checkout, "branch", "--show-current") == "main\n"
    assert git(checkout, "branch", "--list", "pins*") == ""
    assert git(checkout, "status", "--porcelain") == ""


def test_upstream_three_way_merges_around_upstream_changes(
    with_patches: Project, cli: Cli, checkout: Path
) -> None:
    # Upstream moved on near the patched line: a plain apply fails, -3 merges it.
    commit(checkout, "Nearby", {"a.txt": FILES["a.txt"].replace("line 7\n", "line seven\n")})
    assert cli("upstream", str(checkout))[0] == 0
    assert "line seven\nline 8\nline 9\nline ten\n" in (checkout / "a.txt").read_text()


def upstream_only_patch(checkout: Path, tmp_path: Path, name: str, text: str) -> bytes:
    """A patch of the checkout that writes ``name``, as git format-patch writes it"""
    scratch = tmp_path / "scratch"
    git(tmp_path, "clone", "-q", str(checkout), str(scratch))
    commit(scratch, f"Change {name}", {name: text})
    return git(scratch, "format-patch", "-1", "--stdout", "--keep-subject").encode()


def test_upstream_only_patch_goes_to_its_pull_request_only(
    with_patches: Project, cli: Cli, checkout: Path, tmp_path: Path
) -> None:
    stack(with_patches, cli)
    commit(checkout, "Upstream test", {"tests/test_a.py": "def test_a():\n    pass\n"})
    patch = upstream_only_patch(checkout, tmp_path, "tests/test_a.py", "changed\n")
    (with_patches.patches_dir / "change-test-a.patch").write_bytes(patch)
    series = with_patches.series_file.read_text()
    with_patches.series_file.write_text(
        series.replace("add-c.patch\n", "add-c.patch\nupstream-only: change-test-a.patch\n")
    )
    # The sdist never sees it; the series and the patch survive an import and export
    check(with_patches)
    assert cli("import", "--force")[0] == 0
    assert cli("export")[0] == 0
    assert "upstream-only: change-test-a.patch\n" in with_patches.series_file.read_text()
    assert (with_patches.patches_dir / "change-test-a.patch").read_bytes() == patch

    assert cli("upstream", str(checkout))[0] == 0
    assert git(checkout, "log", "--format=%s", "main..worker-pinning/02-add-c").splitlines() == [
        "Change tests/test_a.py",
        "Add c",
        "Change a",
    ]


def test_check_rejects_upstream_only_patch_of_a_file_of_the_sdist(
    with_patches: Project, cli: Cli, checkout: Path, tmp_path: Path
) -> None:
    patch = upstream_only_patch(checkout, tmp_path, "b.txt", "changed\n")
    (with_patches.patches_dir / "change-b.patch").write_bytes(patch)
    with_patches.series_file.write_text(
        with_patches.series_file.read_text() + "upstream-only: change-b.patch\n"
    )
    assert cli("check")[2] == (
        "seriestool: error: upstream-only patch change-b.patch changes b.txt, which the"
        " sdist has; make it a patch of the series\n"
    )


@pytest.mark.parametrize(
    "series,error",
    [
        ("# PR 1: A\nchange-a.patch\n# PR 3: B\nadd-c.patch\n", "'# PR 3: B' should be PR 2"),
        ("change-a.patch\n# PR 1: B\nadd-c.patch\n", "patch change-a.patch is in no PR"),
        ("# PR 1: A\n# PR 2: B\nchange-a.patch\nadd-c.patch\n", "PR 1 lists no patch"),
        ("# PR 1: A\nchange-a.patch\nadd-c.patch\n# PR 2: B\n", "'# PR 2: B' is followed"),
        ("# PR one\nchange-a.patch\nadd-c.patch\n", "'# PR one' is not '# PR <n>: <title>'"),
    ],
)
def test_check_rejects_malformed_pull_requests(
    with_patches: Project, cli: Cli, series: str, error: str
) -> None:
    with_patches.series_file.write_text(series)
    rc, _, err = cli("check")
    assert rc == 1
    assert err.startswith("seriestool: error: patches/series: " + error), err


def test_check_requires_a_description_per_pull_request(with_patches: Project, cli: Cli) -> None:
    stack(with_patches, cli)
    (with_patches.pull_requests_dir / "02-x.md").unlink()
    assert cli("check")[2] == (
        "seriestool: error: PR 2 has no description pull-requests/02-*.md; it needs one\n"
    )


@pytest.mark.parametrize(
    "text,error",
    [
        ("# Add c\n", "must start with the line '# [unsupervised AI] Add c'"),
        (
            f"# {PR_TITLE_PREFIX}Add c\n\nText.\n",
            "must go on with upstream's warning for AI-written PRs",
        ),
    ],
)
def test_check_requires_upstream_policy_in_descriptions(
    with_patches: Project, cli: Cli, text: str, error: str
) -> None:
    stack(with_patches, cli)
    (with_patches.pull_requests_dir / "02-x.md").write_text(text)
    _, _, err = cli("check")
    assert err == f"seriestool: error: pull-requests/02-x.md {error}" + (
        " (see seriestool.tree.PR_WARNING)\n" if "warning" in error else "\n"
    )


def test_upstream_refuses_dirty_checkout(with_patches: Project, cli: Cli, checkout: Path) -> None:
    (checkout / "b.txt").write_text("local edit\n")
    assert cli("upstream", str(checkout))[2] == (
        f"seriestool: error: checkout {checkout} has uncommitted changes or untracked files:"
        " b.txt\n"
    )


def test_upstream_refuses_existing_branch(with_patches: Project, cli: Cli, checkout: Path) -> None:
    git(checkout, "branch", "worker-pinning/01-worker-pinning")
    assert cli("upstream", str(checkout))[2] == (
        f"seriestool: error: branch worker-pinning/01-worker-pinning already exists in {checkout}\n"
    )
