"""HTTP to a Solr node: credentials, TLS verification, retries with back-off, and Solr's
errors turned into one-line messages. The user name and password come from
``$SEARCHKIT_SOLR_USER`` and ``$SEARCHKIT_SOLR_PASSWORD`` or, failing those, the node's entry
in ``~/.netrc``; they are never taken from the command line and never put into a message.
Over HTTPS (``solrs://``) the node's certificate is always verified, against the CA
certificates in ``$SEARCHKIT_SOLR_CA`` (a PEM file), else ``$REQUESTS_CA_BUNDLE`` or
``$CURL_CA_BUNDLE``, else the public CAs requests trusts by default."""

from __future__ import annotations

import http.client
import netrc
import os
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from searchkit.errors import SearchkitError
from searchkit.solr.address import SolrAddress

USER_ENV = "SEARCHKIT_SOLR_USER"
PASSWORD_ENV = "SEARCHKIT_SOLR_PASSWORD"
CA_ENV = "SEARCHKIT_SOLR_CA"
#: Where the CA certificates come from, first set first (requests' own two variables after
#: searchkit's: the session ignores the environment, see SolrClient).
CA_SOURCES = (CA_ENV, "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
#: Seconds to connect, and to wait for an answer (an update batch or a commit).
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 300.0
#: Retries of a request the cluster answers with 429 (too many requests) or 503 (a node
#: not ready, a shard without a leader), and of refused connections; back-off 0.5 s, 1 s,
#: 2 s ... between them.
RETRIES = 6
BACKOFF = 0.5
RETRY_STATUSES = (429, 503)
#: Retries of a refused connection: a node that is down stays down for seconds, not
#: milliseconds; the message then names it.
CONNECT_RETRIES = 2


class ClusterError(SearchkitError):
    """The Solr cluster cannot be reached, refuses the credentials, or reports an error
    (``status``: the HTTP status of its answer, None when there was none)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def credentials(host: str) -> tuple[str, str] | None:
    """(user, password) from the environment, else from ``~/.netrc`` for ``host``."""
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    if user and password is not None:
        return user, password
    path = Path.home() / ".netrc"
    if not path.is_file():
        return None
    try:
        entry = netrc.netrc(str(path)).authenticators(host)
    except (netrc.NetrcParseError, OSError) as exc:
        raise ClusterError(f"cannot read {path}: {getattr(exc, 'msg', exc)}") from None
    if entry is None:
        return None
    login, _account, secret = entry
    return (login, secret or "") if login else None


def trusted_cas() -> str | bool:
    """The CA certificates a node's certificate is verified against: the path in the first
    of CA_SOURCES that is set (a PEM file, or a directory of hashed ones), else True for
    requests' default set. A path that does not exist is a ClusterError."""
    for name in CA_SOURCES:
        value = os.environ.get(name)
        if value:
            path = Path(value).expanduser()
            if not path.exists():
                raise ClusterError(
                    f"{name} names {value}, which does not exist; it should be the PEM file "
                    "of the CA certificate(s) that issued the Solr nodes' certificates"
                )
            return str(path)
    return True


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: causes, contexts, and exceptions among its arguments or in
    its ``reason`` (urllib3 keeps the underlying error there)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        inner.extend(current.args)
        todo.extend(e for e in inner if isinstance(e, BaseException))


def _tls_message(exc: BaseException, where: str) -> str:
    """One line for a failed TLS connection to the node at ``where``."""
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (
                f"the TLS certificate of the Solr node at {where} could not be verified "
                f"(certificate verify failed: {cause.verify_message}); set {CA_ENV} to the "
                "PEM file of the CA certificate that issued it"
            )
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLError):
            return f"TLS with the Solr node at {where} failed ({cause.reason or cause})"
    return f"TLS with the Solr node at {where} failed"


def _speaks_tls(exc: BaseException) -> bool:
    """Whether the answer to a plain-HTTP request was a TLS record (an alert or a
    handshake, bytes 0x15/0x16 then version 3.x): the node serves HTTPS."""
    for cause in _causes(exc):
        if isinstance(cause, http.client.BadStatusLine):
            line = str(cause.args[0]) if cause.args else ""
            return len(line) >= 2 and line[0] in "\x15\x16" and line[1] == "\x03"
    return False


class SolrClient:
    """Requests to one Solr node, with the collection's address for messages."""

    def __init__(self, address: SolrAddress) -> None:
        self.address = address
        self.session = requests.Session()
        self.session.trust_env = False  # no ~/.netrc lookup by requests: credentials() does
        self.credentials = credentials(address.host)
        self.session.auth = self.credentials
        if address.scheme == "https":
            self.session.verify = trusted_cas()
        retry = Retry(
            total=RETRIES,
            connect=CONNECT_RETRIES,
            read=0,
            other=0,  # a failed TLS handshake fails the same way again
            status=RETRIES,
            backoff_factor=BACKOFF,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=None,  # updates are idempotent (upsert and delete by PMID)
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        self.session.close()

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | list[tuple[str, Any]] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """One request to ``base_url + path``; Solr's JSON answer, or a ClusterError."""
        url = f"{self.address.base_url}{path}"
        where = self.address.base_url
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=json_body,
                data=data,
                headers=headers,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            )
        except requests.exceptions.SSLError as exc:
            raise ClusterError(_tls_message(exc, where)) from None
        except requests.exceptions.ConnectionError as exc:
            if self.address.scheme == "http" and _speaks_tls(exc):
                raise ClusterError(
                    f"the Solr node at {where} answered in TLS: it serves HTTPS, so address "
                    f"it as {self.address.with_scheme('https')}"
                ) from None
            raise ClusterError(f"cannot reach the Solr node at {where}") from None
        except requests.exceptions.Timeout:
            raise ClusterError(f"the Solr node at {where} did not answer in time") from None
        except requests.exceptions.RequestException as exc:
            raise ClusterError(f"Solr at {where}: {type(exc).__name__}") from None
        if response.status_code == 401:
            who = f"user {self.credentials[0]!r}" if self.credentials else "no credentials"
            raise ClusterError(
                f"Solr at {where} refused the credentials ({who}); set {USER_ENV} and "
                f"{PASSWORD_ENV}, or an entry for {self.address.host} in ~/.netrc"
            )
        if response.status_code == 403:
            raise ClusterError(f"Solr at {where}: the user may not do this (403)")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not response.ok or not isinstance(body, dict):
            raise ClusterError(
                f"Solr at {where}: {_solr_message(body, response)}", response.status_code
            )
        return body

    def get(self, path: str, params: Any = None) -> dict[str, Any]:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any, params: Any = None) -> dict[str, Any]:
        return self.request("POST", path, params=params, json_body=body)


def _solr_message(body: Any, response: requests.Response) -> str:
    """Solr's error message (its first line), else the HTTP status."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("msg"):
            return str(error["msg"]).splitlines()[0]
        failure = body.get("failure") or body.get("exception")
        if failure:
            return str(failure).splitlines()[0][:300]
    return f"HTTP {response.status_code} {response.reason}"
