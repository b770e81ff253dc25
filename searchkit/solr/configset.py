"""The configset searchkit uploads to a cluster, and the collection it creates.

The static files (schema.xml, solrconfig.xml, wdtypes.txt) ship in ``configset/``; the word
lists are written from searchkit's own when uploaded, so Solr folds and stops the same
words: ``stopwords.txt`` (searchkit/data/stopwords_en.txt), ``greek.txt`` (the Greek
letters and their names), ``spellings.txt`` (the British → American table, and the
Latin letters that stand for Greek ones in codes) and ``acronyms.txt`` (the index's
acronym table as synonym-graph rules)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from importlib import resources

from searchkit.analysis.acronyms import TABLE_FILE, TABLE_VERSION, AcronymTable
from searchkit.analysis.analyzer import GREEK, GREEK_STANDINS, stopwords
from searchkit.analysis.spelling import table as spelling_table
from searchkit.index.sources import SOURCES_FILE
from searchkit.solr.client import ClusterError, SolrClient

STATIC_FILES = ("schema.xml", "solrconfig.xml", "wdtypes.txt")
#: Long forms of one short form at most: the synonym rules of an ambiguous acronym.
MAX_LONG_FORMS = 3
#: Seconds the Collections API may take to create a collection.
CREATE_TIMEOUT = 120


def _greek() -> str:
    pairs = {**GREEK, **{k.upper(): v for k, v in GREEK.items() if k.upper() != k}}
    return "".join(f'"{letter}" => "{name}"\n' for letter, name in sorted(pairs.items()))


def _spellings() -> str:
    """The British → American table, and the codes written with a Latin letter for a
    Greek one (``nfkb => nfkappab``): both rewrite whole lower-case tokens before
    stemming, as the local analyzer does."""
    rules = {**spelling_table(), **GREEK_STANDINS}
    return "".join(f"{written} => {term}\n" for written, term in sorted(rules.items()))


_RULE_SPECIAL = re.compile(r"[,\\]|=>")


def acronym_synonyms(table: AcronymTable | None) -> str:
    """Synonym-graph rules, one a line: ``MHC, major histocompatibility complex``. The
    short form as written (the filter is case-sensitive, so the word "was" is not the
    acronym WAS), its :data:`MAX_LONG_FORMS` most frequent long forms in lower case."""
    lines = ["# short form, long forms: from searchkit's acronym table of the collection"]
    if table is not None:
        for short in sorted(table.counts):
            if _RULE_SPECIAL.search(short) or " " in short:
                continue
            forms = sorted(table.counts[short].items(), key=lambda kv: (-kv[1], kv[0]))
            clean = [" ".join(_RULE_SPECIAL.sub(" ", lf).lower().split()) for lf, _ in forms]
            clean = [f for f in dict.fromkeys(clean) if f][:MAX_LONG_FORMS]
            if clean:
                lines.append(", ".join([short, *clean]))
    return "\n".join(lines) + "\n"


def configset_files(acronyms: AcronymTable | None = None) -> dict[str, bytes]:
    """Every file of the configset, by name."""
    here = resources.files("searchkit.solr").joinpath("configset")
    files = {name: here.joinpath(name).read_bytes() for name in STATIC_FILES}
    files["stopwords.txt"] = "\n".join(sorted(stopwords())).encode("utf-8") + b"\n"
    files["greek.txt"] = _greek().encode("utf-8")
    files["spellings.txt"] = _spellings().encode("utf-8")
    files["acronyms.txt"] = acronym_synonyms(acronyms).encode("utf-8")
    files[TABLE_FILE] = _table_json(acronyms or AcronymTable()).encode("utf-8")
    files[SOURCES_FILE] = json.dumps({"format": 1, "sources": {}, "deleted": []}).encode("utf-8")
    return files


def read_config_file(client: SolrClient, name: str, path: str) -> str:
    """The text of one file of the configset ``name`` ("" when it is empty)."""
    answer = client.get("/admin/zookeeper", {"detail": "true", "path": f"/configs/{name}/{path}"})
    return str(answer.get("znode", {}).get("data") or "")


def _table_json(table: AcronymTable) -> str:
    rows = [[sf, lf, n] for sf, n, lf in table.rows()]
    return json.dumps({"version": TABLE_VERSION, "acronyms": rows}, ensure_ascii=False)


def configset_zip(acronyms: AcronymTable | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in configset_files(acronyms).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def upload_file(client: SolrClient, name: str, path: str, content: bytes) -> None:
    """Upload (or replace) one file of the configset ``name``."""
    client.request(
        "POST",
        "/admin/configs",
        params={"action": "UPLOAD", "name": name, "filePath": path, "overwrite": "true"},
        data=content,
        headers={"Content-Type": "application/octet-stream"},
    )


def upload_configset(client: SolrClient, name: str, acronyms: AcronymTable | None = None) -> None:
    """Upload (or replace) the configset ``name``."""
    client.request(
        "POST",
        "/admin/configs",
        params={"action": "UPLOAD", "name": name, "overwrite": "true", "cleanup": "true"},
        data=configset_zip(acronyms),
        headers={"Content-Type": "application/octet-stream"},
    )


def collections(client: SolrClient) -> list[str]:
    answer = client.get("/admin/collections", {"action": "LIST", "wt": "json"})
    return [str(c) for c in answer.get("collections", [])]


def create_collection(client: SolrClient, shards: int, replicas: int) -> None:
    """Upload the configset and create the address's collection with it: ``shards``
    shards of ``replicas`` replicas each. An existing collection is an error."""
    name = client.address.collection
    if name in collections(client):
        raise ClusterError(f"the collection {name!r} exists already at {client.address.base_url}")
    upload_configset(client, name)
    create_named(client, name, shards, replicas)


def create_named(client: SolrClient, name: str, shards: int, replicas: int) -> None:
    """Create collection ``name`` with the configset of the same name (uploaded):
    ``shards`` shards of ``replicas`` replicas each, waiting until every replica is up."""
    client.get(
        "/admin/collections",
        {
            "action": "CREATE",
            "name": name,
            "numShards": shards,
            "replicationFactor": replicas,
            "collection.configName": name,
            "waitForFinalState": "true",
            "timeout": CREATE_TIMEOUT,
            "wt": "json",
        },
    )


def reload_collection(client: SolrClient, name: str | None = None) -> None:
    """Make the collection's cores read their configset again (new acronyms); ``name``:
    the collection an alias stands for, when the address names an alias."""
    client.get(
        "/admin/collections",
        {"action": "RELOAD", "name": name or client.address.collection, "wt": "json"},
    )
