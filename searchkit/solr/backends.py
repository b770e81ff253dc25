"""The one place that chooses what holds the index, from the ``--index`` value (or
``$SEARCHKIT_INDEX``): ``solr://HOST:PORT/solr/COLLECTION`` is a SolrCloud collection,
anything else a local directory. Both are a :class:`searchkit.searching.backend.Backend`."""

from __future__ import annotations

import os

from searchkit.index.location import ENV_VAR, resolve_index_dir
from searchkit.searching.backend import Backend, LocalBackend, Repairable, open_local_for_repair
from searchkit.solr.schemes import is_solr_address


def index_value(explicit: str | os.PathLike[str] | None) -> str | None:
    """``--index`` if given, else ``$SEARCHKIT_INDEX`` (None: neither)."""
    if explicit:
        return os.fspath(explicit)
    return os.environ.get(ENV_VAR) or None


def open_backend(explicit: str | os.PathLike[str] | None, *, create: bool = False) -> Backend:
    """The index named by ``--index`` (or its defaults); ``create``: a local directory
    that does not exist yet is made (a Solr collection is made by ``searchkit solr
    init``)."""
    value = index_value(explicit)
    if value is not None and is_solr_address(value):
        from searchkit.solr.address import parse_address
        from searchkit.solr.backend import SolrBackend  # requests: only for a cluster

        return SolrBackend.open(parse_address(value))
    return LocalBackend.open(resolve_index_dir(explicit), create=create)


def open_for_repair(explicit: str | os.PathLike[str] | None) -> Repairable:
    """The index named by ``--index`` for ``check`` and ``rebuild``: a local one also
    when it is too damaged to open."""
    value = index_value(explicit)
    if value is not None and is_solr_address(value):
        return open_backend(value)
    return open_local_for_repair(resolve_index_dir(explicit))
