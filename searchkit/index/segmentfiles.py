"""The files written with each segment for what every search needs: the did-you-mean
vocabulary (:mod:`searchkit.index.vocabulary`) and the MeSH headings by word
(:mod:`searchkit.index.meshwords`).

:func:`write_segment_files` is the writers' hook (``before_toc`` of
:mod:`searchkit.engine.segment_writer`): called with the segments of the generation a
commit is about to write, before its table of contents, it writes the files of every
segment that has none yet, i.e. the segments this commit made (its new records, its
merges) and, once, those of an index written before these files existed. A commit's
cost is then that of what it writes, not of the whole index. Written before the table
of contents, the files are the segment's own (``MAIN_<id>.vocab``,
``MAIN_<id>.meshwords``): listed in the generation's checksum manifest, and deleted by
Whoosh with the rest of a segment a merge replaced. A commit killed before its table of
contents leaves files of segments no table of contents names, removed as the
segment's own files are (:func:`searchkit.engine.fileindex.remove_unreferenced_files`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from whoosh.reading import SegmentReader

from searchkit.index import groupfile, meshwords, vocabulary

#: The kinds of file written for each segment, by their module.
KINDS = (vocabulary, meshwords)


def _segment_files(indexname: str, suffix: str) -> re.Pattern[str]:
    return re.compile(rf"{re.escape(indexname)}_[0-9a-z]+{re.escape(suffix)}")


def write_segment_files(storage: Any, schema: Any, segments: list[Any]) -> None:
    """Write the vocabulary and MeSH words files of each of ``segments`` that lacks
    them (never rewriting one: segment files do not change once written), and remove
    the temporary files of a writer killed while writing them. Call holding the write
    lock, before the table of contents naming ``segments`` is written."""
    folder = Path(storage.folder)
    for segment in segments:
        segment_id = segment.segment_id()
        missing = [k for k in KINDS if not (folder / k.file_name(segment_id)).exists()]
        if not missing:
            continue
        reader = SegmentReader(storage, schema, segment)
        try:
            for kind in missing:
                kind.write_segment(reader, folder, segment_id)
        finally:
            reader.close()
    if segments:
        indexname = segments[0].index_name()
        for kind in KINDS:
            groupfile.remove_temporary(folder, _segment_files(indexname, kind.SUFFIX))


def remove_legacy_files(folder: Path) -> None:
    """Remove the whole-index files of format 1 (``vocabulary-<generation>.bin``,
    ``meshwords-<generation>.bin``) and their temporary files: once a commit has
    written every segment's files, nothing reads them. Call holding the write lock."""
    for kind in KINDS:
        groupfile.remove_files(folder, kind.LEGACY)


__all__ = ["KINDS", "remove_legacy_files", "write_segment_files"]
