"""The writer lease of a collection: one writing command at a time across the cluster, as
the index lock (:mod:`searchkit.index.locking`) is for a local index.

``ingest``, ``delete``, ``rebuild`` and ``optimize`` hold it from before they read the
source registry until after their last commit, so a rebuild cannot miss what an ingest
writes meanwhile, and the deletions recorded beside the collection are read, changed and
written back by one command at a time.

A lease is one document in the collection :data:`LEASE_COLLECTION` (made on first use),
keyed by the collection's name as the user gives it (an alias after a rebuild: the lease
outlives the swap). It is taken and renewed with Solr's optimistic concurrency: a write
that names the ``_version_`` it read (``-1``: "none yet") fails with 409 when another
process wrote in between, so of two processes only one ever holds it. The holder renews
it every :data:`RENEW_SECONDS` from a thread; a lease not renewed for
:data:`LEASE_SECONDS` (its process killed, its machine gone) may be taken by the next
writer, and at once when the holder was a process of this machine that no longer exists.
Expiry compares wall clocks: the writers' clocks must agree to within a few seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any

from searchkit.index.locking import LockWaitCallback, wait_to_take
from searchkit.solr.address import SolrAddress
from searchkit.solr.client import ClusterError, SolrClient
from searchkit.solr.configset import collections, upload_configset

#: The collection that holds every collection's lease (one shard).
LEASE_COLLECTION = "searchkit_leases"
#: Seconds a lease holds without renewal, and between renewals.
LEASE_SECONDS = 30.0
RENEW_SECONDS = 5.0
#: How often a writer waiting for the lease tries again.
POLL_SECONDS = 0.5
#: HTTP status of a write whose ``_version_`` did not match.
CONFLICT = 409


@dataclass(frozen=True)
class Claim:
    """Who holds a lease, and until when (seconds since the epoch)."""

    token: str
    host: str
    pid: int
    expires: float

    def takeable(self, now: float) -> bool:
        """Expired, or held by a process of this machine that has ended."""
        if self.expires <= now:
            return True
        return self.host == socket.gethostname() and not _alive(self.pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WriterLease:
    """The lease of the collection named in ``address``, re-entrant within this object."""

    def __init__(self, address: SolrAddress) -> None:
        self.name = address.collection
        self.location = str(address)
        self.client = SolrClient(replace(address, collection=LEASE_COLLECTION))
        self.token = uuid.uuid4().hex
        self._version = 0
        self._depth = 0
        self._expires = 0.0
        #: Why the lease was lost while held (None: it was not).
        self.lost: str | None = None
        self._mutex = threading.Lock()  # the client, between renewals and the caller
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @contextmanager
    def held(self, timeout: float = 0.0, on_wait: LockWaitCallback | None = None) -> Iterator[None]:
        self.acquire(timeout, on_wait)
        try:
            yield
        finally:
            self.release()

    def acquire(self, timeout: float = 0.0, on_wait: LockWaitCallback | None = None) -> None:
        """Take the lease, waiting up to ``timeout`` seconds for another holder (telling
        ``on_wait`` once), else an :class:`IndexLockedError`."""
        if self._depth:
            self._depth += 1
            return
        try:
            self._wait_for(timeout, on_wait)
        except BaseException:
            self.client.close()
            raise

    def _wait_for(self, timeout: float, on_wait: LockWaitCallback | None) -> None:
        self._ensure_collection()

        def attempt() -> str | None:
            holder = self._try_take()
            return None if holder is None else f" (on {holder.host})"

        wait_to_take(attempt, self.location, timeout, on_wait, POLL_SECONDS)
        self._depth = 1
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew, daemon=True)
        self._renewer.start()

    def release(self) -> None:
        if self._depth == 0:
            raise RuntimeError("the writer lease is not held")
        self._depth -= 1
        if self._depth:
            return
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        with self._mutex:
            if self.lost is None:
                # Not reachable, or taken after all: then it expires.
                with contextlib.suppress(ClusterError):
                    self._post({"delete": {"id": self.name, "_version_": self._version}})
        self.client.close()

    def check(self) -> None:
        """A ClusterError when the lease was lost while held (before a commit)."""
        if self.lost is not None:
            raise ClusterError(
                f"the writer lease of {self.location} was lost ({self.lost}); what this "
                "command wrote may be incomplete: run it again"
            )

    # -- the lease document ----------------------------------------------------------

    def _ensure_collection(self) -> None:
        """Make the lease collection when the cluster has none yet (one shard, a replica
        on each of up to two nodes)."""
        with self._mutex:
            if LEASE_COLLECTION in collections(self.client):
                return
            status = self.client.get(
                "/admin/collections",
                {"action": "CLUSTERSTATUS", "collection": self.name, "wt": "json"},
            )
            replicas = max(1, min(2, len(status["cluster"].get("live_nodes", []))))
            upload_configset(self.client, LEASE_COLLECTION)
            try:
                self.client.get(
                    "/admin/collections",
                    {
                        "action": "CREATE",
                        "name": LEASE_COLLECTION,
                        "numShards": 1,
                        "replicationFactor": replicas,
                        "collection.configName": LEASE_COLLECTION,
                        "waitForFinalState": "true",
                        "wt": "json",
                    },
                )
            except ClusterError:
                if LEASE_COLLECTION not in collections(self.client):
                    raise  # not made by another writer at the same time either

    def _post(self, body: Any) -> dict[str, Any]:
        params = {"versions": "true", "wt": "json"}
        return self.client.post(f"/{LEASE_COLLECTION}/update", body, params)

    def _write(self, expected: int) -> int | None:
        """Write this process's claim if the document's version is still ``expected``
        (-1: none); the new version, or None when another process wrote first."""
        expires = time.time() + LEASE_SECONDS
        claim = Claim(self.token, socket.gethostname(), os.getpid(), expires)
        doc = {"id": self.name, "record": json.dumps(asdict(claim)), "_version_": expected}
        try:
            answer = self._post([doc])
        except ClusterError as exc:
            if exc.status == CONFLICT:
                return None
            raise
        self._expires = expires
        return int(answer["adds"][1])

    def _try_take(self) -> Claim | None:
        """Take the lease if it is free or takeable; else who holds it."""
        with self._mutex:
            found = self.client.get(
                f"/{LEASE_COLLECTION}/get",
                {"id": self.name, "fl": "id,record,_version_", "wt": "json"},
            )
            doc = found.get("doc")
            if doc is None:
                version = self._write(-1)
                holder = None
            else:
                holder = Claim(**json.loads(doc["record"]))
                version = (
                    self._write(int(doc["_version_"])) if holder.takeable(time.time()) else None
                )
            if version is not None:
                self._version = version
                return None
            return holder or Claim("", "another process", 0, 0.0)

    def _renew(self) -> None:
        while not self._stop.wait(RENEW_SECONDS):
            with self._mutex:
                try:
                    version = self._write(self._version)
                except ClusterError:
                    if time.time() >= self._expires:
                        self.lost = f"not renewed for {LEASE_SECONDS:g} s: cluster unreachable"
                        return
                    continue
                if version is None:
                    self.lost = "another process took it"
                    return
                self._version = version
