"""Trust list and status lists kept fresh: fetched, verified, cached on disk, aged.

Each configured source (an ``https://`` URL or a file) is refreshed every
``refresh`` seconds, varied by ``+/- jitter`` so that the readers of a region do not
all ask at once, and retried sooner after a failure. HTTPS fetches are conditional
(``If-None-Match`` with the last ``ETag``, ``If-Modified-Since`` with the last
``Last-Modified``): a ``304`` costs no body and counts as a refresh. A fetched list
is verified before it replaces the one in force; only then is it written to the disk
cache (atomically, with its validators and fetch time), so that a restarted service
starts with the last good lists even when the network is down, and their age keeps
counting from the fetch, not from the restart.

Max age, enforced at every verification (fail closed):

* trust list: no list in force, a list not refreshed for ``max_age``, past its
  ``next_update`` (unless ``stale = "accept_stale"``) or issued more than
  ``max_list_age`` ago refuses every verdict with ``trust.list_expired`` or
  ``trust.list_too_old``;
* status lists: a copy not refreshed for ``max_age`` is no longer handed to the
  :class:`~vitale_cred.status.StatusChecker`, which then finds the status
  undetermined (``status.undetermined``, refused under the default policy), as it
  does past the list's ``exp`` or ``max_list_age``.

:meth:`ListManager.health` says, for each source, whether it is usable and why not.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import random
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
from cryptography import x509

from vitale_cred.clock import Clock, FixedClock
from vitale_cred.errors import (
    InvalidArgument,
    TrustListExpired,
    TrustListTooOld,
    VitaleCredError,
)
from vitale_cred.service import VERSION
from vitale_cred.service.config import Config, SourceConfig
from vitale_cred.state import TrustState
from vitale_cred.status import (
    StatusChecker,
    StatusPolicy,
    VerifiedStatusList,
    peek_status_list,
    verify_status_list,
)
from vitale_cred.trust import TrustStore
from vitale_cred.trustlist import StalePolicy, TrustListReader

__all__ = ["ListManager", "ListSource"]

_log = logging.getLogger("vitale_cred.service.lists")

#: The name under which the service keeps its trust-list marks in the trust state.
AUTHORITY_NAME: Final = "reader-service"
_USER_AGENT: Final = f"vitale-cred-reader/{VERSION}"


def read_pem(path: Path, what: str) -> list[x509.Certificate]:
    """The certificates of a PEM file (at least one)."""
    from vitale_cred.adapters.files import file_error  # noqa: PLC0415 - one use

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise file_error(exc, f"read the {what}", path) from exc
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise InvalidArgument(f"{path} ({what}) is not a PEM certificate bundle") from exc
    return certificates


@dataclass
class _Fetched:
    """What one refresh brought: new bytes, or None for "unchanged"."""

    data: bytes | None
    etag: str | None = None
    last_modified: str | None = None


class ListSource:
    """One list source: its bytes in force, validators, fetch times and last error."""

    def __init__(self, name: str, kind: str, config: SourceConfig, cache_dir: Path) -> None:
        self.name = name
        self.kind = kind
        self.config = config
        digest = hashlib.sha256(config.location.encode("utf-8")).hexdigest()[:24]
        self._cache = cache_dir / f"{kind}-{digest}"
        self.data: bytes | None = None
        self.etag: str | None = None
        self.last_modified: str | None = None
        #: Clock time of the last successful refresh (fetch, 304, file read).
        self.fetched_at: int | None = None
        self.last_attempt: int | None = None
        self.last_error: str | None = None
        self.last_error_code: str | None = None
        self.fetches: dict[str, int] = {"updated": 0, "unchanged": 0, "failed": 0}
        self._file_stamp: tuple[int, int] | None = None
        #: What the list says of itself once verified (for health and metrics).
        self.detail: dict[str, Any] = {}

    def fresh(self, now: int) -> bool:
        """Refreshed within ``max_age``."""
        return self.fetched_at is not None and now - self.fetched_at <= self.config.max_age

    # --- disk cache ----------------------------------------------------------------

    def load_cache(self) -> bytes | None:
        """The cached bytes and validators of an ``https://`` source, if any."""
        if not self.config.is_url:
            return None
        try:
            data = self._cache.with_suffix(".bin").read_bytes()
            meta = json.loads(self._cache.with_suffix(".json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("source") != self.config.location:
            return None
        if meta.get("sha256") != hashlib.sha256(data).hexdigest():
            return None
        fetched = meta.get("fetched_at")
        self.fetched_at = fetched if type(fetched) is int else None
        self.etag = meta.get("etag") if isinstance(meta.get("etag"), str) else None
        modified = meta.get("last_modified")
        self.last_modified = modified if isinstance(modified, str) else None
        return data

    def save_cache(self, data: bytes) -> None:
        """Write the bytes, then their metadata, each atomically (failures are logged)."""
        if not self.config.is_url:
            return
        meta = {
            "source": self.config.location,
            "sha256": hashlib.sha256(data).hexdigest(),
            "etag": self.etag,
            "last_modified": self.last_modified,
            "fetched_at": self.fetched_at,
        }
        try:
            self._cache.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _atomic_write(self._cache.with_suffix(".bin"), data)
            _atomic_write(self._cache.with_suffix(".json"), json.dumps(meta).encode("utf-8"))
        except OSError as exc:
            _log.warning("list cache %s not written: %s", self._cache, exc)

    def save_meta(self) -> None:
        """Record a revalidation (304): the fetch time moves, the bytes do not."""
        if self.data is not None:
            self.save_cache(self.data)

    # --- fetching ------------------------------------------------------------------

    async def fetch(self, client: httpx.AsyncClient | None, max_bytes: int) -> _Fetched:
        """New bytes, or ``data=None`` when the source did not change."""
        if not self.config.is_url:
            return await asyncio.to_thread(self._read_file, max_bytes)
        if client is None:
            raise InvalidArgument("no HTTP client for an https:// source")
        headers = {"User-Agent": _USER_AGENT, "Accept": "application/cbor, */*"}
        if self.data is not None and self.etag:
            headers["If-None-Match"] = self.etag
        if self.data is not None and self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        async with client.stream("GET", self.config.location, headers=headers) as response:
            if response.status_code == 304 and self.data is not None:
                return _Fetched(None, self.etag, self.last_modified)
            if response.status_code != 200:
                raise _FetchError(f"HTTP {response.status_code}")
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise _FetchError(f"{declared} bytes, more than the {max_bytes} allowed")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise _FetchError(f"more than the {max_bytes} bytes allowed")
            return _Fetched(
                bytes(body), response.headers.get("ETag"), response.headers.get("Last-Modified")
            )

    def _read_file(self, max_bytes: int) -> _Fetched:
        path = Path(self.config.location)
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp == self._file_stamp and self.data is not None:
                return _Fetched(None)
            with path.open("rb") as handle:
                data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise _FetchError(exc.strerror or type(exc).__name__) from exc
        if len(data) > max_bytes:
            raise _FetchError(f"more than the {max_bytes} bytes allowed")
        self._file_stamp = stamp
        return _Fetched(data)


class _FetchError(Exception):
    """A source that could not be read (network, HTTP status, size, file)."""


def _atomic_write(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class _FreshStatusProvider:
    """The status tokens of the configured sources, handed over only while fresh.

    A token whose source was not refreshed within its ``max_age`` is withheld, so
    the checker cannot take a copy that the channel stopped confirming for a new
    fetch (a withheld list makes the status undetermined).
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[tuple[bytes, int], tuple[bytes, ListSource]] = {}

    def publish(self, kid: bytes, list_id: int, token: bytes, source: ListSource) -> None:
        with self._lock:
            for key in [k for k, v in self._tokens.items() if v[1] is source]:
                del self._tokens[key]
            self._tokens[(kid, list_id)] = (token, source)

    def fetch(self, kid: bytes, list_id: int) -> bytes | None:
        entry = self._tokens.get((kid, list_id))
        if entry is None:
            return None
        token, source = entry
        return token if source.fresh(self._clock.now()) else None


class ListManager:
    """The trust store and status checker of the service, and the refresh of their lists."""

    def __init__(self, config: Config, *, clock: Clock, state: TrustState) -> None:
        self._config = config
        self._clock = clock
        trust = config.trust
        self.reader: TrustListReader | None = None
        self.trust_source: ListSource | None = None
        cache_dir = config.fetch.cache_dir
        if trust.list is not None and trust.authority is not None:
            authority = TrustStore.trust_list_authority(
                read_pem(trust.authority, "trust-list authority")
            )
            self.reader = TrustListReader(
                authority,
                stale=StalePolicy(trust.stale),
                max_age=trust.max_list_age,
                state=state,
                authority_name=AUTHORITY_NAME,
            )
            self.store = self.reader.store
            self.trust_source = ListSource("trust", "trust", trust.list, cache_dir)
        else:
            assert trust.certificates is not None  # checked by the configuration
            certificates = read_pem(trust.certificates, "trust certificates")
            roots = [c for c in certificates if c.issuer == c.subject]
            others = [c for c in certificates if c.issuer != c.subject]
            try:
                self.store = TrustStore(roots=roots, certificates=others)
            except VitaleCredError as exc:
                raise InvalidArgument(f"{trust.certificates}: {exc.message}") from exc
        self._provider = _FreshStatusProvider(clock)
        self.status_sources = [
            ListSource(f"status:{i}", "status", source, cache_dir)
            for i, source in enumerate(config.status.lists)
        ]
        self.checker: StatusChecker | None = None
        if self.status_sources:
            self.checker = StatusChecker(
                self._provider,
                self.store,
                policy=StatusPolicy(
                    on_undetermined=config.status.on_undetermined,
                    max_age=0,
                    max_list_age=config.status.max_list_age,
                ),
                state=state,
            )
        self._tasks: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None
        self._random = random.Random()  # noqa: S311 - jitter, not a secret

    @property
    def sources(self) -> list[ListSource]:
        """Every source, the trust list first."""
        head = [self.trust_source] if self.trust_source is not None else []
        return head + self.status_sources

    # --- applying lists --------------------------------------------------------------

    def _apply(self, source: ListSource, data: bytes) -> None:
        """Verify ``data`` and put it in force; raises the library's error if refused."""
        now = self._clock.now()
        if source.kind == "trust":
            assert self.reader is not None
            verified = self.reader.update(data, clock=FixedClock(now))
            listed = verified.trust_list
            source.detail = {
                "seq": listed.seq,
                "issued_at": listed.issued_at,
                "next_update": listed.next_update,
                "entries": len(listed.entries),
            }
            if self.checker is not None:
                # Keys may have changed: status lists are verified again under them.
                self.checker.forget()
            return
        locator = peek_status_list(data)
        status = verify_status_list(
            data,
            self.store,
            clock=FixedClock(now),
            expected_kid=locator.kid,
            expected_list=locator.list_id,
        )
        self._provider.publish(status.kid, status.list_id, data, source)
        source.detail = _status_detail(status)
        if self.checker is not None:
            self.checker.forget(status.kid, status.list_id)

    def load_cached(self) -> None:
        """Put in force what the disk cache and the files hold (at start-up, offline)."""
        for source in self.sources:
            data = source.load_cache()
            if data is None:
                continue
            try:
                self._apply(source, data)
                source.data = data
            except VitaleCredError as exc:
                source.fetched_at = None
                source.last_error = f"cached copy refused: {exc.message}"
                source.last_error_code = exc.code
                _log.warning("%s: cached copy refused [%s]", source.name, exc.code)

    async def refresh(self, source: ListSource) -> bool:
        """Refresh one source now; True when it is usable afterwards."""
        now = self._clock.now()
        source.last_attempt = now
        try:
            fetched = await source.fetch(self._client, self._config.fetch.max_bytes)
        except (_FetchError, httpx.HTTPError, OSError) as exc:
            source.fetches["failed"] += 1
            source.last_error = f"fetch failed: {_describe(exc)}"
            source.last_error_code = "fetch"
            _log.warning("%s: fetch failed: %s", source.name, _describe(exc))
            return source.fresh(now)
        if fetched.data is None or fetched.data == source.data:
            source.fetches["unchanged"] += 1
            source.fetched_at = now
            source.last_error = source.last_error_code = None
            source.save_meta()
            return True
        try:
            await asyncio.to_thread(self._apply, source, fetched.data)
        except VitaleCredError as exc:
            source.fetches["failed"] += 1
            source.last_error = f"list refused: {exc.message}"
            source.last_error_code = exc.code
            _log.warning("%s: list refused [%s]", source.name, exc.code)
            return source.fresh(now)
        source.fetches["updated"] += 1
        source.data = fetched.data
        source.etag, source.last_modified = fetched.etag, fetched.last_modified
        source.fetched_at = now
        source.last_error = source.last_error_code = None
        source.save_cache(fetched.data)
        _log.info("%s: new list in force", source.name)
        return True

    async def refresh_all(self) -> None:
        """Refresh every source once: the trust list first, whose keys verify the
        status lists, then the status lists together."""
        if self.trust_source is not None:
            await self.refresh(self.trust_source)
        await asyncio.gather(*(self.refresh(source) for source in self.status_sources))

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self._config.fetch.ca_file is not None:
            try:
                context.load_verify_locations(cafile=str(self._config.fetch.ca_file))
            except (OSError, ssl.SSLError) as exc:
                raise InvalidArgument(
                    f"cannot load the CA bundle {self._config.fetch.ca_file}: {exc}"
                ) from exc
        return context

    async def start(self, *, refresh_now: bool = True) -> None:
        """Load the disk cache, refresh once, then keep refreshing in the background."""
        if any(source.config.is_url for source in self.sources):
            self._client = httpx.AsyncClient(
                verify=self._ssl_context(),
                timeout=self._config.fetch.timeout,
                follow_redirects=False,
                trust_env=False,
            )
        await asyncio.to_thread(self.load_cached)
        if refresh_now:
            await self.refresh_all()
        for source in self.sources:
            self._tasks.append(asyncio.create_task(self._keep_fresh(source)))

    def next_delay(self, source: ListSource, ok: bool) -> float:
        """Seconds until the next refresh: ``refresh`` (``retry`` after a failure, if
        sooner), times a random factor in ``1 +/- jitter``."""
        base = source.config.refresh if ok else min(self._config.fetch.retry, source.config.refresh)
        jitter = self._config.fetch.jitter
        return base * self._random.uniform(1 - jitter, 1 + jitter)

    async def _keep_fresh(self, source: ListSource) -> None:
        ok = True
        while True:
            await asyncio.sleep(self.next_delay(source, ok))
            try:
                ok = await self.refresh(source)
            except Exception:  # noqa: BLE001 - a refresh loop must never die
                _log.exception("%s: refresh failed unexpectedly", source.name)
                ok = False

    async def stop(self) -> None:
        """Stop the refresh tasks and close the HTTP client."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- freshness -------------------------------------------------------------------

    def trust_failure(self, now: int) -> VitaleCredError | None:
        """Why no verdict can be trusted now (the trust list), or None."""
        source, reader = self.trust_source, self.reader
        if source is None or reader is None:
            return None
        current = reader.current
        if current is None:
            why = source.last_error or "never loaded"
            return TrustListExpired(f"no trust list is in force ({why})")
        listed = current.trust_list
        if now >= listed.issued_at + reader.max_age:
            return TrustListTooOld(
                f"trust list {listed.seq} was issued at {listed.issued_at}, more than "
                f"{reader.max_age} s ago"
            )
        if now > listed.next_update and self._config.trust.stale == "reject":
            return TrustListExpired(
                f"trust list {listed.seq} passed its next_update ({listed.next_update})"
            )
        if not source.fresh(now):
            last = source.last_error or "no refresh"
            return TrustListExpired(
                f"trust list {listed.seq} was not refreshed for more than "
                f"{source.config.max_age} s ({last})"
            )
        return None

    def _status_problem(self, source: ListSource, now: int) -> str | None:
        if source.data is None:
            return source.last_error or "never loaded"
        if not source.fresh(now):
            return (
                f"not refreshed for more than {source.config.max_age} s "
                f"({source.last_error or 'no refresh'})"
            )
        exp = source.detail.get("exp")
        if isinstance(exp, int) and now >= exp:
            return f"expired at {exp}"
        iat = source.detail.get("iat")
        if isinstance(iat, int) and now >= iat + self._config.status.max_list_age:
            return f"issued at {iat}, more than {self._config.status.max_list_age} s ago"
        return None

    def health(self, now: int) -> list[dict[str, Any]]:
        """One report per source: usable or not, why, and its ages."""
        failure = self.trust_failure(now)
        out: list[dict[str, Any]] = []
        for source in self.sources:
            if source.kind == "trust":
                problem = None if failure is None else f"[{failure.code}] {failure.message}"
            else:
                problem = self._status_problem(source, now)
            issued = source.detail.get("issued_at", source.detail.get("iat"))
            out.append(
                {
                    "name": source.name,
                    "kind": source.kind,
                    "source": source.config.location,
                    "ok": problem is None,
                    "reason": problem,
                    "fetched_at": source.fetched_at,
                    "fetch_age": None if source.fetched_at is None else now - source.fetched_at,
                    "list_age": None if not isinstance(issued, int) else now - issued,
                    "last_attempt": source.last_attempt,
                    "last_error": source.last_error,
                    "detail": dict(source.detail),
                }
            )
        return out


def _status_detail(status: VerifiedStatusList) -> dict[str, Any]:
    return {
        "uri": status.uri,
        "kid": status.kid.hex(),
        "list": status.list_id,
        "iat": status.iat,
        "exp": status.exp,
        "ttl": status.ttl,
        "size": status.size,
    }


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:300]
