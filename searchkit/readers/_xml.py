"""The one way searchkit parses XML: streamed, and safe against hostile files."""

from __future__ import annotations

import re
from typing import IO, Any

from lxml import etree


def safe_iterparse(stream: IO[bytes] | Any, tags: tuple[str, ...]) -> etree.iterparse:
    """``start``/``end`` events for ``tags`` from ``stream``.

    Every security-relevant option is spelled out, whatever lxml's defaults are: no DTD
    loading or validation, no network, no entity substitution, and libxml2's size
    limits kept (``huge_tree=False``) against oversized nodes."""
    return etree.iterparse(
        stream,
        events=("start", "end"),
        tag=tags,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


# The misc a prolog may hold before the DOCTYPE or the root: a BOM, white space, the
# XML declaration, processing instructions, comments.
_PROLOG_MISC = re.compile(rb"(?:\xef\xbb\xbf)?(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_ROOT_START = re.compile(rb"<([A-Za-z_][\w.-]*)")
#: How much of a file's start is searched for its root element.
_PROLOG_LIMIT = 64 * 1024


class DoctypeShim:
    """A stream that adds ``<!DOCTYPE root SYSTEM "...">`` before the root element of
    a document that has no DOCTYPE; otherwise the bytes pass through unchanged.

    Without a DOCTYPE, libxml2 takes a reference to an undeclared entity
    (``&eacute;``) for a fatal error and stops reading the file there; with an
    external DTD named (never loaded: ``load_dtd=False``, ``no_network=True``) the
    reference stays an entity node, so that the reader skips just the record
    holding it. The DOCTYPE is added on the root's line, so line numbers stay true.
    """

    def __init__(self, stream: IO[bytes] | Any) -> None:
        self._stream = stream
        self._start: bytes | None = b""  # the start held back until decided; None after

    def read(self, size: int = -1) -> bytes:
        if self._start is None:
            data: bytes = self._stream.read(size)
            return data
        while True:
            more = self._stream.read(size if size > 0 else _PROLOG_LIMIT)
            self._start += more
            decided = _with_doctype(self._start, final=not more)
            if decided is not None:
                self._start = None
                return decided


def _with_doctype(start: bytes, *, final: bool) -> bytes | None:
    """``start`` with a DOCTYPE added before its root if it has none; ``None`` while
    more bytes are needed to tell."""
    misc = _PROLOG_MISC.match(start)
    at = misc.end() if misc is not None else 0
    rest = start[at:]
    root = _ROOT_START.match(rest)
    if root is not None and (len(rest) > root.end() or final):  # the whole name is in
        doctype = b'<!DOCTYPE %s SYSTEM "searchkit:no-dtd">' % root[1]
        return start[:at] + doctype + rest
    # Cut by the read: a root's name, a BOM, "<!DOCTYPE", a declaration or a comment.
    cut = root is not None or b"\xef\xbb\xbf".startswith(rest) or rest.startswith((b"<?", b"<!--"))
    cut = cut or (rest.startswith(b"<") and len(rest) < len(b"<!DOCTYPE"))
    if cut and not final and len(start) < _PROLOG_LIMIT:
        return None
    return start  # a DOCTYPE, or no root where one belongs: the parser judges
