"""A SolrCloud collection behind the commands (:class:`SolrBackend`, an implementation of
:class:`searchkit.searching.backend.Backend`).

Records go to ``/update`` in batches of :data:`BATCH_SIZE` JSON documents, keyed by PMID
(``id``): a record already there is replaced, one equal to the stored copy is left alone,
a ``DeleteCitation`` deletes. The whole record is stored as JSON (``record``), so that
``show`` and the output formats get back exactly what was read. After each batch a count
check (the cluster holds every record sent), after the last one a commit. The source
registry and acronym table beside the documents are written so that ingests running at
the same time keep each other's changes (:mod:`searchkit.solr.shared_state`)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from searchkit.analysis.acronyms import TABLE_FILE, AcronymTable, mine_record
from searchkit.engine.listtext import ENTRY_SEPARATOR
from searchkit.errors import IndexVersionError, RecordNotFoundError, SearchkitError
from searchkit.index.batch import WriteCounts
from searchkit.index.documents import record_from_json, record_to_fields, record_to_json
from searchkit.index.history import History
from searchkit.index.ingest import (
    FileRead,
    IngestProgress,
    IngestReport,
    ProgressMeter,
    files_to_read,
    read_into,
)
from searchkit.index.location import user_data_dir
from searchkit.index.locking import LockWaitCallback
from searchkit.index.mesh import MeshContext
from searchkit.index.meshtree import MeshTree, read_tree
from searchkit.index.schema import LIST_TEXT_FIELDS
from searchkit.index.sidecars import Sidecar
from searchkit.index.sources import SourceEntry, SourceRegistry, source_key
from searchkit.params import DEFAULT, Params
from searchkit.records import Record
from searchkit.searching.backend import HealthReport
from searchkit.searching.evaluation import (
    DEFAULT_METRICS,
    EvalResult,
    Metric,
    parse_metric,
    score_run,
)
from searchkit.searching.pipeline import MeaningEmbedder, MeaningProvider
from searchkit.searching.search import Filters, Hit, SearchResult
from searchkit.solr import natural
from searchkit.solr.address import SolrAddress
from searchkit.solr.aliases import collection_status, real_collection
from searchkit.solr.client import ClusterError, SolrClient
from searchkit.solr.configset import acronym_synonyms, reload_collection, upload_file
from searchkit.solr.evidence import rescore
from searchkit.solr.lease import WriterLease
from searchkit.solr.mesh_store import load_tree, save_tree
from searchkit.solr.sending import BatchSender, ProcessSenders, Sender
from searchkit.solr.shared_state import (
    CHANGES_DIR,
    list_config_dir,
    load_deleted,
    load_registry,
    load_table,
    save_changes,
    save_deleted,
    save_entries,
)
from searchkit.solr.translate import Json, qf, translate

if TYPE_CHECKING:
    from searchkit.searching.embedding import EmbedProgress, EmbedReport

#: Records per update request.
BATCH_SIZE = 500
#: Snippet length in characters (the unified highlighter's fragment size).
SNIPPET_CHARS = 200
#: Marks around highlighted words in Solr's snippets (private-use characters: never in
#: a record's text), turned into the hit's highlight spans.
_PRE, _POST = "\ue000", "\ue001"
_MARKS = re.compile(f"([{_PRE}{_POST}])")
#: Natural-language ranking (``eval``): edismax's tie-breaker (0: a word scores in its
#: best field only, 1: summed over the fields) and the field weights. Solr scores each
#: field with its own BM25 length normalization, so the local index's title weight of 2
#: over-counts short titles. SciFact train nDCG@10, 2 shards: tie 0.5 and title 1
#: 0.6896; tie 0 and title 1 0.6866; tie 1 and title 1 0.6731; tie 0 and title 2 0.6396
#: (BENCHMARKS.md, "Solr cluster").
TIE = "0.5"
NATURAL_FIELDS = {"title": 1.0, "abstract": 1.0, "keywords": 1.5, "mesh": 1.5}
#: Natural-language ranking's proximity: edismax's word-pair phrase boost (adjacent query
#: words within PAIR_SLOP positions). SciFact train nDCG@10, with coordination: none
#: 0.6906, abstract^0.1 slop 8 0.6931, title and abstract ^1 slop 32 0.6590.
PAIR_FIELDS = "abstract^0.1"
PAIR_SLOP = 8
#: Rows fetched per request when every hit is wanted.
PAGE = 1000


class SolrBackend:
    """A collection of a SolrCloud cluster, reached through one of its nodes."""

    def __init__(self, address: SolrAddress) -> None:
        self.address = address
        self.client = SolrClient(address)
        self._path = f"/{address.collection}"
        #: Definitions gained (positive) and lost (negative) by the writes not yet
        #: applied to the collection's acronym table.
        self._acronyms: Counter[tuple[str, str]] = Counter()
        self._lock_timeout = 0.0
        self._on_lock_wait: LockWaitCallback | None = None
        #: The writer lease while a write holds it (:mod:`searchkit.solr.lease`).
        self.lease: WriterLease | None = None
        #: The collection's MeSH tree once read (a command reads it once).
        self._mesh: tuple[MeshTree | None] | None = None
        self._field_names: frozenset[str] | None = None
        self._multi_valued: frozenset[str] = frozenset()

    @classmethod
    def open(cls, address: SolrAddress) -> SolrBackend:
        """The collection at ``address``; a ClusterError if the cluster cannot be reached,
        refuses the credentials, or has no such collection."""
        backend = cls(address)
        try:
            backend.client.get(f"{backend._path}/admin/ping", {"wt": "json"})
        except ClusterError as exc:
            backend.close()
            if exc.status == 404:
                raise ClusterError(
                    f"no collection {address.collection!r} at {address.base_url}; create it "
                    f"with 'searchkit solr init {address}'"
                ) from None
            raise
        return backend

    # -- reading -------------------------------------------------------------------

    @property
    def location(self) -> str:
        return str(self.address)

    def _select(self, body: Json) -> Json:
        try:
            return self.client.post(f"{self._path}/select", body)
        except ClusterError as exc:
            if exc.status == 400 and "undefined field pmcid" in str(exc):
                raise IndexVersionError(
                    f"the collection {self.location} was made before PMC ids were indexed, "
                    "so [pmcid] cannot be searched in it; `searchkit rebuild` indexes them"
                ) from None
            raise

    def _fields(self) -> frozenset[str]:
        """The fields of the collection's schema (asked once): a collection made by an
        older searchkit lacks the fields added since (``pmcid``), which its records
        are sent without (their stored JSON keeps the value) until ``rebuild``; and
        those of them that take several values (:meth:`_document`)."""
        if self._field_names is None:
            found = self.client.get(f"{self._path}/schema/fields", {"wt": "json"})
            fields = found.get("fields", [])
            self._field_names = frozenset(f["name"] for f in fields)
            self._multi_valued = frozenset(f["name"] for f in fields if f.get("multiValued"))
        return self._field_names

    def _document(self, pmid: str, record: Record, record_json: str) -> dict[str, Any]:
        """The Solr document of a record: its fields, the keywords, MeSH words and
        affiliations as lists where the collection's schema takes several values (Solr
        keeps their entries 100 positions apart, as a local index does,
        :mod:`searchkit.engine.listtext`: no phrase spans two); joined in one value in
        a collection made before (a phrase may span two there until ``rebuild``)."""
        fields: dict[str, Any] = record_to_fields(record, record_json, self._fields())
        for name in LIST_TEXT_FIELDS & self._multi_valued:
            value = fields.get(name)
            if isinstance(value, str):
                fields[name] = [entry.strip() for entry in value.split(ENTRY_SEPARATOR)]
        return {"id": pmid, **fields}

    def record_count(self) -> int:
        found = self._select({"query": "*:*", "limit": 0})
        return int(found["response"]["numFound"])

    def get(self, pmid: str) -> Record:
        stored = self._existing([pmid]) if pmid and "," not in pmid else {}
        if pmid not in stored:
            raise RecordNotFoundError(f"no record with PMID {pmid} in {self.location}")
        return record_from_json(stored[pmid])

    def _existing(self, pmids: list[str]) -> dict[str, str]:
        """The stored record JSON of those of ``pmids`` the collection holds, updates
        not yet committed included (Solr's real-time get)."""
        if not pmids:
            return {}
        found = self.client.get(
            f"{self._path}/get", {"ids": ",".join(pmids), "fl": "id,record", "wt": "json"}
        )
        return {d["id"]: d["record"] for d in found["response"]["docs"]}

    def stats(self, sidecars: Sequence[Sidecar] = ()) -> dict[str, Any]:
        state, live = collection_status(self.client, self.real_collection())
        shards = state["shards"]
        return {
            "index": self.location,
            "records": self.record_count(),
            "shards": len(shards),
            "replicas": sum(len(s["replicas"]) for s in shards.values()),
            "live_nodes": len(live),
        }

    def real_collection(self) -> str:
        """The collection that holds the records: the address's, or the one its name is
        an alias of (after a rebuild)."""
        return real_collection(self.client, self.address.collection)

    def local_dir(self) -> Path:
        """This machine's folder for the collection: its search history, the cached
        MeSH tree."""
        where = (
            user_data_dir()
            / "solr"
            / (f"{self.address.host}_{self.address.port}_{self.address.collection}")
        )
        where.mkdir(parents=True, exist_ok=True)
        return where

    def history(self) -> History:
        return History(self.local_dir())

    def mesh_tree(self) -> MeshTree | None:
        """The tree kept in the configset (:mod:`searchkit.solr.mesh_store`), read once;
        cached on this machine by checksum."""
        if self._mesh is None:
            self._mesh = (load_tree(self.client, self._config_name(), self.local_dir()),)
        return self._mesh[0]

    def load_mesh(self, path: Path) -> MeshTree:
        """Read the descriptor file, then store its tree under the writer lease."""
        tree = read_tree(path)
        with self.writing():
            save_tree(self.client, self._config_name(), tree)
        self._mesh = (tree,)
        return tree

    def acronym_table(self) -> AcronymTable:
        """The table kept in the configset (``acronyms.json`` and the changes since);
        an error when the configset has none (not made by ``searchkit solr init``)."""
        name = self._config_name()
        if TABLE_FILE not in list_config_dir(self.client, name, "") and not list_config_dir(
            self.client, name, CHANGES_DIR
        ):
            raise SearchkitError(
                f"the collection {self.location} has no acronym table (its configset "
                f"{name} has no {TABLE_FILE}: it was not made by 'searchkit solr init')"
            )
        return load_table(self.client, name)

    def embed(
        self,
        meaning: MeaningEmbedder,
        model: Path | None,
        *,
        threads: int,
        progress: EmbedProgress | None,
        checkpoint: int,
    ) -> EmbedReport:
        """Vectors into the collection's documents (:mod:`searchkit.solr.meaning`, with
        the packaged encoder, not the local stage ``meaning``); each batch sent is kept,
        so ``checkpoint`` has nothing to add."""
        from searchkit.solr.meaning import embed_collection  # numpy, the encoder

        return embed_collection(self, model, threads=threads, progress=progress)

    def request(
        self,
        query: str,
        *,
        limit: int,
        offset: int = 0,
        filters: Filters | None = None,
        sort: str = "relevance",
        with_snippets: bool = False,
        refs: Mapping[int, str] | None = None,
        mesh: MeshContext | None = None,
    ) -> Json:
        """The JSON body of the ``/select`` request for a search; ``mesh``: what
        ``[mh]`` explodes by (default: the collection's tree) and what it says."""
        mesh = mesh if mesh is not None else MeshContext(self.mesh_tree)
        body: Json = {
            "query": translate(query, dict(refs or {}), mesh),
            "limit": limit,
            "offset": offset,
            "fields": "id,record,score",
            "sort": "date desc, pmid asc" if sort == "date" else "score desc, pmid asc",
        }
        fq = _filters(filters)
        if fq:
            body["filter"] = fq
        if with_snippets:
            body["params"] = {
                "hl": "true",
                "hl.method": "unified",
                "hl.fl": "abstract,title",
                "hl.snippets": 1,
                "hl.fragsize": SNIPPET_CHARS,
                "hl.tag.pre": _PRE,
                "hl.tag.post": _POST,
                "hl.defaultSummary": "true",
            }
        return body

    def explain(self, query: str, refs: Mapping[int, str], filters: Filters | None) -> str:
        mesh = MeshContext(self.mesh_tree)
        body = self.request(
            query, limit=10, refs=refs, filters=filters, with_snippets=True, mesh=mesh
        )
        url = f"{self.address.base_url}{self._path}/select"
        text = json.dumps(body, ensure_ascii=False, indent=2)
        lines = [f"Solr request: POST {url}\n{text.replace(_PRE, '<b>').replace(_POST, '</b>')}"]
        lines.extend(f"mesh: {line}" for line in mesh.explained)
        return "\n".join(lines)

    def search(
        self,
        query: str,
        *,
        limit: int | None,
        offset: int,
        filters: Filters | None,
        sort: str,
        with_snippets: bool,
        expand: bool = False,
        semantic_rank: bool | None = None,
        refs: Mapping[int, str] | None = None,
        partial: bool = True,
        meaning: MeaningProvider | None = None,
    ) -> SearchResult:
        if meaning is not None and sort == "relevance":
            from searchkit.solr.meaning import search_by_meaning  # numpy, the encoder

            ranked = search_by_meaning(self, query, limit=limit, offset=offset, filters=filters,
                                       with_snippets=with_snippets, refs=refs,
                                       wanted=semantic_rank)  # fmt: skip
            if ranked is not None:
                return ranked
        rows = PAGE if limit is None else limit
        hits: list[Hit] = []
        total = 0
        start = offset
        mesh = MeshContext(self.mesh_tree)
        while True:
            body = self.request(
                query,
                limit=rows,
                offset=start,
                filters=filters,
                sort=sort,
                with_snippets=with_snippets,
                refs=refs,
                mesh=mesh,
            )
            found = self._select(body)
            total = int(found["response"]["numFound"])
            hits.extend(self._hits(found, offset + len(hits)))
            start += rows
            if limit is not None or start >= total or not found["response"]["docs"]:
                break
        return SearchResult(query=query, total=total, hits=hits, notes=tuple(mesh.notes))

    def count(self, query: str, filters: Filters | None) -> int:
        found = self._select(self.request(query, limit=0, filters=filters))
        return int(found["response"]["numFound"])

    def _hits(self, found: Json, offset: int = 0) -> list[Hit]:
        highlighting = found.get("highlighting", {})
        hits: list[Hit] = []
        for doc in found["response"]["docs"]:
            snippet, spans = _snippet(highlighting.get(doc["id"], {}))
            hits.append(
                Hit(
                    rank=offset + len(hits) + 1,
                    score=float(doc.get("score") or 0.0),
                    record=record_from_json(doc["record"]),
                    snippet=snippet,
                    highlights=spans,
                )
            )
        return hits

    def similar(self, pmid: str, limit: int | None) -> SearchResult:
        """Solr's MoreLikeThis on the stored title and abstract (all its matches when
        ``limit`` is None)."""
        self.get(pmid)  # RecordNotFoundError if absent
        like = {"mlt": {"query": pmid, "qf": "title,abstract", "mintf": 1, "mindf": 1}}
        if limit is None:  # as many as match (the record itself may be among them)
            limit = int(self._select({"query": like, "limit": 0})["response"]["numFound"]) + 1
        found = self._select(
            {
                "query": like,
                "limit": limit,
                "fields": "id,record,score",
                "sort": "score desc, pmid asc",
            }
        )
        hits = [h for h in self._hits(found) if h.pmid != pmid]
        return SearchResult(query=f"similar to {pmid}", total=len(hits), hits=hits)

    def rank(self, text: str, limit: int) -> list[tuple[str, float]]:
        """A natural-language query's ranking (any of its words, BM25 over the weighted
        text fields, times the local index's coordination factor, the top
        ``rerank_depth`` re-scored by the local second stage), as (PMID, score)."""
        body = natural_request(text, max(limit, DEFAULT.rerank_depth))
        if body is None:
            return []
        found = self._select(body)
        first = [(d["id"], float(d["score"])) for d in found["response"]["docs"]]
        return rescore(self._select, text, first, DEFAULT)[:limit]

    def evaluate(
        self,
        queries: dict[str, str],
        qrels: dict[str, dict[str, int]],
        metrics: Sequence[Metric] | None,
        *,
        depth: int,
        expand: bool = False,
        semantic_rank: bool | None = None,
        meaning: MeaningProvider | None = None,
    ) -> EvalResult:
        """The judged queries ranked by the cluster and measured as locally, re-ranked by
        meaning when the collection has vectors (:mod:`searchkit.solr.meaning`). No
        feedback expansion (a note says so when asked)."""
        from searchkit.solr.meaning import open_collection_stage, rank_by_meaning

        chosen = list(metrics) if metrics else [parse_metric(m) for m in DEFAULT_METRICS]
        cutoffs = [m.cutoff for m in chosen]
        limit = depth if None in cutoffs else max(c for c in cutoffs if c is not None)
        judged = [qid for qid in queries if qid in qrels]
        stage, note = open_collection_stage(self, semantic_rank if meaning else False)
        if stage is not None:
            run = {qid: rank_by_meaning(self, stage, queries[qid], limit) for qid in judged}
        else:
            run = {qid: self.rank(queries[qid], limit) for qid in judged}
        notes = [note] if note else []
        if expand:
            notes.append("--expand is not applied by a Solr collection: ranked by words only")
        means, per_query = score_run(run, qrels, chosen)
        return EvalResult(
            metrics=means, queries=len(judged), per_query=per_query, run=run, notes=tuple(notes)
        )

    def sources(self, *, missing: bool = False) -> list[SourceEntry]:
        with tempfile.TemporaryDirectory() as where:
            registry = load_registry(self.client, self._config_name(), Path(where))
        return registry.listed(missing)

    def forget_sources(
        self, paths: Sequence[str | os.PathLike[str]], missing: bool
    ) -> list[SourceEntry]:
        """Refused: a collection's registry is one configset file per source, which
        searchkit writes but does not remove."""
        raise SearchkitError(
            f"cannot forget recorded sources of a Solr collection ({self.location}): "
            "only a local index's can be forgotten; put the file back at its recorded path"
        )

    # -- writing -------------------------------------------------------------------

    def prepare_writes(self, lock_timeout: float, on_lock_wait: LockWaitCallback) -> None:
        """How long a write waits for another writer's lease, and what it says meanwhile."""
        self._lock_timeout = lock_timeout
        self._on_lock_wait = on_lock_wait

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the collection's writer lease for the ``with`` block (at once if this
        backend holds it): one writing command at a time across the cluster."""
        if self.lease is not None:
            yield
            return
        lease = WriterLease(self.address)
        with lease.held(self._lock_timeout, self._on_lock_wait):
            self.lease = lease
            try:
                yield
            finally:
                self.lease = None

    def ingest(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        procs: int = 1,
        batch_size: int | None = None,
        force: bool = False,
        on_progress: ProgressMeter | None = None,
    ) -> IngestReport:
        """Stream every file under ``paths`` to the collection (upsert by PMID, deletions
        applied) from ``procs`` sending processes (:mod:`searchkit.solr.sending`), each
        batch checked, then commit; under the writer lease."""
        with self.writing():
            return self.ingest_held(paths, procs, batch_size, force, on_progress)

    def ingest_held(
        self,
        paths: Iterable[str | os.PathLike[str]],
        procs: int,
        batch_size: int | None,
        force: bool,
        on_progress: ProgressMeter | None,
    ) -> IngestReport:
        """:meth:`ingest` once the lease is held (a rebuild holds that of the name)."""
        name = self._config_name()
        with tempfile.TemporaryDirectory() as where:
            registry = load_registry(self.client, name, Path(where))
            report, recorded = self._ingest(paths, registry, procs, batch_size, force, on_progress)
        # Only the entries of the files this ingest read (shared_state).
        save_entries(self.client, name, recorded)
        self._revive(name)
        return report

    def _revive(self, name: str) -> None:
        """Take the PMIDs the collection holds again off the recorded deletions (as a
        local ingest does), so that a rebuild does not remove them."""
        deleted = load_deleted(self.client, name)
        if not deleted:
            return
        ordered = sorted(deleted)
        held: set[str] = set()
        for start in range(0, len(ordered), BATCH_SIZE):
            held.update(self._existing(ordered[start : start + BATCH_SIZE]))
        if held:
            save_deleted(self.client, name, deleted - held)

    def _ingest(
        self,
        paths: Iterable[str | os.PathLike[str]],
        registry: SourceRegistry,
        procs: int,
        batch_size: int | None,
        force: bool,
        on_progress: ProgressMeter | None,
    ) -> tuple[IngestReport, list[SourceEntry]]:
        report = IngestReport()
        files = files_to_read(paths, registry, force, report)
        read: list[FileRead] = []
        sizes = [_size(p) for p in files]
        size = batch_size or BATCH_SIZE
        sender: Sender = (
            ProcessSenders(SolrBackend, self.address, size, procs)
            if procs > 1 and files
            else BatchSender(self, size)
        )

        def tell(done: int) -> None:
            if on_progress is not None:
                on_progress(
                    IngestProgress(
                        done, len(files), report.records_read, sum(sizes[:done]), sum(sizes)
                    )
                )

        tell(0)
        try:
            for number, path in enumerate(files):
                done = read_into(path, report, sender.record, sender.delete)
                if done is not None:
                    # A file read to the end is recorded after the commit; one that broke
                    # off is not, so the next ingest reads it again.
                    read.append(done)
                tell(number + 1)
            counts, acronyms = sender.finish()
        finally:
            sender.close()
        report.counts.merge(counts)
        self._acronyms.update(acronyms)
        self.commit()
        recorded = []
        for done in read:
            registry.record(done.path, done.state, done.records, done.deletions, done.skipped)
            recorded.append(registry.entries[source_key(done.path)])
        return report, recorded

    def take_acronym_changes(self) -> Counter[tuple[str, str]]:
        """The acronym definitions the writes so far gained and lost (then forgotten)."""
        changes = Counter({pair: n for pair, n in self._acronyms.items() if n})
        self._acronyms.clear()
        return changes

    def send(self, pending: dict[str, Record], counts: WriteCounts) -> None:
        """Upsert the pending records (those equal to the stored copy are left alone),
        then check that the cluster holds each of them."""
        if not pending:
            return
        stored = self._existing(list(pending))
        docs = []
        sent: dict[str, str] = {}
        for pmid, record in pending.items():
            record_json = record_to_json(record)
            if stored.get(pmid) == record_json:
                counts.unchanged += 1
                continue
            if pmid in stored:
                counts.replaced += 1
                self._acronyms.subtract(mine_record(record_from_json(stored[pmid])))
            else:
                counts.added += 1
            self._acronyms.update(mine_record(record))
            docs.append(self._document(pmid, record, record_json))
            sent[pmid] = record_json
        pending.clear()
        if docs:
            self.client.post(f"{self._path}/update", docs, {"wt": "json"})
            self._check_held(sent)

    def _check_held(self, sent: dict[str, str]) -> None:
        """The count check of one batch: the cluster holds every record sent (Solr's
        real-time get sees them before the commit). Checked batch by batch, not as a
        total: another ingest may write the same collection at the same time."""
        held = self._existing(list(sent))
        missing = [pmid for pmid in sent if pmid not in held]
        if missing:
            raise ClusterError(
                f"count check failed: {self.location} holds {len(sent) - len(missing)} of "
                f"the {len(sent)} records just sent (PMID {missing[0]} missing); run the "
                "same ingest again (it upserts by PMID)"
            )

    def delete_now(self, pmids: list[str], counts: WriteCounts) -> None:
        stored = self._existing(pmids)
        counts.not_found.extend(p for p in pmids if p not in stored)
        if stored:
            self.client.post(f"{self._path}/update", {"delete": list(stored)}, {"wt": "json"})
            counts.deleted += len(stored)
            for old in stored.values():
                self._acronyms.subtract(mine_record(record_from_json(old)))

    def commit(self) -> None:
        """Commit, then record the acronym definitions the writes gained and lost, and
        write the collection's synonym rules from the whole table."""
        if self.lease is not None:
            self.lease.check()
        self.client.post(f"{self._path}/update", {"commit": {}}, {"wt": "json"})
        changes = dict(self.take_acronym_changes())
        if changes:
            real = self.real_collection()
            name = self._config_name(real)
            save_changes(self.client, name, changes)
            rules = acronym_synonyms(load_table(self.client, name))
            upload_file(self.client, name, "acronyms.txt", rules.encode("utf-8"))
            reload_collection(self.client, real)

    def _config_name(self, real: str | None = None) -> str:
        """The name of the configset the collection uses."""
        real = real or self.real_collection()
        state, _live = collection_status(self.client, real)
        return str(state.get("configName") or real)

    def delete(self, pmids: list[str]) -> WriteCounts:
        """Delete, under the writer lease, and record the PMIDs so that a rebuild (which
        re-reads the sources) removes them again."""
        wanted = list(dict.fromkeys(pmids))
        counts = WriteCounts()
        with self.writing():
            name = self._config_name()
            deleted = load_deleted(self.client, name)
            # Recorded before the commit: a run killed in between must not let a
            # rebuild bring the records back. Ids the collection did not hold are
            # taken off after.
            added = set(wanted) - deleted
            if added:
                save_deleted(self.client, name, deleted | added)
            self.delete_now(wanted, counts)
            self.commit()
            absent = added & set(counts.not_found)
            if absent:
                save_deleted(self.client, name, (deleted | added) - absent)
        return counts

    def discard_if_unused(self) -> bool:
        """Never: a collection is made by 'searchkit solr init', not by an ingest."""
        return False

    def optimize(self) -> tuple[int, int]:
        from searchkit.solr.maintenance import optimize_collection

        with self.writing():
            return optimize_collection(self)

    def check(self) -> HealthReport:
        from searchkit.solr.maintenance import check_collection

        return check_collection(self)

    def rebuild(
        self,
        *,
        procs: int,
        batch_size: int | None,
        on_progress: ProgressMeter | None,
        sidecars: Sequence[Sidecar] = (),
    ) -> tuple[SolrBackend, IngestReport]:
        """A new collection from the recorded sources, swapped in by an alias
        (:func:`searchkit.solr.maintenance.rebuild_collection`). Sentence vectors are not
        kept by a collection: ``sidecars`` has nothing to carry over."""
        from searchkit.solr.maintenance import rebuild_collection

        with self.writing():
            report = rebuild_collection(
                self, procs=procs, batch_size=batch_size, on_progress=on_progress
            )
        return self, report

    def close(self) -> None:
        self.client.close()


def natural_request(text: str, limit: int, params: Params = DEFAULT) -> Json | None:
    """The ``/select`` body of a natural-language query's first stage (None when it has
    no searchable word): the concepts of the local compiler (:mod:`searchkit.solr.natural`)
    as ``edismax`` over the weighted text fields, any of them, each once; compound parts
    searchable alone at the part weight; a word-pair proximity boost; times the
    coordination factor (matched concepts / concepts) ** ``params.coordination``."""
    found = natural.concepts(text, params)
    if not found:
        return None
    fields = qf(NATURAL_FIELDS)
    query: Json = {
        "edismax": {
            "query": natural.words_query(found),
            "qf": fields,
            "mm": "0",
            "tie": TIE,
            "pf2": PAIR_FIELDS,
            "ps2": PAIR_SLOP,
        }
    }
    parts = natural.parts_query(found, params)
    if parts:
        alone = {"edismax": {"query": parts, "qf": fields, "mm": "0", "tie": TIE}}
        query = {"bool": {"should": [query, alone]}}
    extra: dict[str, str] = {}
    if len(found) > 1 and params.coordination:
        matched = []
        for i, concept in enumerate(found):
            extra[f"w{i}"] = concept.matching()
            extra[f"c{i}"] = f"{{!edismax qf='{fields}' mm=0 v=$w{i}}}"
            matched.append(f"if(query($c{i},0),1,0)")
        factor = f"pow(div(sum({','.join(matched)}),{len(found)}),{params.coordination:g})"
        query = {"boost": {"query": query, "b": factor}}
    body: Json = {"query": query, "limit": limit, "fields": "id,score",
                  "sort": "score desc, pmid asc"}  # fmt: skip
    if extra:
        body["params"] = extra
    return body


def _filters(filters: Filters | None) -> list[Json]:
    if filters is None:
        return []
    out: list[Json] = []
    if filters.years is not None:
        low, high = filters.years
        lo = "*" if low is None else str(low)
        hi = "*" if high is None else str(high)
        out.append({"lucene": {"query": f"year:[{lo} TO {hi}]"}})
    for field, value in (("journal", filters.journal), ("pubtype", filters.pubtype)):
        if value:
            out.append({"field": {"f": field, "query": value}})
    return out


def _snippet(highlighted: dict[str, list[str]]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The first highlighted fragment (abstract, else title) without its marks, and the
    spans the marks enclosed."""
    for field in ("abstract", "title"):
        fragments = highlighted.get(field) or []
        if fragments:
            break
    else:
        return "", ()
    text: list[str] = []
    spans: list[tuple[int, int]] = []
    at = 0
    opened: int | None = None
    for piece in _MARKS.split(fragments[0]):
        if piece == _PRE:
            opened = at
        elif piece == _POST:
            if opened is not None and opened < at:
                spans.append((opened, at))
            opened = None
        else:
            text.append(piece)
            at += len(piece)
    return "".join(text), tuple(spans)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
