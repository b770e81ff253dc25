"""The record identifiers a query names (``[pmid]``, ``[doi]``, ``[pmcid]``): how a
list of them is split and each written as its field holds it, for the local index and
the Solr backend alike."""

from __future__ import annotations

import re

from searchkit.index.documents import pmcid_term

#: Splits a list of ids: ``24162591,30108519[pmid]``.
_ID_LIST = re.compile(r"[\s,]+")


def id_values(key: str, text: str) -> list[str]:
    """The identifiers of ``text`` (spaces or commas between them) as the ``key``
    field holds them: a DOI in lower case, a PMC id as ``PMC`` and its number
    (:func:`~searchkit.index.documents.pmcid_term`), a PMID as written."""
    ids = [i for i in _ID_LIST.split(text) if i]
    if key == "doi":
        return [i.lower() for i in ids]
    if key == "pmcid":
        return [pmcid_term(i) for i in ids]
    return ids
