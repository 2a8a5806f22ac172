"""The examples of README.md's "Use it" run exactly as written, with the patched build.

They run with the interpreter that runs these tests: `python3 -m seriestool test` runs
the tool's tests with `.venv`, where the patched wheel is installed. Elsewhere (a venv
without the patched build) they are skipped.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def use_it_examples() -> list[str]:
    text = README.read_text()
    section = text.split("\n## Use it\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```$", section, flags=re.DOTALL | re.MULTILINE)


def patched_distributed() -> bool:
    try:
        import distributed
    except ImportError:
        return False
    return "+pins." in distributed.__version__


def test_readme_has_three_examples() -> None:
    assert len(use_it_examples()) == 3


@pytest.mark.skipif(not patched_distributed(), reason="needs the patched distributed")
@pytest.mark.parametrize("index", range(3), ids=["p2p-shuffle", "pin-workers", "report"])
def test_readme_example_runs(index: int, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(use_it_examples()[index])
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip()
