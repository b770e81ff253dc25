"""Compare two searchkit index folders file by file: whether two codes (or two runs)
wrote the same index for the same input.

Segment files are named by random ids, so each segment is named by its place in the
table of contents instead, and every part of a compound segment file (postings, terms,
columns, stored records) is compared by its bytes with the segment ids replaced; the
table of contents by its segments' statistics (document counts, deletions, field
length totals); the files written with the segments and beside them (vocabulary, MeSH
words, acronym table) by their bytes, segment ids replaced. What always differs between
two runs is listed but not counted: the compound files' directories and the checksum
manifests (they name the parts by segment id), the creation and update times in
``searchkit.json`` and the ingest times in ``sources.json``.

    python benchmarks/compare_indexes.py INDEX_A INDEX_B     # exit 0: the same index

A merge through Whoosh's ``write_per_doc`` (searchkit's before it copied merged
documents as stored) pickles each document's stored fields again, the fields in the
iteration order of a set of field names, which varies from process to process: two
runs of that code differ in their merged segments' ``_stored.col``. With
``--stored-records`` those parts are compared by their decoded documents (the same
fields and values) instead of their bytes.

Usage, e.g. before and after a change to the writer (``PYTHONPATH`` at a copy of each
commit, as BENCHMARKS.md's comparisons do)::

    searchkit ingest data/ --index /tmp/a --procs 1     # one code
    searchkit ingest data/ --index /tmp/b --procs 1     # the other
    python benchmarks/compare_indexes.py /tmp/a /tmp/b
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import zlib
from pathlib import Path
from typing import Any

from whoosh.codec.whoosh3 import STORED_COLUMN
from whoosh.filedb.compound import CompoundStorage
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile
from whoosh.index import TOC

from searchkit.index.groupfile import HEAD

INDEX_NAME = "MAIN"
#: Files that differ between any two runs (times, ids) or are locks.
NOT_COMPARED = ("MAIN_WRITELOCK", "searchkit.lock")
RUN_DEPENDENT = ("searchkit.json", "sources.json")
#: Files written with each segment in searchkit.index.groupfile's layout.
GROUP_FILES = (".vocab", ".meshwords")
#: The part of a compound segment file holding its stored fields (after the segment id).
STORED_PART = "._stored.col"


def _header_crc_again(data: bytes) -> bytes:
    """A segment's group file (searchkit.index.groupfile: magic line, header length and
    CRC-32, JSON header naming the segment, groups) with its header's CRC-32 computed
    again once the segment id is replaced: the stored one covers the real id."""
    start = data.index(b"\n") + 1
    size, _ = HEAD.unpack_from(data, start)
    header = data[start + HEAD.size : start + HEAD.size + size]
    return data[:start] + HEAD.pack(size, zlib.crc32(header)) + data[start + HEAD.size :]


def _toc(folder: Path) -> tuple[int, Any]:
    generation = max(int(p.stem.rsplit("_", 1)[1]) for p in folder.glob(f"_{INDEX_NAME}_*.toc"))
    return generation, TOC.read(FileStorage(str(folder)), INDEX_NAME, generation)


def stored_records(data: bytes, doccount: int) -> list[Any]:
    """A stored-fields column's documents (``_stored.col``: a pickled dict each, or
    ``None``), decoded."""
    reader = STORED_COLUMN.reader(StructFile(io.BytesIO(data)), 0, len(data), doccount)
    return list(reader)


def contents(folder: Path, records: bool = False) -> dict[str, Any]:
    """Every comparable part of the index in ``folder``, by a name free of segment ids;
    with ``records``, each segment's stored fields as its decoded documents rather than
    the column's bytes."""
    generation, toc = _toc(folder)
    ids = [segment.segment_id() for segment in toc.segments]
    doccounts = {segment.segment_id(): segment.doc_count_all() for segment in toc.segments}
    names = {sid: f"segment{i}".ljust(len(sid), "_") for i, sid in enumerate(ids)}

    def canonical(data: bytes) -> bytes:
        for sid, name in names.items():
            data = data.replace(sid.encode(), name.encode())
        return data

    out: dict[str, Any] = {}
    for i, segment in enumerate(toc.segments):
        stats = {k: v for k, v in vars(segment).items() if k not in ("segid", "_codec")}
        stats["_codec"] = type(segment._codec).__qualname__
        stats["_deleted"] = sorted(segment._deleted or ())
        stats["_fieldlengths"] = dict(sorted(segment._fieldlengths.items()))
        out[f"toc: segment{i}"] = repr(stats)
    for path in sorted(folder.iterdir()):
        if path.name in NOT_COMPARED or path.name.startswith(f"_{INDEX_NAME}_"):
            continue
        if path.suffix == ".seg":
            with StructFile(path.open("rb")) as f:
                compound = CompoundStorage(f, use_mmap=False)
                for part in sorted(compound.list()):
                    with compound.open_file(part) as stream:
                        data = stream.read()
                    name = canonical(part.encode()).decode()
                    if records and part.endswith(STORED_PART):
                        out[name] = stored_records(data, doccounts[part[: -len(STORED_PART)]])
                    else:
                        out[name] = canonical(data)
        elif path.name in RUN_DEPENDENT:
            continue
        else:  # a segment's vocabulary and MeSH words files name it, inside too
            data = canonical(path.read_bytes())
            if path.suffix in GROUP_FILES:
                data = _header_crc_again(data)
            out[canonical(path.name.encode()).decode()] = data
    out["generation"] = generation
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--json", action="store_true", help="the result as JSON")
    ap.add_argument(
        "--stored-records",
        action="store_true",
        help="compare each segment's stored fields by their decoded documents (field "
        "names and values), not their bytes: Whoosh's merge pickles each document's "
        "fields again in an order that varies from process to process",
    )
    args = ap.parse_args(argv)
    a = contents(args.a, args.stored_records)
    b = contents(args.b, args.stored_records)
    differing = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    if args.json:
        print(json.dumps({"compared": len(set(a) | set(b)), "differing": differing}))
    else:
        print(f"{len(set(a) | set(b))} parts compared, {len(differing)} differ")
        for name in differing:
            print(f"  differs: {name}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
