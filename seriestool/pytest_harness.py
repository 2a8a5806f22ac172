"""pytest plugin that replaces the sdist's root ``conftest.py`` for the series' tests.

The sdist's ``conftest.py`` loads ``distributed.pytest_resourceleaks``, which the sdist
does not ship. ``seriestool test`` runs pytest with ``--noconftest -p
seriestool.pytest_harness``; this module does what that conftest does otherwise
(distributed's fixtures, ``--runslow``, the ``workerstate`` marker) and makes sure the
tests run against the installed patched wheel, never against a source tree; except
with ``SERIESTOOL_SOURCE_TREE`` set (``seriestool test PATH``), when they must run
against that tree (rules in ``seriestool.imported``).
"""

from __future__ import annotations

import os
from pathlib import Path

import distributed
import pytest
from distributed._version import __version__ as distributed_version

# Make all of distributed's fixtures available, as the sdist's conftest.py does.
from distributed.utils_test import *  # noqa: F403

from seriestool.imported import import_error, report_header
from seriestool.project import EXPECT_VERSION_ENV, SOURCE_TREE_ENV


def _source_tree() -> Path | None:
    value = os.environ.get(SOURCE_TREE_ENV)
    return Path(value) if value else None


def _location() -> Path:
    return Path(distributed.__file__).resolve().parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="run slow tests")


def pytest_configure(config: pytest.Config) -> None:
    error = import_error(
        distributed_version,
        _location(),
        config.rootpath,
        os.environ.get(EXPECT_VERSION_ENV),
        _source_tree(),
    )
    if error is not None:
        raise pytest.UsageError(f"seriestool harness: {error}")


def pytest_report_header(config: pytest.Config) -> str:
    return report_header(distributed_version, _location(), _source_tree())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_slow = pytest.mark.skip(reason="need --runslow option to run")
    for item in items:
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)
        if "ws" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.workerstate)
