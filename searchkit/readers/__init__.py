"""Input readers: PubMed XML, MEDLINE, JSON Lines and PubMed text exports.

Every reader is a generator over one file that yields :data:`Item` values —
:class:`Record`, :class:`Deletion` or :class:`Skipped` — one record at a time,
with bounded memory. A problem with one record (a byte that is not UTF-8, a
value of the wrong type) is a :class:`Skipped` for that record, and reading goes
on. A problem with the file as a whole (unrecognised format, truncated gzip,
malformed XML) raises :class:`InputError` naming the file and line, after every
good record before it has been yielded.

>>> for path in iter_files([Path("data")]):           # doctest: +SKIP
...     for item in read_file(path):
...         print(item)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from searchkit.items import Item
from searchkit.readers._detect import (
    ABSTRACT_TEXT,
    FORMATS,
    JSONL,
    MEDLINE,
    PAGE_TEXT,
    PUBMED_XML,
    detect_format,
)
from searchkit.readers._files import InputFile, directory_problem, iter_files, iter_inputs
from searchkit.readers._folder import not_records
from searchkit.readers.abstract_text import read_abstract_text
from searchkit.readers.jsonl import read_jsonl
from searchkit.readers.medline import read_medline
from searchkit.readers.page_text import read_page_text
from searchkit.readers.pubmed_xml import read_pubmed_xml

Reader = Callable[[Path], Iterator[Item]]

READERS: dict[str, Reader] = {
    PUBMED_XML: read_pubmed_xml,
    MEDLINE: read_medline,
    JSONL: read_jsonl,
    PAGE_TEXT: read_page_text,
    ABSTRACT_TEXT: read_abstract_text,
}


def read_file(path: str | os.PathLike[str]) -> Iterator[Item]:
    """Detect the format of ``path`` (a path or a string) and yield its items.

    Raises :class:`InputError` (lazily, on iteration) when the file cannot be
    read or recognised, or breaks off part-way.
    """
    path = Path(path)
    if path.is_dir():
        raise directory_problem(path)
    yield from READERS[detect_format(path)](path)


__all__ = [
    "FORMATS",
    "READERS",
    "InputFile",
    "detect_format",
    "iter_files",
    "iter_inputs",
    "not_records",
    "read_abstract_text",
    "read_file",
    "read_jsonl",
    "read_medline",
    "read_page_text",
    "read_pubmed_xml",
]
