"""Where a Solr collection is: ``solr://HOST:PORT/solr/COLLECTION`` (``solrs://`` for
HTTPS), as given to ``--index`` or ``$SEARCHKIT_INDEX``."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from searchkit.errors import OptionError
from searchkit.solr.schemes import SCHEMES

_ADDRESS = re.compile(
    r"(?P<scheme>solrs?)://(?P<host>[^/:\s]+|\[[0-9a-fA-F:]+\]):(?P<port>\d{1,5})"
    r"/(?P<context>[^/\s]+)/(?P<collection>[A-Za-z0-9_.-]+)/?"
)


@dataclass(frozen=True)
class SolrAddress:
    """A collection on a Solr node (any node of the cluster will do)."""

    scheme: str  # "http" or "https"
    host: str
    port: int
    context: str  # the web context, "solr"
    collection: str

    @property
    def base_url(self) -> str:
        """The node's base URL, e.g. ``http://127.0.0.1:8983/solr``."""
        return f"{self.scheme}://{self.host}:{self.port}/{self.context}"

    def with_scheme(self, scheme: str) -> SolrAddress:
        """The same collection over ``scheme`` ("http" or "https")."""
        return replace(self, scheme=scheme)

    def __str__(self) -> str:
        scheme = next(k for k, v in SCHEMES.items() if v == self.scheme)
        return f"{scheme}://{self.host}:{self.port}/{self.context}/{self.collection}"


def parse_address(value: str) -> SolrAddress:
    """The address in ``value``, or an OptionError that shows the expected form."""
    found = _ADDRESS.fullmatch(value.strip())
    if not found or not 0 < int(found["port"]) < 65536:
        raise OptionError(
            f"{value!r} is not a Solr collection address: expected "
            "solr://HOST:PORT/solr/COLLECTION (solrs:// for HTTPS)"
        )
    return SolrAddress(
        scheme=SCHEMES[found["scheme"]],
        host=found["host"],
        port=int(found["port"]),
        context=found["context"],
        collection=found["collection"],
    )
