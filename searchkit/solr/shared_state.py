"""What a collection keeps beside its documents, in its configset (ZooKeeper): the source
registry and the acronym table, written so that concurrent ingests never undo each other.

ZooKeeper files can only be replaced whole, and a read-change-replace of one file by two
ingests at once keeps only the second one's change. So each write goes to a file of its
own: a registry entry to ``sources/<hash of its path>.json`` (two ingests of different
files write different files; of the same file, the same content), and the acronym
definitions gained and lost by one commit to ``acronym-changes/<random>.json``. Reading
sums them: the table is the one of ``acronyms.json`` (written by ``searchkit solr init``,
and the whole table for collections of earlier versions) plus every change file.

What this cannot make exact: two ingests that replace the *same* PMID at the same moment
both count the definitions of the version they replaced, so the table may count one
record's definitions once too few or too many until the next write of that record.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from searchkit.analysis.acronyms import TABLE_FILE, AcronymTable
from searchkit.index.sources import SOURCES_FILE, SourceEntry, SourceRegistry
from searchkit.solr.client import ClusterError, SolrClient
from searchkit.solr.configset import read_config_file, upload_file

SOURCES_DIR = "sources"
CHANGES_DIR = "acronym-changes"
DELETED_FILE = "deleted.json"


def list_config_dir(client: SolrClient, name: str, directory: str) -> list[str]:
    """The names of the files in ``directory`` of the configset ``name`` ([] if none;
    "": its top directory)."""
    try:
        answer = client.get(
            "/admin/zookeeper",
            {"detail": "false", "path": f"/configs/{name}/{directory}".rstrip("/"), "wt": "json"},
        )
    except ClusterError as exc:
        if exc.status == 404:
            return []
        raise
    tree = answer.get("tree") or []
    if not tree:
        return []
    return sorted(str(child["text"]) for child in tree[0].get("children") or [])


def _entry_file(path: str) -> str:
    return f"{SOURCES_DIR}/{hashlib.sha256(path.encode('utf-8')).hexdigest()}.json"


def load_registry(client: SolrClient, name: str, where: Path) -> SourceRegistry:
    """The source registry of the configset ``name``: its ``sources.json`` (written
    whole by earlier versions) with every entry file over it."""
    text = read_config_file(client, name, SOURCES_FILE)
    if text:
        (where / SOURCES_FILE).write_text(text, "utf-8")
    registry = SourceRegistry.load(where)
    for file in list_config_dir(client, name, SOURCES_DIR):
        content = read_config_file(client, name, f"{SOURCES_DIR}/{file}")
        if content:
            entry = SourceEntry(**json.loads(content))
            registry.entries[entry.path] = entry
    return registry


def save_entries(client: SolrClient, name: str, entries: Iterable[SourceEntry]) -> None:
    """Record ``entries`` (each in a file of its own: nothing else is replaced)."""
    for entry in entries:
        content = json.dumps(asdict(entry), sort_keys=True).encode("utf-8")
        upload_file(client, name, _entry_file(entry.path), content)


def load_table(client: SolrClient, name: str) -> AcronymTable:
    """The acronym table of the configset ``name``: ``acronyms.json`` plus every change."""
    total: Counter[tuple[str, str]] = Counter()
    text = read_config_file(client, name, TABLE_FILE)
    if text:
        for sf, lf, n in json.loads(text).get("acronyms", []):
            total[str(sf), str(lf)] += int(n)
    for file in list_config_dir(client, name, CHANGES_DIR):
        content = read_config_file(client, name, f"{CHANGES_DIR}/{file}")
        if content:
            for sf, lf, n in json.loads(content):
                total[str(sf), str(lf)] += int(n)
    # Summed before any count is dropped: a loss may be read before its gain.
    table = AcronymTable()
    for (sf, lf), n in total.items():
        if n > 0:
            table.counts.setdefault(sf, Counter())[lf] = n
    return table


def save_changes(client: SolrClient, name: str, changes: dict[tuple[str, str], int]) -> None:
    """Record the definitions one commit gained (n > 0) and lost (n < 0)."""
    rows = [[sf, lf, n] for (sf, lf), n in sorted(changes.items()) if n]
    if rows:
        content = json.dumps(rows, ensure_ascii=False).encode("utf-8")
        upload_file(client, name, f"{CHANGES_DIR}/{uuid.uuid4().hex}.json", content)


def load_deleted(client: SolrClient, name: str) -> set[str]:
    """The PMIDs removed with ``searchkit delete`` (``deleted.json``): a rebuild, which
    re-reads the sources, removes them again. Written whole, under the writer lease
    (:mod:`searchkit.solr.lease`)."""
    if DELETED_FILE not in list_config_dir(client, name, ""):
        return set()  # none yet, or a collection of an earlier version
    text = read_config_file(client, name, DELETED_FILE)
    return {str(pmid) for pmid in json.loads(text)} if text else set()


def save_deleted(client: SolrClient, name: str, deleted: set[str]) -> None:
    content = json.dumps(sorted(deleted)).encode("utf-8")
    upload_file(client, name, DELETED_FILE, content)
