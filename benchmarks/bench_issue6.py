"""Issue 6 measurements, each a ratio against a baseline in the same process.

1. MEDLINE records wrapped into many continuation lines: the reader before the fix
   (pass its source file, e.g. from ``git show 45fa0c5:searchkit/readers/medline.py``)
   against the current one.
2. The cost of ``SearchIndex.open`` checking every segment, against Whoosh's bare
   ``open_dir`` (what ``open`` did before), on an index of ``data/``.

Usage: python benchmarks/bench_issue6.py OLD_MEDLINE_PY
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import whoosh.index

from searchkit import SearchIndex, ingest
from searchkit.readers.medline import read_medline

ROOT = Path(__file__).resolve().parent.parent


def _load_old_reader(source: Path):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("old_medline", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_medline"] = module
    spec.loader.exec_module(module)
    return module.read_medline


def main() -> None:
    old_read = _load_old_reader(Path(sys.argv[1]))
    tmp = Path(tempfile.mkdtemp())
    line = "      " + "lorem ipsum " * 6 + "\n"
    for mb in (1, 2, 4):
        path = tmp / f"wrapped-{mb}.nbib"
        count = mb * 1024 * 1024 // len(line)
        path.write_text("PMID- 1\nTI  - t\nAB  - start\n" + line * count + "\n", "utf-8")
        times = {}
        for name, reader in (("old", old_read), ("new", read_medline)):
            started = time.perf_counter()
            assert len(list(reader(path))) == 1
            times[name] = time.perf_counter() - started
        print(
            f"wrapped abstract {mb} MB ({count:,} continuation lines): old {times['old']:.2f} s, "
            f"new {times['new']:.2f} s, ratio {times['old'] / times['new']:.0f}x"
        )
    index = tmp / "ix"
    ingest([ROOT / "data"], SearchIndex.create(index))
    for label, opener in (
        ("whoosh open_dir only (before)", lambda: whoosh.index.open_dir(str(index), "MAIN")),
        ("SearchIndex.open, segments checked (after)", lambda: SearchIndex.open(index)),
    ):
        opener()
        started = time.perf_counter()
        for _ in range(50):
            opener()
        print(f"{label}: {(time.perf_counter() - started) / 50 * 1000:.1f} ms per open")


if __name__ == "__main__":
    main()
