"""pytest plugin that replaces the sdist's root ``conftest.py`` for the series' tests.

The sdist's ``conftest.py`` loads ``distributed.pytest_resourceleaks``, which the sdist
does not ship. ``seriestool test`` runs pytest with ``--noconftest -p
seriestool.pytest_harness``; this module does what that conftest does otherwise
(distributed's fixtures, ``--runslow``, the ``workerstate`` marker) and makes sure the
tests run against the installed patched wheel, never against a source tree.
"""

from __future__ import annotations

import os
from pathlib import Path

import distributed
import pytest
from distributed._version import __version__ as distributed_version

# Make all of distributed's fixtures available, as the sdist's conftest.py does.
from distributed.utils_test import *  # noqa: F403

from seriestool.project import EXPECT_VERSION_ENV


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="run slow tests")


def pytest_configure(config: pytest.Config) -> None:
    version = distributed_version
    expected = os.environ.get(EXPECT_VERSION_ENV)
    if expected is not None and version != expected:
        raise pytest.UsageError(
            f"seriestool harness: distributed {version} imported, expected {expected}"
        )
    if "+" not in version:
        raise pytest.UsageError(
            f"seriestool harness: distributed {version} imported, not a patched build"
        )
    location = Path(distributed.__file__).resolve()
    if location.is_relative_to(config.rootpath.resolve()):
        raise pytest.UsageError(
            f"seriestool harness: distributed imported from the source tree ({location})"
        )


def pytest_report_header(config: pytest.Config) -> str:
    return f"distributed {distributed_version} from {Path(distributed.__file__).parent}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_slow = pytest.mark.skip(reason="need --runslow option to run")
    for item in items:
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)
        if "ws" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.workerstate)
