"""How a DOI is written in a query: the DOIs of a text that is DOIs alone (bare, as a
doi.org link, after "doi:"), and where a DOI before a ``[doi]`` tag (or after
``doi:``) ends when it holds round brackets (``10.1016/S2352-4642(17)30017-2[doi]``):
they are the DOI's, not the query's grouping, when the DOI closes each one it opens."""

from __future__ import annotations

import re

from searchkit.query.tags import TAGS

#: A DOI as pasted: bare, as a doi.org link, or after "doi:" (a space may follow it).
#: (A "[" ends it: ``10.1002/pbc.22049[doi]`` is a tagged query.)
_DOI = re.compile(r"(?:https?://)?(?:dx\.)?(?:doi\.org/)?(10\.\d{4,9}/[^\s\[\]]+)", re.IGNORECASE)
_DOI_LABEL = re.compile(r"\bdoi:\s*", re.IGNORECASE)
#: How a DOI starts: its prefix and the slash.
_DOI_START = re.compile(r"10\.\d{4,9}/")
#: A field tag, spaces before it allowed (``10.1/x(1) [doi]``).
_TAG = re.compile(r"\s*\[([^\[\]]*)\]")
#: The ``doi:`` prefix, spaces after it allowed.
_PREFIX = re.compile(r"doi:\s*", re.IGNORECASE)


def dois_alone(text: str) -> tuple[str, ...]:
    """The DOIs of a text that is DOIs alone (spaces between them; a sentence's full
    stop or comma after one dropped), else none: PubMed finds a record by its DOI
    pasted in the search box."""
    found: list[str] = []
    for token in _DOI_LABEL.sub("", text).split():
        match = _DOI.fullmatch(token.rstrip(".,;"))
        if match is None:
            return ()
        found.append(match.group(1))
    return tuple(found)


def doi_end(text: str, start: int) -> int:
    """Where the DOI starting at ``start`` ends: at a space, a quote, a square bracket,
    or a ``)`` it did not open; -1 when ``text`` does not start a DOI there or a ``(``
    of it is never closed (the grammar then reads its brackets)."""
    if _DOI_START.match(text, start) is None:
        return -1
    depth, end = 0, _run_end(text, start)
    for i in range(start, end):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            if depth == 0:
                return i  # it closes a group the DOI is in
            depth -= 1
    return end if depth == 0 else -1


def _run_end(text: str, start: int) -> int:
    """Where the run of characters a DOI may hold, from ``start``, ends: at a space, a
    quote or a square bracket."""
    end = start
    while end < len(text) and not text[end].isspace() and text[end] not in '"[]':
        end += 1
    return end


def unclosed_bracket(text: str, start: int) -> int:
    """Where the ``(`` is that a DOI starting at ``start`` and tagged as one never
    closes (``10.1016/S2352-4642(17[doi]``), else -1: such a DOI must be quoted."""
    if _DOI_START.match(text, start) is None:
        return -1
    end = _run_end(text, start)
    tag = _TAG.match(text, end)
    if tag is None or not _is_doi_tag(tag.group(1)):
        return -1
    opened: list[int] = []
    for i in range(start, end):
        if text[i] == "(":
            opened.append(i)
        elif text[i] == ")" and opened:
            opened.pop()
    return opened[0] if opened else -1


def _is_doi_tag(name: str) -> bool:
    return TAGS.get(" ".join(name.lower().split())) == "doi"


def tagged_dois_end(text: str, start: int) -> int:
    """Where a run of DOIs starting at ``start`` ends when a DOI tag (``[doi]``,
    ``[aid]``, ``[lid]`` …) follows it, each DOI whole, brackets and all; -1 when the
    text there is not such a run."""
    i = start
    while True:
        end = doi_end(text, i)
        if end < 0:
            return -1
        tag = _TAG.match(text, end)
        if tag is not None and _is_doi_tag(tag.group(1)):
            return end
        i = end
        while i < len(text) and text[i].isspace():
            i += 1
        if i == end:  # not a space after it: a ')' or a quote
            return -1


def prefixed_doi(text: str, start: int) -> tuple[int, int] | None:
    """``doi:`` and a DOI at ``start``: where the DOI starts and ends (brackets it
    closes included), else None."""
    prefix = _PREFIX.match(text, start)
    if prefix is None:
        return None
    end = doi_end(text, prefix.end())
    return (prefix.end(), end) if end > 0 else None
