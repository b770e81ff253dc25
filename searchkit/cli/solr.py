"""The solr command group: set up a SolrCloud collection for searchkit."""

from __future__ import annotations

from typing import Annotated

import typer

from searchkit.cli.common import CONTEXT_SETTINGS, _call, _err
from searchkit.cli.usage import Command, epilog
from searchkit.plural import plural

solr_app = typer.Typer(
    help="A SolrCloud cluster as the index: create its collection with searchkit's schema.",
    no_args_is_help=True,
    context_settings=CONTEXT_SETTINGS,
    rich_markup_mode=None,
)


@solr_app.command("init", cls=Command, epilog=epilog("solr init"))
def solr_init(
    address: Annotated[
        str, typer.Argument(help="The collection to create: solr://HOST:PORT/solr/COLLECTION.")
    ],
    shards: Annotated[int, typer.Option("--shards", min=1, help="Number of shards.")] = 2,
    replicas: Annotated[
        int, typer.Option("--replicas", min=1, help="Copies of each shard, on different nodes.")
    ] = 1,
) -> None:
    """Upload searchkit's configset and create the collection.

    Credentials: $SEARCHKIT_SOLR_USER and $SEARCHKIT_SOLR_PASSWORD, or ~/.netrc.
    """
    from searchkit.solr.address import parse_address
    from searchkit.solr.client import SolrClient
    from searchkit.solr.configset import create_collection

    where = _call(lambda: parse_address(address))
    client = SolrClient(where)
    try:
        _call(lambda: create_collection(client, shards, replicas))
    finally:
        client.close()
    _err(f"Created {where} ({plural(shards, 'shard')} x {plural(replicas, 'replica')})")
