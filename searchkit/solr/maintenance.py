"""``rebuild``, ``optimize`` and ``check`` of a SolrCloud collection.

A rebuild mirrors the local one (:mod:`searchkit.index.rebuild`): every recorded source is
read again, in the order first read, into a new collection ``NAME_gN`` (the shards and
replicas of the current one, a fresh copy of searchkit's configset, the recorded
deletions applied again); its count is checked; then the name is made an alias of it in
one step of the Collections API, and the collection it replaced is deleted. Until the
alias moves, searches use the old collection; a rebuild that fails deletes the new one
and leaves the old as it was; the next rebuild deletes what an interrupted one left.
The caller holds the writer lease throughout, so no ingest writes to the old collection
meanwhile (it waits, then writes to the new one).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from searchkit.errors import InputError
from searchkit.index.batch import WriteCounts
from searchkit.index.ingest import IngestReport, ProgressMeter
from searchkit.plural import plural
from searchkit.searching.backend import HealthReport
from searchkit.solr.address import SolrAddress
from searchkit.solr.aliases import (
    collection_status,
    generation_name,
    generations,
    real_collection,
)
from searchkit.solr.client import ClusterError, SolrClient
from searchkit.solr.configset import collections, create_named, upload_configset
from searchkit.solr.mesh_store import copy_tree
from searchkit.solr.shared_state import load_deleted, load_registry, save_deleted

if TYPE_CHECKING:
    from searchkit.solr.collection import Collection

#: Seconds to wait before counting a shard's replicas again when they disagree (a commit
#: may be reaching them one after the other).
RECOUNT_DELAY = 1.0


def _drop(client: SolrClient, collection: str, configset: str | None) -> None:
    """Delete a collection (never following an alias) and then its configset."""
    client.get("/admin/collections", {"action": "DELETE", "name": collection, "wt": "json"})
    if configset:
        client.get("/admin/configs", {"action": "DELETE", "name": configset, "wt": "json"})


def rebuild_collection(
    backend: Collection,
    *,
    procs: int,
    batch_size: int | None,
    on_progress: ProgressMeter | None,
) -> IngestReport:
    """Rebuild the collection ``backend`` names (its writer lease held by the caller)."""
    client = backend.client
    name = backend.address.collection
    old = real_collection(client, name)
    state, _live = collection_status(client, old)
    config = str(state.get("configName") or old)
    shards = len(state["shards"])
    replicas = max(len(s["replicas"]) for s in state["shards"].values())
    with tempfile.TemporaryDirectory() as where:
        registry = load_registry(client, config, Path(where))
    deleted = load_deleted(client, config)
    # In the order first read: where two files hold the same PMID, the later one's
    # version was in force, and must be again.
    paths = [Path(entry.path) for entry in registry.in_reading_order()]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise InputError(
            str(missing[0]),
            f"recorded source no longer exists ({len(missing)} missing); the collection was "
            "left as it is",
        )
    existing = collections(client)
    built = generations(existing, name)
    for leftover in built:  # of an interrupted rebuild: never aliased
        if leftover != old:
            _drop(client, leftover, leftover)
    if old != name and name in existing:
        # The first collection, shadowed by the alias: a rebuild stopped before deleting it.
        _drop(client, name, name)
    new = generation_name(name, max(built.values(), default=0) + 1)
    upload_configset(client, new)
    try:
        copy_tree(client, config, new)  # the MeSH tree is kept, as locally
        create_named(client, new, shards, replicas)
        fresh = type(backend)(replace(backend.address, collection=new))
        fresh.lease = backend.lease
        try:
            report = fresh.ingest_held(paths, procs, batch_size, True, on_progress)
            removed = WriteCounts()
            if deleted:
                # Records removed with ``searchkit delete`` stay removed.
                fresh.delete_now(sorted(deleted), removed)
                fresh.commit()
                # Recorded after the re-read: an ingest takes what it writes off them.
                save_deleted(client, new, deleted)
            expected = report.counts.added - report.counts.deleted - removed.deleted
            held = fresh.record_count()
            if held != expected:
                raise ClusterError(
                    f"count check failed: the new collection {new} holds "
                    f"{plural(held, 'record')}, "
                    f"{expected} were written; {name} was left as it is"
                )
        finally:
            fresh.close()
        client.get(
            "/admin/collections",
            {"action": "CREATEALIAS", "name": name, "collections": new, "wt": "json"},
        )
    except BaseException:
        with contextlib.suppress(ClusterError):  # else the next rebuild removes it
            _drop(client, new, new)
        raise
    # Searches now reach the new collection; the old one (and its configset, when it was
    # the collection's own) goes.
    _drop(client, old, config if config in (old, name) else None)
    return report


def _node_client(address: SolrAddress, base_url: str) -> SolrClient:
    """A client of the node at ``base_url`` (as CLUSTERSTATUS names it)."""
    parts = urlsplit(base_url)
    node = replace(
        address,
        scheme=parts.scheme,
        host=parts.hostname or address.host,
        port=parts.port or address.port,
        context=parts.path.strip("/") or address.context,
    )
    return SolrClient(node)


def _core_answer(address: SolrAddress, replica: dict[str, Any], path: str, params: Any) -> Any:
    """What one replica's core answers on its own (no distribution)."""
    client = _node_client(address, str(replica["base_url"]))
    try:
        return client.get(f"/{replica['core']}{path}", params)
    finally:
        client.close()


def _live_replicas(state: dict[str, Any], live: list[str]) -> list[dict[str, Any]]:
    return [
        r
        for shard in state["shards"].values()
        for r in shard["replicas"].values()
        if r.get("state") == "active" and r.get("node_name") in live
    ]


def _segments(address: SolrAddress, replicas: list[dict[str, Any]]) -> int:
    total = 0
    for replica in replicas:
        params = {"numTerms": 0, "show": "index", "wt": "json"}
        answer = _core_answer(address, replica, "/admin/luke", params)
        total += int(answer["index"].get("segmentCount", 0))
    return total


def optimize_collection(backend: Collection) -> tuple[int, int]:
    """Solr's optimize (every replica merged into one segment, deleted records purged);
    the segments of the live replicas before and after, summed."""
    real = backend.real_collection()
    state, live = collection_status(backend.client, real)
    replicas = _live_replicas(state, live)
    before = _segments(backend.address, replicas)
    command = {"optimize": {"maxSegments": 1, "waitSearcher": True}}
    backend.client.post(f"/{real}/update", command, {"wt": "json"})
    return before, _segments(backend.address, replicas)


def _count(address: SolrAddress, replica: dict[str, Any]) -> int:
    params = {"q": "*:*", "rows": 0, "distrib": "false", "wt": "json"}
    answer = _core_answer(address, replica, "/select", params)
    return int(answer["response"]["numFound"])


def _shard_problems(
    address: SolrAddress, shard_name: str, shard: dict[str, Any], live: list[str]
) -> list[str]:
    """What is wrong with one shard: no active leader, a replica down or not answering,
    a replica holding another number of records than its leader."""
    problems: list[str] = []

    def up(replica: dict[str, Any]) -> bool:
        return replica.get("state") == "active" and replica.get("node_name") in live

    replicas = sorted(shard["replicas"].values(), key=lambda r: str(r["core"]))
    leader = next((r for r in replicas if r.get("leader") == "true" and up(r)), None)
    if leader is None:
        problems.append(f"{shard_name}: no active leader (its records cannot be updated)")
    counts: dict[str, int] = {}
    for replica in replicas:
        where = f"{shard_name}: replica {replica['core']} on {replica['node_name']}"
        if replica.get("node_name") not in live:
            problems.append(f"{where} is down (its node is not live)")
        elif replica.get("state") != "active":
            problems.append(f"{where} is {replica.get('state')}, not active")
        else:
            try:
                counts[str(replica["core"])] = _count(address, replica)
            except ClusterError as exc:
                problems.append(f"{where} does not answer ({exc})")
    if leader is None or str(leader["core"]) not in counts:
        return problems
    if len(set(counts.values())) > 1:  # a commit may be on its way: count once more
        time.sleep(RECOUNT_DELAY)
        counts = {core: _count(address, r) for r in replicas if (core := str(r["core"])) in counts}
    led = counts[str(leader["core"])]
    for core, n in counts.items():
        if n != led:
            problems.append(
                f"{shard_name}: replica {core} holds {plural(n, 'record')}, its leader "
                f"{leader['core']} {led}"
            )
    return problems


def check_collection(backend: Collection) -> HealthReport:
    """Every shard of the collection has an active leader, every replica is up and holds
    as many records as its leader (each asked on its own, ``distrib=false``)."""
    real = backend.real_collection()
    state, live = collection_status(backend.client, real)
    shards = {n: s for n, s in sorted(state["shards"].items()) if s.get("state") == "active"}
    problems: list[str] = []
    for shard_name, shard in shards.items():
        problems.extend(_shard_problems(backend.address, shard_name, shard, live))
    replicas = sum(len(s["replicas"]) for s in shards.values())
    where = backend.location
    if real != backend.address.collection:
        where += f" (collection {real})"
    if problems:
        return HealthReport(
            tuple(problems),
            f"{where}: {plural(len(problems), 'problem')} in {plural(len(shards), 'shard')}; "
            "a replica that "
            "is down catches up from its leader when its node is started again",
        )
    return HealthReport(
        (),
        f"{where}: {plural(len(shards), 'shard')}, {plural(replicas, 'replica')}, all active; "
        "every replica holds as many records as its leader "
        f"({plural(backend.record_count(), 'record')}).",
    )
