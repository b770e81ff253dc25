"""Recognising an input file's format from its first few kilobytes."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from searchkit.errors import InputError
from searchkit.readers._io import read_head

PUBMED_XML = "pubmed-xml"
MEDLINE = "medline"
JSONL = "jsonl"
PAGE_TEXT = "page-text"
ABSTRACT_TEXT = "abstract-text"

FORMATS = (PUBMED_XML, MEDLINE, JSONL, PAGE_TEXT, ABSTRACT_TEXT)

#: How much of the (decompressed) file detection looks at.
HEAD_BYTES = 8192

_UNRECOGNISED = (
    "not a recognised record format (expected PubMed XML, MEDLINE, JSON Lines, or PubMed text)"
)

# Suffixes only break ties between formats the content allows.
_SUFFIX_HINTS = {
    ".xml": PUBMED_XML,
    ".nbib": MEDLINE,
    ".medline": MEDLINE,
    ".jsonl": JSONL,
    ".ndjson": JSONL,
}

_XML_ROOT = re.compile(r"<(?:!DOCTYPE\s+)?PubmedArticleSet[\s>]")
_MEDLINE_TAG = re.compile(r"^[A-Z][A-Z0-9 ]{3}- ?")
_JSON_OBJECT_START = re.compile(r'^\{\s*(?:"|\}$)')
_PAGE_PMID = re.compile(r"^- PMID: ?\d+\s*$")
# "1. Phytomedicine. 2018 Dec 31;57:364-376." — a numbered citation with a year.
_CITATION = re.compile(r"^\d+\.\s+\S.*?\.\s+(?:1[89]|20)\d\d\b")


class NotRecords(InputError):
    """The file is in no record format: empty, binary, or content no format
    accepts. (A file that cannot be opened or decompressed is another error.)"""


def _lines(text: str, count: int) -> list[str]:
    """The first ``count`` non-blank lines, right-stripped."""
    found = []
    for line in text.splitlines():
        if line.strip():
            found.append(line.rstrip())
            if len(found) == count:
                break
    return found


def _is_pubmed_xml(text: str) -> bool:
    return text.lstrip().startswith("<") and _XML_ROOT.search(text) is not None


def _is_medline(text: str) -> bool:
    lines = _lines(text, 2)
    if not lines:
        return False
    if lines[0].startswith("PMID-"):
        return True
    # Some exports start with another tag; two tag lines in a row are convincing.
    return len(lines) == 2 and all(_MEDLINE_TAG.match(line) for line in lines)


def _is_jsonl(text: str) -> bool:
    lines = _lines(text, 1)
    return bool(lines) and _JSON_OBJECT_START.match(lines[0].strip()) is not None


def _is_page_text(text: str) -> bool:
    lines = _lines(text, 10)
    return (
        len(lines) > 1
        and not _PAGE_PMID.match(lines[0])
        and any(_PAGE_PMID.match(line) for line in lines[1:])
    )


def _is_abstract_text(text: str) -> bool:
    lines = _lines(text, 2)
    # The citation line may wrap before its date, hence the two lines joined.
    return bool(lines) and _CITATION.match(" ".join(lines)) is not None


_DETECTORS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    (PUBMED_XML, _is_pubmed_xml),
    (MEDLINE, _is_medline),
    (JSONL, _is_jsonl),
    (PAGE_TEXT, _is_page_text),
    (ABSTRACT_TEXT, _is_abstract_text),
)


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte < 32 and byte not in b"\t\n\r\f")
    return controls > len(head) // 20


def _unrecognised_reason(text: str) -> str:
    """The most helpful explanation for content no detector accepted."""
    stripped = text.lstrip()
    if stripped.startswith('"') and re.match(r'"\s*<', stripped):
        return (
            "not a recognised record format: the file holds XML saved as a JSON string "
            '(escaped quotes and "\\n"), not XML; decode the JSON and save the XML itself'
        )
    if stripped.startswith("<"):
        return "not a recognised record format: XML, but not PubMed XML (no <PubmedArticleSet>)"
    return _UNRECOGNISED


def suffix_hint(path: Path) -> str | None:
    """The format the file name claims (".xml", ".nbib", ".jsonl", gzipped or not),
    if any."""
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    return _SUFFIX_HINTS.get(suffixes[-1]) if suffixes else None


def detect_format(path: Path) -> str:
    """The format of ``path``: one of :data:`FORMATS`.

    Decided from the content (first :data:`HEAD_BYTES` bytes after gunzip and BOM
    removal); the file suffix only breaks a tie. Raises :class:`NotRecords` for an
    empty, binary or unrecognised file, :class:`InputError` for one that cannot be
    read or is UTF-16 encoded.
    """
    source = str(path)
    head = read_head(path, HEAD_BYTES)
    if not head.strip():
        raise NotRecords(source, "file is empty")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(source, "file is UTF-16 encoded; save it as UTF-8")
    if _looks_binary(head):
        raise NotRecords(source, f"{_UNRECOGNISED}: the file looks binary")
    # A multi-byte character cut at the end of the head must not fail detection;
    # real decoding errors are reported by the reader, with their line.
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    candidates = [name for name, accepts in _DETECTORS if accepts(text)]
    if not candidates:
        raise NotRecords(source, _unrecognised_reason(text))
    hint = suffix_hint(path)
    return hint if hint in candidates else candidates[0]
