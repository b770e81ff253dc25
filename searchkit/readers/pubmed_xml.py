"""PubMed XML (``PubmedArticleSet``): efetch output, "Send to: File, XML", baseline
and update files.

The file is parsed incrementally with ``lxml.etree.iterparse``; each
``PubmedArticle``, ``PubmedBookArticle`` or ``DeleteCitation`` is converted as soon
as its end tag is read and then released, so memory stays flat on any file size.

The parser never loads the DTD named in the DOCTYPE (no network, no file access)
and never substitutes entities: an entity reference stays an unexpanded node. A
record that uses one is skipped with the entity's name rather than indexed with a
hole in its text: an entity declared in the file's own DOCTYPE (the means of XXE
and "billion laughs" attacks; PubMed never does it) or one declared nowhere
(``&eacute;`` from HTML; PubMed writes characters). A file without a DOCTYPE is
read as if it named an external DTD (:class:`~searchkit.readers._xml.DoctypeShim`),
so that an undeclared entity costs its record, not the rest of the file. A record
holding a byte that is not UTF-8 (in a file that does
not declare another encoding) is skipped naming its line; the rest of the file is
read.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import TypeAlias

from lxml import etree

from searchkit.errors import InputError
from searchkit.items import Deletion, Item, Skipped
from searchkit.readers._io import INVALID_BYTE_MARK, Utf8Repair, open_bytes
from searchkit.readers._text import clean, make_date, parse_date_text
from searchkit.readers._xml import DoctypeShim, safe_iterparse
from searchkit.records import Author, MeshHeading, Record

_ROOT = "PubmedArticleSet"
_ARTICLE = "PubmedArticle"
_BOOK = "PubmedBookArticle"
_DELETE = "DeleteCitation"

Element: TypeAlias = etree._Element

_TRAILING_POSITION = re.compile(r",?\s*line \d+(?:, column \d+)?\s*$")


def read_pubmed_xml(path: Path) -> Iterator[Item]:
    """Yield a :class:`Record` per article or book article, a :class:`Deletion`
    per PMID in a ``DeleteCitation`` and a :class:`Skipped` per article without a
    PMID. Malformed XML raises :class:`InputError` with the line, after every
    record before it has been yielded."""
    source = str(path)
    # libxml2 keeps its error log per thread, across files: without this, a file's
    # error could be reported with a message of an earlier file's.
    etree.clear_error_log()
    with open_bytes(path) as stream:
        repaired = Utf8Repair(stream)
        events = safe_iterparse(DoctypeShim(repaired), (_ROOT, _ARTICLE, _BOOK, _DELETE))
        try:
            yield from _items(events, source, repaired)
        except etree.XMLSyntaxError as exc:
            message, line = _first_fatal(exc)
            location = f"line {line}" if line and line > 0 else None
            raise InputError(source, _syntax_message(message), location) from None


def _first_fatal(exc: etree.XMLSyntaxError) -> tuple[str, int | None]:
    """The message and line of the error that stopped the parser: the first fatal
    one of its log (the exception itself can name a later consequence, such as "no
    element found" at line 0), else the exception's own."""
    fatal = next((e for e in exc.error_log if e.level_name == "FATAL"), None)
    if fatal is not None and fatal.message:
        return fatal.message, fatal.line
    return exc.msg or str(exc), exc.lineno


def _syntax_message(text: str) -> str:
    # libxml2 ends its message with ", line N, column M"; the line is reported as
    # the location instead.
    message = _TRAILING_POSITION.sub("", text).strip()
    if "Text node too long" in message or "huge text node" in message:
        return "refused: a text longer than 10,000,000 characters (no PubMed record has one)"
    if "amplification" in message:
        return (
            "refused: the DOCTYPE declares entities that expand exponentially "
            '(a "billion laughs" entity bomb)'
        )
    return f"malformed XML: {message}"


def _items(events: etree.iterparse, source: str, stream: Utf8Repair) -> Iterator[Item]:
    seen_root = False
    declared: frozenset[str] = frozenset()
    number = 0
    for event, elem in events:
        if event == "start":
            if elem.tag == _ROOT and not seen_root:
                seen_root = True
                declared = _declared_entities(elem)
            continue
        if elem.tag == _ROOT:
            continue
        number += 1
        entity = next(elem.iter(etree.Entity), None)
        unreadable = _unreadable(elem, stream.problems)
        if unreadable is not None:
            yield Skipped(source, f"line {unreadable[0]}", unreadable[1])
        elif entity is not None and entity.name in declared:
            yield Skipped(
                source,
                f"record {number}",
                f"uses the entity &{entity.name}; declared in the file's DOCTYPE; such "
                "entities are never expanded (they can read files or exhaust memory)",
            )
        elif entity is not None:
            line = entity.sourceline or elem.sourceline
            yield Skipped(
                source,
                f"line {line}" if line else f"record {number}",
                f"uses the entity &{entity.name}; which the file does not declare (PubMed "
                "XML writes characters, not named entities); the record is not read, to "
                "keep its text whole",
            )
        else:
            yield from _convert(elem, source, number)
        _release(elem)
    if not seen_root:
        raise InputError(source, f"not PubMed XML: no <{_ROOT}> element")


def _unreadable(elem: Element, problems: deque[tuple[int, str]]) -> tuple[int, str] | None:
    """The first byte that was not UTF-8 in ``elem`` (line, reason), if any. Problems
    on lines before ``elem`` are dropped: they belonged to records already read."""
    start = elem.sourceline or 0
    while problems and problems[0][0] < start:
        problems.popleft()
    if not problems:
        return None
    marked = any(INVALID_BYTE_MARK in text for text in elem.itertext()) or any(
        INVALID_BYTE_MARK in value for node in elem.iter() for value in node.attrib.values()
    )
    return problems[0] if marked else None


def _declared_entities(root: Element) -> frozenset[str]:
    """Names of the entities the DOCTYPE's internal subset declares."""
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is None:
        return frozenset()
    return frozenset(entity.name for entity in dtd.iterentities())


def _release(elem: Element) -> None:
    """Free a converted record and the already-converted siblings before it."""
    elem.clear(keep_tail=True)
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def _convert(elem: Element, source: str, number: int) -> Iterator[Item]:
    if elem.tag == _DELETE:
        yield from _deletions(elem)
        return
    record = _article(elem) if elem.tag == _ARTICLE else _book(elem)
    if record is None:
        yield Skipped(source, f"record {number}", "record has no PMID")
    else:
        yield record


def _deletions(elem: Element) -> Iterator[Deletion]:
    for pmid_elem in elem.findall("PMID"):
        pmid = clean(pmid_elem.text)
        if pmid:
            yield Deletion(pmid)


# --- one function per element -------------------------------------------------


def _text(elem: Element | None) -> str | None:
    """The element's text with inline markup (<i>, <sup>, MathML...) flattened and
    whitespace normalised; ``None`` when missing or empty."""
    if elem is None:
        return None
    return clean("".join(_flatten(elem)))


def _flatten(elem: Element) -> Iterator[str]:
    yield elem.text or ""
    for child in elem:
        if isinstance(child, etree._Entity):
            # An unexpanded entity reference: its replacement text is never
            # loaded, and a space keeps the words around it apart.
            yield " "
        elif isinstance(child.tag, str):
            yield from _flatten(child)
        yield child.tail or ""


def _texts(elems: list[Element]) -> tuple[str, ...]:
    return tuple(text for text in map(_text, elems) if text)


def _title(container: Element) -> str | None:
    """``ArticleTitle``, or the ``VernacularTitle`` when the English one is empty."""
    return _text(container.find("ArticleTitle")) or _text(container.find("VernacularTitle"))


def _abstract(abstract: Element | None) -> str | None:
    """The ``AbstractText`` sections joined by newlines, each keeping its label
    ("BACKGROUND: ...")."""
    if abstract is None:
        return None
    sections = []
    for section in abstract.findall("AbstractText"):
        text = _text(section)
        if text is None:
            continue
        label = clean(section.get("Label"))
        sections.append(f"{label}: {text}" if label else text)
    return "\n".join(sections) or None


def _author(elem: Element) -> Author | None:
    """``Author(name="Last Initials", full_name="Last, Fore")``; a collective name
    alone; ``None`` for an entry PubMed marks invalid or an empty one."""
    if elem.get("ValidYN") == "N":
        return None
    affiliations = _texts(elem.findall("AffiliationInfo/Affiliation"))
    collective = _text(elem.find("CollectiveName"))
    if collective:
        return Author(name=collective, affiliations=affiliations, collective=True)
    last = _text(elem.find("LastName"))
    if not last:
        return None
    initials = _text(elem.find("Initials"))
    fore = _text(elem.find("ForeName"))
    suffix = _text(elem.find("Suffix"))
    name = " ".join(part for part in (last, initials, suffix) if part)
    full_name = " ".join(part for part in (f"{last}, {fore}", suffix) if part) if fore else None
    return Author(name=name, full_name=full_name, affiliations=affiliations)


def _authors(elems: list[Element], affiliation: str | None = None) -> tuple[Author, ...]:
    """The valid authors; ``affiliation`` (the article-level ``Affiliation`` of
    records before 2014, which PubMed gives as the first author's) goes to the first
    author when no author has one of their own."""
    authors = [author for author in map(_author, elems) if author is not None]
    if affiliation and authors and not any(a.affiliations for a in authors):
        first = authors[0]
        authors[0] = Author(first.name, first.full_name, (affiliation,), first.collective)
    return tuple(authors)


def _mesh_heading(elem: Element) -> MeshHeading | None:
    descriptor = elem.find("DescriptorName")
    name = _text(descriptor)
    if descriptor is None or name is None:
        return None
    qualifiers = elem.findall("QualifierName")
    major_qualifiers = _texts([q for q in qualifiers if q.get("MajorTopicYN") == "Y"])
    return MeshHeading(
        name=name,
        major=descriptor.get("MajorTopicYN") == "Y" or bool(major_qualifiers),
        qualifiers=_texts(qualifiers),
        major_qualifiers=major_qualifiers,
    )


def _mesh(citation: Element) -> tuple[MeshHeading, ...]:
    headings = map(_mesh_heading, citation.findall("MeshHeadingList/MeshHeading"))
    return tuple(heading for heading in headings if heading is not None)


def _date(elem: Element | None) -> tuple[int | None, str | None]:
    """``(year, pub_date)`` from a ``PubDate``/``ArticleDate``: Year/Month/Day, or a
    ``MedlineDate`` such as "1998 Dec-1999 Jan"."""
    if elem is None:
        return None, None
    year = _text(elem.find("Year"))
    if year:
        return make_date(year, _text(elem.find("Month")), _text(elem.find("Day")))
    return parse_date_text(_text(elem.find("MedlineDate")))


#: PubMed history statuses kept. EDAT is the "pubmed" status, CRDT the "entrez"
#: one, MHDA the "medline" one, as the PHST lines of PubMed's MEDLINE output show.
HISTORY_STATUSES = ("pubmed", "entrez", "medline")


def _history(history: Element | None) -> dict[str, str]:
    """PubStatus → "YYYY-MM-DD" for :data:`HISTORY_STATUSES` (the first date of each)."""
    dates: dict[str, str] = {}
    if history is None:
        return dates
    for elem in history.findall("PubMedPubDate"):
        name = elem.get("PubStatus", "")
        if name not in HISTORY_STATUSES or name in dates:
            continue
        _, date = make_date(
            _text(elem.find("Year")), _text(elem.find("Month")), _text(elem.find("Day"))
        )
        if date is not None and len(date) == 10:
            dates[name] = date
    return dates


def _pages(article: Element) -> str | None:
    """``MedlinePgn`` ("343-55"), else ``StartPage``-``EndPage``."""
    medline = _text(article.find("Pagination/MedlinePgn"))
    if medline:
        return medline
    start = _text(article.find("Pagination/StartPage"))
    end = _text(article.find("Pagination/EndPage"))
    if start and end and end != start:
        return f"{start}-{end}"
    return start


def _issns(journal: Element, citation: Element) -> tuple[str, ...]:
    values = _texts([*journal.findall("ISSN"), *citation.findall("MedlineJournalInfo/ISSNLinking")])
    return tuple(dict.fromkeys(values))


def _article_id(id_list: list[Element], id_type: str) -> str | None:
    for elem in id_list:
        if elem.get("IdType") == id_type:
            value = _text(elem)
            if value:
                return value
    return None


def _elocation_doi(container: Element) -> str | None:
    for elem in container.findall("ELocationID"):
        if elem.get("EIdType") == "doi":
            value = _text(elem)
            if value:
                return value
    return None


# --- records ------------------------------------------------------------------


def _article(elem: Element) -> Record | None:
    """A ``PubmedArticle`` as a :class:`Record`; ``None`` without a PMID."""
    citation = elem.find("MedlineCitation")
    if citation is None:
        return None
    pmid = _text(citation.find("PMID"))
    if not pmid:
        return None
    article = citation.find("Article")
    if article is None:
        article = etree.Element("Article")  # a citation without article data
    journal = article.find("Journal")
    if journal is None:
        journal = etree.Element("Journal")
    year, pub_date = _date(journal.find("JournalIssue/PubDate"))
    if year is None:
        year, pub_date = _date(article.find("ArticleDate"))
    ids = elem.findall("PubmedData/ArticleIdList/ArticleId")
    history = _history(elem.find("PubmedData/History"))
    return Record(
        pmid=pmid,
        title=_title(article),
        abstract=_abstract(article.find("Abstract")),
        keywords=_texts(citation.findall("KeywordList/Keyword")),
        mesh=_mesh(citation),
        authors=_authors(article.findall("AuthorList/Author"), _text(article.find("Affiliation"))),
        journal=_text(journal.find("Title")),
        # MedlineTA first: it is what MEDLINE (TA) and the text exports use, so one
        # article reads the same from every format.
        journal_abbrev=_text(citation.find("MedlineJournalInfo/MedlineTA"))
        or _text(journal.find("ISOAbbreviation")),
        year=year,
        pub_date=pub_date,
        doi=_article_id(ids, "doi") or _elocation_doi(article),
        pmcid=_article_id(ids, "pmc"),
        publication_types=_texts(article.findall("PublicationTypeList/PublicationType")),
        languages=_texts(article.findall("Language")),
        volume=_text(journal.find("JournalIssue/Volume")),
        issue=_text(journal.find("JournalIssue/Issue")),
        pages=_pages(article),
        issns=_issns(journal, citation),
        entrez_date=history.get("pubmed"),
        create_date=history.get("entrez"),
        mesh_date=history.get("medline"),
    )


def _book_authors(document: Element, book: Element) -> tuple[Author, ...]:
    """The chapter's or book's authors; the book's editors only when it names no
    author at all."""
    for container in (document, book):
        for author_list in container.findall("AuthorList"):
            if author_list.get("Type", "authors") == "authors":
                authors = _authors(author_list.findall("Author"))
                if authors:
                    return authors
    return _authors(book.findall("AuthorList/Author"))


def _book(elem: Element) -> Record | None:
    """A ``PubmedBookArticle`` as a :class:`Record`: a chapter has the chapter
    title as ``title`` and the book title as ``journal``; a whole book has the
    book title as ``title``."""
    document = elem.find("BookDocument")
    if document is None:
        return None
    pmid = _text(document.find("PMID"))
    if not pmid:
        return None
    book = document.find("Book")
    if book is None:
        book = etree.Element("Book")
    book_title = _text(book.find("BookTitle"))
    chapter_title = _title(document)
    year, pub_date = _date(book.find("PubDate"))
    if year is None:
        year, pub_date = _date(book.find("BeginningDate"))
    ids = document.findall("ArticleIdList/ArticleId")
    history = _history(elem.find("PubmedBookData/History"))
    return Record(
        pmid=pmid,
        title=chapter_title or book_title,
        abstract=_abstract(document.find("Abstract")),
        keywords=_texts(document.findall("KeywordList/Keyword")),
        authors=_book_authors(document, book),
        journal=book_title if chapter_title else None,
        year=year,
        pub_date=pub_date,
        doi=_article_id(ids, "doi") or _elocation_doi(document),
        pmcid=_article_id(ids, "pmc"),
        publication_types=_texts(document.findall("PublicationType")),
        languages=_texts(document.findall("Language")),
        volume=_text(book.find("Volume")),
        entrez_date=history.get("pubmed"),
        create_date=history.get("entrez"),
        mesh_date=history.get("medline"),
        book_title=book_title,
        publisher=_text(book.find("Publisher/PublisherName")),
        publisher_location=_text(book.find("Publisher/PublisherLocation")),
    )
