"""The schemes of a Solr collection's address (``solr://``, ``solrs://``), and whether
an ``--index`` value is one: all that opening a local index needs to know of Solr
(:mod:`searchkit.solr.address` parses an address)."""

from __future__ import annotations

#: The address's scheme → the HTTP scheme it is reached by.
SCHEMES = {"solr": "http", "solrs": "https"}


def is_solr_address(value: str) -> bool:
    """Whether ``value`` names a Solr collection rather than a directory."""
    return value.startswith(tuple(f"{scheme}:" for scheme in SCHEMES))


__all__ = ["SCHEMES", "is_solr_address"]
