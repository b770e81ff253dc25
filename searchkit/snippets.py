"""Best-passage snippets with the matched terms' offsets."""

from __future__ import annotations

import re

from whoosh import highlight
from whoosh.analysis import Token
from whoosh.searching import Hit, Results

_OPEN, _CLOSE = "\x02", "\x03"
_SPACE = re.compile(r"\s+")
SNIPPET_CHARS = 240


class _MarkFormatter(highlight.Formatter):
    """Wraps matched terms in control characters, later turned into offsets."""

    between = " … "

    def format_token(self, text: str, token: Token, replace: bool = False) -> str:
        return _OPEN + highlight.get_text(text, token, replace) + _CLOSE


def configure(results: Results) -> None:
    """Set up ``results`` to produce snippets of about ``SNIPPET_CHARS`` characters."""
    results.fragmenter = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=70)
    results.formatter = _MarkFormatter()


def split_marks(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Remove the marks; return the plain text and the (start, end) of each marked span."""
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    start = 0
    for ch in marked:
        if ch == _OPEN:
            start = length
        elif ch == _CLOSE:
            spans.append((start, length))
        else:
            plain.append(ch)
            length += 1
    return "".join(plain), tuple(spans)


#: Matched terms from these fields are highlighted (they share the text analyzer).
MATCH_FIELDS = frozenset({"title", "abstract", "keywords", "mesh", "mesh_major"})


def matched_words(hit: Hit) -> frozenset[str]:
    """The index terms this hit matched in the text fields, whichever field matched
    (a ``[ti]`` query still highlights its words in the abstract)."""
    if not hit.results.has_matched_terms():
        return frozenset()
    return frozenset(
        text.decode("utf-8") if isinstance(text, bytes) else str(text)
        for fieldname, text in hit.matched_terms()
        if fieldname in MATCH_FIELDS
    )


def snippet(hit: Hit) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The best passage of the abstract (else the title) with the matched terms."""
    words = matched_words(hit)
    schema = hit.searcher.schema
    if words:
        for fieldname in ("abstract", "title"):
            text = hit.get(fieldname)
            if not text:
                continue
            flat = _SPACE.sub(" ", text).strip()
            marked = highlight.highlight(
                flat,
                words,
                schema[fieldname].analyzer,
                hit.results.fragmenter,
                hit.results.formatter,
                top=2,
            )
            if marked:
                return split_marks(marked)
    abstract = hit.get("abstract")
    if abstract:
        flat = _SPACE.sub(" ", abstract).strip()
        if len(flat) > SNIPPET_CHARS:
            flat = flat[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"
        return flat, ()
    return "", ()
