"""Hostile input: reading a MEDLINE record whose abstract is wrapped into tens of
thousands of continuation lines (the reader must stay linear in the input).

    python benchmarks/hostile_input.py [--mb 1,2,4]

Times ``searchkit.readers.medline.read_medline`` (CPU seconds of this process, which
move less than wall time on a shared machine) on one record whose abstract is ``--mb``
megabytes of 78-character indented lines: the time per megabyte should not grow with
the size.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from searchkit.readers.medline import read_medline


def seconds(path: Path) -> float:
    started = time.process_time()
    if len(list(read_medline(path))) != 1:
        raise SystemExit(f"Error: {path} did not read as one record")
    return time.process_time() - started


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", default="1,2,4", help="abstract sizes in MB")
    args = ap.parse_args(argv)
    line = "      " + "lorem ipsum " * 6 + "\n"
    print("| abstract | continuation lines | CPU s | CPU s per MB |")
    print("|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for mb in (float(x) for x in args.mb.split(",")):
            path = Path(tmp) / f"wrapped-{mb}.nbib"
            count = int(mb * 1024 * 1024) // len(line)
            path.write_text("PMID- 1\nTI  - t\nAB  - start\n" + line * count + "\n", "utf-8")
            cpu = seconds(path)
            print(f"| {mb:g} MB | {count:,} | {cpu:.2f} | {cpu / mb:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
