"""Writing records as MEDLINE (PubMed format) and RIS (reference managers).

MEDLINE output is re-readable by :mod:`searchkit.readers.medline`: a record
written and read back is the same record, except that runs of whitespace inside a
value (line breaks in an abstract) become single spaces, as in PubMed's own files.
Only the free-text tags of :data:`WRAPPED` are wrapped: readers such as Biopython's
take a continuation of any other tag (``AU``, ``CN``, ``OT``...) for a new value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from searchkit.records import Author, Record

#: PubMed wraps values at 88 columns (6 of them the "TAG - " prefix).
WIDTH = 88
#: Tags whose long values are wrapped over continuation lines (the others, one
#: value per line, never are).
WRAPPED = frozenset({"TI", "AB", "JT", "MH", "AD", "BTI"})
#: Between two records of an export, MEDLINE or RIS: a blank line, as PubMed writes them.
RECORD_SEPARATOR = "\n\n"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _medline_date(record: Record) -> str | None:
    """``DP`` text: "2019 May 3", "2019 May" or "2019"."""
    if record.pub_date:
        parts = record.pub_date.split("-")
        text = parts[0]
        if len(parts) > 1 and parts[1].isdigit() and 1 <= int(parts[1]) <= 12:
            text += " " + _MONTHS[int(parts[1]) - 1]
            if len(parts) > 2 and parts[2].isdigit():
                text += f" {int(parts[2])}"  # "2019 Jan 1", as PubMed writes it
        return text
    return str(record.year) if record.year is not None else None


def _history(date: str | None) -> str | None:
    """ "2019-03-23" → "2019/03/23" (MEDLINE's EDAT, CRDT, MHDA without the time)."""
    return date.replace("-", "/") if date else None


def _tag_lines(tag: str, value: str) -> list[str]:
    """``TAG - value``; for :data:`WRAPPED` tags wrapped at :data:`WIDTH` on spaces
    (never inside a word), continuation lines indented by six spaces: each line holds
    as many words as fit (one alone when it is longer than a line)."""
    text = " ".join(value.split())
    if tag not in WRAPPED:
        return [f"{tag:<4}- {text}"]
    pieces = _LINE.findall(text)
    if not pieces:
        return [f"{tag:<4}-"]
    return [f"{tag:<4}- {pieces[0]}", *(f"      {piece}" for piece in pieces[1:])]


#: One wrapped line's words: the longest run of whole words (single spaces apart) that
#: fits after the six-character prefix, else one longer word; the space after it is
#: consumed. Matched in C over the whole value instead of a Python step per word.
_LINE = re.compile(rf"(.{{1,{WIDTH - 6}}}(?= |\Z)|\S+) ?")


def to_medline(record: Record) -> str:
    """One record in MEDLINE format (no trailing blank line)."""
    fields: list[tuple[str, str | None]] = [("PMID", record.pmid)]
    fields.extend(("IS", issn) for issn in record.issns)
    fields.extend((("VI", record.volume), ("IP", record.issue)))
    fields.extend((("DP", _medline_date(record)), ("TI", record.title)))
    fields.extend((("PG", record.pages), ("AB", record.abstract)))
    for author in record.authors:
        if author.collective:
            fields.append(("CN", author.name))
        else:
            if author.full_name:
                fields.append(("FAU", author.full_name))
            fields.append(("AU", author.name))
        fields.extend(("AD", affiliation) for affiliation in author.affiliations)
    fields.extend(("LA", lang) for lang in record.languages)
    fields.extend(("PT", pt) for pt in record.publication_types)
    fields.append(("TA", record.journal_abbrev))
    if record.book_title:  # a book record: its book, publisher and place, no journal
        fields.extend(
            (
                ("BTI", record.book_title),
                ("PB", record.publisher),
                ("PL", record.publisher_location),
            )
        )
    else:
        fields.append(("JT", record.journal))
    for heading in record.mesh:
        # The star goes on the qualifiers flagged themselves, else on the descriptor,
        # so reading this back gives the same heading.
        text = ("*" if heading.major and not heading.major_qualifiers else "") + heading.name
        stars = set(heading.major_qualifiers)
        qualifiers = [("*" if q in stars else "") + q for q in heading.qualifiers]
        fields.append(("MH", "/".join([text, *qualifiers])))
    fields.extend(("OT", keyword) for keyword in record.keywords)
    fields.append(("EDAT", _history(record.entrez_date)))
    fields.append(("MHDA", _history(record.mesh_date)))
    fields.append(("CRDT", _history(record.create_date)))
    fields.append(("PMC", record.pmcid))
    if record.doi:
        fields.append(("AID", f"{record.doi} [doi]"))
    lines: list[str] = []
    for tag, value in fields:
        if value:
            lines.extend(_tag_lines(tag, value))
    return "\n".join(lines)


def medline(records: Iterable[Record]) -> str:
    """Records in MEDLINE format, separated by blank lines as PubMed does."""
    return RECORD_SEPARATOR.join(to_medline(r) for r in records)


def to_ris(record: Record) -> str:
    """One record as an RIS entry (``TY`` … ``ER``)."""
    kind = _ris_kind(record)
    fields: list[tuple[str, str | None]] = [("TY", kind), ("TI", record.title)]
    fields.extend(("AU", ris_author(a)) for a in record.authors)
    fields.append(("PY", str(record.year) if record.year is not None else None))
    if record.pub_date:
        fields.append(("DA", record.pub_date.replace("-", "/")))
    if kind == "JOUR":
        fields.extend((("T2", record.journal), ("J2", record.journal_abbrev)))
    else:  # a chapter's book is its T2 (a book section's book title, to Zotero)
        fields.append(("T2", record.book_title if kind == "CHAP" else None))
        fields.extend((("PB", record.publisher), ("CY", record.publisher_location)))
    fields.extend((("VL", record.volume), ("IS", record.issue)))
    start, end = page_range(record.pages)
    fields.extend((("SP", start), ("EP", end)))
    # One SN and one AD line: RIS readers (rispy, reference managers) keep the
    # first of a repeated single-valued tag.
    fields.append(("SN", " ".join(record.issns)))
    affiliations = dict.fromkeys(ad for a in record.authors for ad in a.affiliations)
    fields.append(("AD", "; ".join(affiliations)))
    fields.append(("AB", record.abstract))
    fields.extend(("KW", keyword) for keyword in record.keywords)
    fields.extend(("KW", m.name) for m in record.mesh)
    fields.extend(("LA", lang) for lang in record.languages)
    fields.append(("DO", record.doi))
    fields.append(("AN", record.pmid))
    if record.pmid.isdigit():
        fields.append(("UR", f"https://pubmed.ncbi.nlm.nih.gov/{record.pmid}/"))
    lines = [f"{tag}  - {' '.join(value.split())}" for tag, value in fields if value]
    lines.append("ER  - ")
    return "\n".join(lines)


def _ris_kind(record: Record) -> str:
    """RIS's type: ``CHAP`` for a chapter of a book (its title is not the book's),
    ``BOOK`` for a whole book (or a record typed as one), else ``JOUR``."""
    if record.book_title:
        return "CHAP" if record.title != record.book_title else "BOOK"
    return "BOOK" if any("book" in t.lower() for t in record.publication_types) else "JOUR"


def ris_author(author: Author) -> str:
    """An author as RIS writes one, "Last, First" (reference managers split the name
    at its comma): the full name when known, else PubMed's short form with a comma
    before the initials ("Beaugerie L" → "Beaugerie, L", "Smith JA Jr" → "Smith, JA,
    Jr"); a collective author, or a name without initials, as it is."""
    if author.full_name:
        return author.full_name
    words = author.name.split()
    if author.collective or len(words) < 2:
        return author.name
    suffix = ""
    if words[-1] in _NAME_SUFFIXES and len(words) > 2 and _is_initials(words[-2]):
        suffix = ", " + words.pop()
    if not _is_initials(words[-1]):
        return author.name
    return f"{' '.join(words[:-1])}, {words[-1]}{suffix}"


#: What PubMed's short author form puts after the initials.
_NAME_SUFFIXES = frozenset({"Jr", "Sr", "II", "III", "IV", "2nd", "3rd", "4th"})


def _is_initials(word: str) -> bool:
    """Whether ``word`` is PubMed's initials of the given names ("JA", "ÅV")."""
    return len(word) <= 4 and word.isalpha() and word.isupper()


#: A page of MEDLINE pagination: letters (a supplement's "S", "e", "G"), then digits.
_PAGE = re.compile(r"([^\W\d_]*)(\d+)\Z")


def page_range(pages: str | None) -> tuple[str | None, str | None]:
    """The first and last page of MEDLINE pagination, the abbreviated last page
    written out with the first's leading digits and letters: "343-55" → ("343",
    "355"), "G446-57" → ("G446", "G457"); "e0210" → ("e0210", None); of a list
    ("1-5, 7-9") the first range. A "range" whose last page written out would come
    before its first is an article number ("e01358-15"), kept whole."""
    if not pages:
        return None, None
    first = pages.replace(";", ",").split(",")[0].strip()
    start, _, end = (part.strip() for part in first.partition("-"))
    if not end:
        return start or None, None
    head, tail = _PAGE.match(start), _PAGE.match(end)
    if head is None or tail is None or tail.group(1) not in ("", head.group(1)):
        return start, end
    letters, digits = head.groups()
    last = tail.group(2)
    if len(last) < len(digits):
        last = digits[: len(digits) - len(last)] + last
    if int(last) < int(digits):
        return first, None
    return start, letters + last


def ris(records: Iterable[Record]) -> str:
    return RECORD_SEPARATOR.join(to_ris(r) for r in records)
