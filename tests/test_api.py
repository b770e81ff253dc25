"""The documented Python API: paths as ``str`` or ``PathLike``, an index that is a
context manager, and the README's Python examples, run as they are written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from searchkit import SearchIndex, ingest, search
from searchkit.errors import SearchkitError
from searchkit.index.rebuild import rebuild

ROOT = Path(__file__).resolve().parent.parent
ONE_RECORD = ROOT / "data" / "pubmed-34572009-page.txt"
SMALL_EXPORT = ROOT / "data" / "mokztk_pubmed-parser__pubmed_result.xml.gz"


class _PathLike:
    """A path object that is not a ``pathlib.Path``."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def __fspath__(self) -> str:
        return str(self._path)


def _open_files_under(folder: Path) -> list[str]:
    """The files under ``folder`` this process holds open (Linux: /proc/self/fd)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


@pytest.mark.slow
def test_index_paths_may_be_str_or_pathlike(tmp_path: Path) -> None:
    made = SearchIndex.create(str(tmp_path / "ix"))
    assert isinstance(made.path, Path)
    report = ingest([str(ONE_RECORD)], made)
    assert report.counts.added == 1
    assert SearchIndex.exists(str(tmp_path / "ix"))
    for given in (str(tmp_path / "ix"), _PathLike(tmp_path / "ix")):
        ix = SearchIndex.open(given)
        assert ix.path == tmp_path / "ix" and len(ix) == 1
        assert len(SearchIndex.open_or_create(given)) == 1
    assert len(SearchIndex.open_or_create(_PathLike(tmp_path / "new"))) == 0
    rebuilt, report = rebuild(str(tmp_path / "ix"))
    assert rebuilt.path == tmp_path / "ix" and report.counts.added == 1


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_index_is_a_context_manager_that_closes_its_files(tmp_path: Path) -> None:
    with SearchIndex.create(tmp_path / "ix") as ix:
        ingest([ONE_RECORD, SMALL_EXPORT], ix)
        assert search(ix, "cancer", limit=3).hits
        assert _open_files_under(tmp_path / "ix")  # the shared searcher's segment
    assert _open_files_under(tmp_path / "ix") == []
    with pytest.raises(SearchkitError, match="closed"):
        search(ix, "cancer")
    ix.close()  # closing twice is harmless
    with SearchIndex.open(tmp_path / "ix") as again:
        assert search(again, "cancer", limit=1).total > 0


def _readme_python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


@pytest.mark.slow
def test_readme_python_examples_run(tmp_path: Path) -> None:
    """Every python block of the README, run as a script in a folder holding a
    ``data`` folder (two of the bundled files, to keep the test fast)."""
    blocks = _readme_python_blocks()
    assert blocks, "the README shows no Python example"
    (tmp_path / "data").mkdir()
    for source in (ONE_RECORD, SMALL_EXPORT):
        shutil.copy(source, tmp_path / "data" / source.name)
    for number, code in enumerate(blocks, 1):
        script = tmp_path / f"readme_{number}.py"
        script.write_text(code, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONWARNINGS": "error::ResourceWarning"},
        )
        assert done.returncode == 0, f"README python block {number}:\n{done.stderr}"
        assert done.stdout.strip(), f"README python block {number} printed nothing"
