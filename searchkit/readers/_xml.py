"""The one way searchkit parses XML: streamed, and safe against hostile files."""

from __future__ import annotations

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
