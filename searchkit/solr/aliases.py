"""The collection behind a name, and what the Collections API says of it.

After a ``searchkit rebuild`` the name the user gives is an alias of the collection that
holds the records (``NAME_gN``, generation N); before the first rebuild it is the
collection itself. An alias shadows a collection of the same name, so the alias is asked
for first."""

from __future__ import annotations

import re
from typing import Any

from searchkit.solr.client import SolrClient


def real_collection(client: SolrClient, name: str) -> str:
    """The collection ``name`` stands for: its alias's target, else itself."""
    answer = client.get("/admin/collections", {"action": "LISTALIASES", "wt": "json"})
    target = (answer.get("aliases") or {}).get(name)
    return str(target).split(",")[0] if target else name


def collection_status(client: SolrClient, real: str) -> tuple[dict[str, Any], list[str]]:
    """The state of the collection ``real`` (shards, replicas, configName) and the live
    nodes."""
    status = client.get(
        "/admin/collections", {"action": "CLUSTERSTATUS", "collection": real, "wt": "json"}
    )
    cluster = status["cluster"]
    return cluster["collections"][real], [str(n) for n in cluster.get("live_nodes", [])]


def generation_name(name: str, generation: int) -> str:
    return f"{name}_g{generation}"


def generations(existing: list[str], name: str) -> dict[str, int]:
    """The collections of ``existing`` that are rebuilds of ``name``, with their number."""
    pattern = re.compile(re.escape(name) + r"_g(\d+)")
    out = {}
    for collection in existing:
        found = pattern.fullmatch(collection)
        if found:
            out[collection] = int(found[1])
    return out
