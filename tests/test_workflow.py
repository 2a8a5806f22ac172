"""import / export / check on a fake project: the Electron-style round trip."""

from __future__ import annotations

import hashlib
from pathlib import Path

from conftest import LINES, SERIES_HEADER, Cli, commit, git

from seriestool.project import Project


def patch_bytes(project: Project) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(project.patches_dir.iterdir())}


def test_import_empty_series_makes_reproducible_base(project: Project, cli: Cli) -> None:
    assert cli("import") == (
        0,
        "seriestool: imported 0 patches into build/work (pristine sdist tagged 'base')\n",
        "",
    )
    work = project.default_worktree
    assert (work / "a.txt").read_text() == LINES
    base = git(work, "rev-parse", "base").strip()
    assert git(work, "rev-parse", "HEAD").strip() == base
    cli("import", "--worktree", "build/other")
    assert git(project.build_dir / "other", "rev-parse", "base").strip() == base


def test_export_writes_named_patches_and_series(with_patches: Project) -> None:
    names = sorted(p.name for p in with_patches.patches_dir.iterdir())
    assert names == ["add-c.patch", "change-a.patch", "series"]
    assert with_patches.series_file.read_text() == SERIES_HEADER + "change-a.patch\nadd-c.patch\n"
    text = (with_patches.patches_dir / "change-a.patch").read_text()
    assert text.startswith(
        "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
    )
    assert "Subject: Change a\n" in text
    assert "index " in text and "-- \n" not in text


def test_export_twice_is_byte_identical(with_patches: Project, cli: Cli) -> None:
    before = patch_bytes(with_patches)
    mtimes = {p.name: p.stat().st_mtime_ns for p in with_patches.patches_dir.iterdir()}
    assert cli("export") == (
        0,
        "seriestool: exported build/work to patches/: nothing changed\n",
        "",
    )
    assert patch_bytes(with_patches) == before
    assert {p.name: p.stat().st_mtime_ns for p in with_patches.patches_dir.iterdir()} == mtimes


def test_import_export_round_trip_changes_nothing(with_patches: Project, cli: Cli) -> None:
    before = patch_bytes(with_patches)
    assert cli("import")[0] == 0
    assert cli("export")[0] == 0
    assert patch_bytes(with_patches) == before
    assert cli("check") == (
        0,
        "seriestool: check passed: 2 patches apply cleanly and re-export byte for byte\n",
        "",
    )


def test_import_is_reproducible(with_patches: Project, cli: Cli) -> None:
    assert cli("import")[0] == 0
    head = git(with_patches.default_worktree, "rev-parse", "HEAD")
    assert cli("import", "--worktree", "build/again")[0] == 0
    assert git(with_patches.build_dir / "again", "rev-parse", "HEAD") == head


def test_export_removes_stale_patches_and_keeps_comments(with_patches: Project, cli: Cli) -> None:
    series = with_patches.series_file
    series.write_text(SERIES_HEADER + "# about a\nchange-a.patch\n# about c\nadd-c.patch\n# end\n")
    work = with_patches.default_worktree
    git(work, "reset", "-q", "--hard", "HEAD~1")
    commit(work, "Add d", {"d.txt": "d\n"})
    rc, out, _ = cli("export")
    assert rc == 0
    assert out == (
        "seriestool: exported build/work to patches/: add-d.patch, series, add-c.patch (removed)\n"
    )
    assert series.read_text() == SERIES_HEADER + "# about a\nchange-a.patch\nadd-d.patch\n# end\n"
    assert not (with_patches.patches_dir / "add-c.patch").exists()


def test_export_refuses_dirty_worktree(with_patches: Project, cli: Cli) -> None:
    (with_patches.default_worktree / "b.txt").write_text("changed\n")
    assert cli("export") == (
        1,
        "",
        "seriestool: error: work tree build/work has uncommitted changes or untracked files:"
        " b.txt\n",
    )


def test_import_refuses_uncommitted_changes(with_patches: Project, cli: Cli) -> None:
    work = with_patches.default_worktree
    (work / "a.txt").write_text("edited\n")
    assert cli("import") == (
        1,
        "",
        "seriestool: error: work tree build/work has uncommitted changes or untracked files:"
        " a.txt\n",
    )
    assert (work / "a.txt").read_text() == "edited\n"


def test_import_refuses_untracked_files(with_patches: Project, cli: Cli) -> None:
    (with_patches.default_worktree / "new.txt").write_text("x\n")
    rc, _, err = cli("import")
    assert (rc, err) == (
        1,
        "seriestool: error: work tree build/work has uncommitted changes or untracked files:"
        " new.txt\n",
    )


def test_import_refuses_unexported_commits(with_patches: Project, cli: Cli) -> None:
    work = with_patches.default_worktree
    commit(work, "More", {"b.txt": "more\n"})
    head = git(work, "rev-parse", "HEAD")
    assert cli("import") == (
        1,
        "",
        "seriestool: error: work tree build/work has commits not exported to patches/;"
        " run export first, or import --force to discard them\n",
    )
    assert git(work, "rev-parse", "HEAD") == head
    assert cli("import", "--force")[0] == 0
    assert git(work, "rev-parse", "HEAD") != head


def test_import_replaces_worktree_when_patches_changed_upstream(
    with_patches: Project, cli: Cli
) -> None:
    # patches/ moved on (e.g. git pull) but the work tree holds nothing new: replace it.
    (with_patches.patches_dir / "add-c.patch").unlink()
    with_patches.series_file.write_text(SERIES_HEADER + "change-a.patch\n")
    assert cli("import")[0] == 0
    assert not (with_patches.default_worktree / "c.txt").exists()


def test_failed_import_leaves_previous_worktree(with_patches: Project, cli: Cli) -> None:
    work = with_patches.default_worktree
    head = git(work, "rev-parse", "HEAD")
    patch = with_patches.patches_dir / "change-a.patch"
    patch.write_text(patch.read_text().replace(" line 9\n", " line nine\n"))
    assert cli("import") == (
        1,
        "",
        "seriestool: error: patch change-a.patch does not apply: a.txt\n",
    )
    assert git(work, "rev-parse", "HEAD") == head
    assert sorted(p.name for p in with_patches.build_dir.iterdir()) == ["cache", "work"]


def test_check_rejects_patch_that_does_not_apply(with_patches: Project, cli: Cli) -> None:
    patch = with_patches.patches_dir / "change-a.patch"
    patch.write_text(patch.read_text().replace("-line 10\n", "-line 100\n"))
    rc, _, err = cli("check")
    assert (rc, err) == (1, "seriestool: error: patch change-a.patch does not apply: a.txt\n")


def test_check_rejects_missing_patch(project: Project, cli: Cli) -> None:
    project.series_file.write_text(SERIES_HEADER + "ghost.patch\n")
    assert cli("check") == (
        1,
        "",
        "seriestool: error: patch ghost.patch is listed in patches/series but does not exist\n",
    )


def test_check_rejects_unlisted_patch(with_patches: Project, cli: Cli) -> None:
    (with_patches.patches_dir / "stray.patch").write_text("")
    assert cli("check") == (
        1,
        "",
        "seriestool: error: patch stray.patch is in patches/ but not listed in patches/series\n",
    )


def test_check_rejects_duplicate_listing(with_patches: Project, cli: Cli) -> None:
    with_patches.series_file.write_text("change-a.patch\nadd-c.patch\nchange-a.patch\n")
    assert cli("check")[2] == "seriestool: error: patches/series lists change-a.patch twice\n"


def test_check_rejects_offset(with_patches: Project, cli: Cli) -> None:
    patch = with_patches.patches_dir / "change-a.patch"
    text = patch.read_text()
    assert "@@ -7,7 +7,7 @@" in text
    patch.write_text(text.replace("@@ -7,7 +7,7 @@", "@@ -9,7 +9,7 @@"))
    assert cli("import", "--force")[0] == 0  # git itself accepts the offset
    assert cli("check") == (
        1,
        "",
        "seriestool: error: patch change-a.patch applies only with an offset:"
        " a.txt (hunk written for line 9 applies at line 7)\n",
    )


def test_check_rejects_unnormalised_patch(with_patches: Project, cli: Cli) -> None:
    patch = with_patches.patches_dir / "add-c.patch"
    patch.write_text(patch.read_text().replace("Subject: Add c\n", "Subject: Add c\n\nWhy.\n"))
    assert cli("check")[2] == (
        "seriestool: error: patch add-c.patch differs from its export after a fresh import;"
        " run import and export\n"
    )


def test_check_rejects_patch_named_unlike_its_subject(with_patches: Project, cli: Cli) -> None:
    (with_patches.patches_dir / "add-c.patch").rename(with_patches.patches_dir / "c.patch")
    with_patches.series_file.write_text(SERIES_HEADER + "change-a.patch\nc.patch\n")
    assert cli("check")[2] == (
        "seriestool: error: patch c.patch would be exported as add-c.patch"
        " (names come from the commit subject); run import and export\n"
    )


def test_check_rejects_unnormalised_series(with_patches: Project, cli: Cli) -> None:
    with_patches.series_file.write_text(SERIES_HEADER + "change-a.patch\nadd-c.patch   \n")
    assert cli("check")[2] == "seriestool: error: patches/series differs from its export\n"


def test_sdist_hash_mismatch(project: Project, cli: Cli) -> None:
    cached = project.cache_dir / "pkg-1.0.tar.gz"
    cached.write_bytes(b"tampered")
    actual = hashlib.sha256(b"tampered").hexdigest()
    assert cli("import") == (
        1,
        "",
        f"seriestool: error: sdist build/cache/pkg-1.0.tar.gz has sha256 {actual},"
        f" expected {project.base.sha256} (base.toml); the file was removed\n",
    )
    assert not cached.exists()
    assert not project.default_worktree.exists()


def test_empty_worktree_dir_is_replaced(project: Project, cli: Cli) -> None:
    project.default_worktree.mkdir()
    assert cli("import")[0] == 0


def test_foreign_dir_is_not_replaced(project: Project, cli: Cli) -> None:
    project.default_worktree.mkdir()
    (project.default_worktree / "notes.txt").write_text("mine")
    assert cli("import")[2] == (
        "seriestool: error: build/work exists and is not a seriestool work tree; move it away\n"
    )


def test_export_without_worktree(project: Project, cli: Cli) -> None:
    assert cli("export")[2] == (
        "seriestool: error: work tree build/work does not exist; run import first\n"
    )


def test_bad_arguments_give_one_line(cli: Cli) -> None:
    rc, out, err = cli("frobnicate")
    assert rc == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("seriestool: error: argument COMMAND: invalid")


def test_bad_base_toml(project: Project, cli: Cli) -> None:
    (project.root / "base.toml").write_text('package = "pkg"\n')
    assert cli("check")[2] == (
        "seriestool: error: base.toml: key 'version' must be a non-empty string\n"
    )


def test_worktree_relative_paths(with_patches: Project, cli: Cli, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    assert cli("import", "--worktree", str(elsewhere))[0] == 0
    assert (elsewhere / "c.txt").read_text() == "new\n"
