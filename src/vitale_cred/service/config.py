"""The reader service's configuration: one TOML file, read strictly.

Every table and key is known (an unknown or misspelt one is refused, never
ignored), every value has its type and range checked, and relative paths are taken
from the directory of the file. :data:`TEMPLATE` is the commented file that
``vitale-cred reader init-config`` writes; ``docs/reader-service.md`` is its
reference. Errors are :class:`~vitale_cred.errors.InvalidArgument` (or an ``io.*``
error when the file cannot be read) naming the file and the key.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from vitale_cred.adapters.files import file_error
from vitale_cred.clock import MAX_CLOCK_SKEW
from vitale_cred.errors import InvalidArgument
from vitale_cred.presentation import MAX_AUDIENCE_BYTES, MAX_TTL
from vitale_cred.replay import DEFAULT_CAPACITY
from vitale_cred.status import StatusPolicy
from vitale_cred.trustlist import TrustListReader

__all__ = [
    "DEFAULT_PORT",
    "TEMPLATE",
    "TOKEN_ENV",
    "Config",
    "FetchConfig",
    "NfcConfig",
    "ServerConfig",
    "SourceConfig",
    "StateConfig",
    "StatusConfig",
    "TrustConfig",
    "VerifierConfig",
    "is_loopback",
    "load_config",
    "parse_config",
    "read_token",
]

#: The service's default TCP port.
DEFAULT_PORT = 8765
#: Environment variable that may hold the API token instead of a file.
TOKEN_ENV = "VITALE_CRED_API_TOKEN"  # noqa: S105 - the name of a variable
#: Shortest API token accepted (characters): a guessable token protects nothing.
MIN_TOKEN_LENGTH = 24
_DAY = 86_400


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """``[server]``: where the service listens and what it lets in."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    tls_cert: Path | None = None
    tls_key: Path | None = None
    api_token_file: Path | None = None
    allowed_hosts: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 16_384
    max_image_bytes: int = 4 * 1024 * 1024
    max_image_pixels: int = 4096 * 4096
    rate_limit: float = 100.0
    rate_burst: int = 200
    page: bool = True
    log_level: str = "info"
    access_log: bool = True

    @property
    def tls(self) -> bool:
        """True when the service serves HTTPS."""
        return self.tls_cert is not None


@dataclass(frozen=True, slots=True)
class StateConfig:
    """``[state]``: the persistent replay store and trust state."""

    dir: Path
    replay_store: Path
    trust_state: Path
    replay_capacity: int = DEFAULT_CAPACITY
    replay_when_full: Literal["evict", "refuse"] = "evict"
    #: ``power_cut``: an accepted verdict is answered once its token is on disk;
    #: ``process_crash``: once recorded, the disk flush following within 50 ms.
    replay_durability: Literal["power_cut", "process_crash"] = "power_cut"


@dataclass(frozen=True, slots=True)
class VerifierConfig:
    """``[verifier]``: the verification policy."""

    skew: int = 30
    max_token_lifetime: int = MAX_TTL
    audience: bytes | None = None
    allow_delegated: bool = True


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One list source: an ``https://`` URL or a file, refreshed every ``refresh`` seconds.

    ``max_age``: a copy not refreshed (fetched, revalidated or re-read) for longer
    than this is no longer used: verdicts fail closed until a refresh succeeds.
    """

    location: str
    refresh: int
    max_age: int

    @property
    def is_url(self) -> bool:
        """True for an ``https://`` source, False for a file."""
        return self.location.startswith("https://")


@dataclass(frozen=True, slots=True)
class TrustConfig:
    """``[trust]``: a static PEM bundle, or a signed trust list and its authority."""

    certificates: Path | None = None
    authority: Path | None = None
    list: SourceConfig | None = None
    max_list_age: int = TrustListReader.DEFAULT_MAX_AGE
    stale: Literal["reject", "accept_stale"] = "reject"


@dataclass(frozen=True, slots=True)
class StatusConfig:
    """``[status]``: revocation lists; none configured means no status check."""

    on_undetermined: Literal["reject", "accept"] = "reject"
    max_list_age: int = StatusPolicy.DEFAULT_MAX_LIST_AGE
    lists: tuple[SourceConfig, ...] = ()


@dataclass(frozen=True, slots=True)
class FetchConfig:
    """``[fetch]``: how lists are fetched over HTTPS and cached on disk."""

    cache_dir: Path
    ca_file: Path | None = None
    timeout: float = 10.0
    jitter: float = 0.1
    retry: int = 60
    max_bytes: int = 16 * 1024 * 1024 + 65_536


@dataclass(frozen=True, slots=True)
class NfcConfig:
    """``[nfc]``: PC/SC readers watched for taps."""

    enabled: bool = False
    readers: tuple[str, ...] = ()
    beneficiary_hint: int | None = None
    extended_length: bool = False
    wait: float = 5.0
    keep: int = 20
    keep_seconds: int = 120


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration (``path`` is the file it was read from, if any)."""

    server: ServerConfig
    state: StateConfig
    verifier: VerifierConfig
    trust: TrustConfig
    status: StatusConfig
    fetch: FetchConfig
    nfc: NfcConfig
    path: Path | None = field(default=None, compare=False)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and check the TOML file at ``path``."""
    source = Path(path)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise file_error(exc, "read", source) from exc
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"{source} is not UTF-8 text (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidArgument(f"{source} is not valid TOML: {exc}") from exc
    return parse_config(document, base=source.resolve().parent, path=source)


def parse_config(document: Mapping[str, Any], *, base: Path, path: Path | None = None) -> Config:
    """Check a parsed TOML document; relative paths are taken from ``base``."""
    where = str(path) if path is not None else "configuration"
    reader = _Reader(where, base)
    reader.keys(document, "", {"server", "state", "verifier", "trust", "status", "fetch", "nfc"})
    server = _server(reader, reader.table(document, "server"))
    state = _state(reader, reader.table(document, "state"))
    verifier = _verifier(reader, reader.table(document, "verifier"))
    trust = _trust(reader, reader.table(document, "trust"))
    status = _status(reader, reader.table(document, "status"))
    fetch = _fetch(reader, reader.table(document, "fetch"), state.dir)
    nfc = _nfc(reader, reader.table(document, "nfc"))
    config = Config(server, state, verifier, trust, status, fetch, nfc, path)
    _check_exposure(reader, config)
    return config


class _Reader:
    """Typed access to the document, with the file and key in every error."""

    def __init__(self, where: str, base: Path) -> None:
        self.where = where
        self.base = base

    def fail(self, key: str, message: str) -> InvalidArgument:
        return InvalidArgument(f"{self.where}: {key} {message}")

    def keys(self, table: Mapping[str, Any], prefix: str, known: set[str]) -> None:
        unknown = sorted(set(table) - known)
        if unknown:
            name = f"[{prefix}]" if prefix else "the top level"
            raise InvalidArgument(
                f"{self.where}: unknown key {unknown[0]!r} in {name} "
                f"(known: {', '.join(sorted(known))})"
            )

    def table(self, document: Mapping[str, Any], name: str) -> Mapping[str, Any]:
        value = document.get(name, {})
        if not isinstance(value, dict):
            raise self.fail(f"[{name}]", "must be a table")
        return value

    def integer(self, table: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
        value = table.get(key.rpartition(".")[2], default)
        if type(value) is not int or not low <= value <= high:
            raise self.fail(key, f"must be an integer {low}..{high}, not {value!r}")
        return value

    def number(
        self, table: Mapping[str, Any], key: str, default: float, low: float, high: float
    ) -> float:
        value = table.get(key.rpartition(".")[2], default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise self.fail(key, f"must be a number {low:g}..{high:g}, not {value!r}")
        return float(value)

    def boolean(self, table: Mapping[str, Any], key: str, default: bool) -> bool:
        value = table.get(key.rpartition(".")[2], default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, not {value!r}")
        return value

    def text(self, table: Mapping[str, Any], key: str, default: str | None) -> str | None:
        value = table.get(key.rpartition(".")[2], default)
        if value is None:
            return None
        if not isinstance(value, str) or not value or not value.isprintable():
            raise self.fail(key, f"must be a non-empty printable string, not {value!r}")
        return value

    def choice(
        self, table: Mapping[str, Any], key: str, default: str, allowed: tuple[str, ...]
    ) -> str:
        value = table.get(key.rpartition(".")[2], default)
        if value not in allowed:
            raise self.fail(key, f"must be one of {', '.join(map(repr, allowed))}, not {value!r}")
        return str(value)

    def path(self, table: Mapping[str, Any], key: str, default: Path | None = None) -> Path | None:
        value = self.text(table, key, None)
        if value is None:
            return default
        return self.base / Path(value).expanduser()

    def strings(self, table: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = table.get(key.rpartition(".")[2], [])
        if not isinstance(value, list) or not all(
            isinstance(v, str) and v and v.isprintable() for v in value
        ):
            raise self.fail(key, "must be an array of non-empty strings")
        return tuple(value)

    def source(
        self, table: Mapping[str, Any], key: str, *, refresh: int, max_age: int
    ) -> SourceConfig:
        self.keys(table, key, {"source", "refresh", "max_age"})
        location = self.text(table, f"{key}.source", None)
        if location is None:
            raise self.fail(f"{key}.source", "is required (an https:// URL or a file)")
        if "://" in location:
            parts = urlsplit(location)
            if parts.scheme != "https" or not parts.hostname:
                raise self.fail(
                    f"{key}.source", f"must be an https:// URL or a file, not {location!r}"
                )
            if parts.username or parts.password:
                raise self.fail(f"{key}.source", "must not carry credentials in the URL")
        else:
            location = str(self.base / Path(location).expanduser())
        every = self.integer(table, f"{key}.refresh", refresh, 10, 7 * _DAY)
        oldest = self.integer(table, f"{key}.max_age", max_age, 60, 365 * _DAY)
        if oldest < every:
            raise self.fail(f"{key}.max_age", f"({oldest}) must be at least refresh ({every})")
        return SourceConfig(location, every, oldest)


def _server(r: _Reader, t: Mapping[str, Any]) -> ServerConfig:
    r.keys(
        t,
        "server",
        {
            "host",
            "port",
            "tls_cert",
            "tls_key",
            "api_token_file",
            "allowed_hosts",
            "cors_origins",
            "max_body_bytes",
            "max_image_bytes",
            "max_image_pixels",
            "rate_limit",
            "rate_burst",
            "page",
            "log_level",
            "access_log",
        },
    )
    host = r.text(t, "server.host", "127.0.0.1") or "127.0.0.1"
    origins = r.strings(t, "server.cors_origins")
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise r.fail("server.cors_origins", f"holds {origin!r}, not an origin (scheme://host)")
    return ServerConfig(
        host=host,
        port=r.integer(t, "server.port", DEFAULT_PORT, 1, 65535),
        tls_cert=r.path(t, "server.tls_cert"),
        tls_key=r.path(t, "server.tls_key"),
        api_token_file=r.path(t, "server.api_token_file"),
        allowed_hosts=r.strings(t, "server.allowed_hosts"),
        cors_origins=origins,
        max_body_bytes=r.integer(t, "server.max_body_bytes", 16_384, 1024, 1024 * 1024),
        max_image_bytes=r.integer(
            t, "server.max_image_bytes", 4 * 1024 * 1024, 16_384, 64 * 1024 * 1024
        ),
        max_image_pixels=r.integer(
            t, "server.max_image_pixels", 4096 * 4096, 64 * 64, 16384 * 16384
        ),
        rate_limit=r.number(t, "server.rate_limit", 100.0, 0.1, 1_000_000),
        rate_burst=r.integer(t, "server.rate_burst", 200, 1, 10_000_000),
        page=r.boolean(t, "server.page", True),
        log_level=r.choice(
            t, "server.log_level", "info", ("critical", "error", "warning", "info", "debug")
        ),
        access_log=r.boolean(t, "server.access_log", True),
    )


def _default_state_dir() -> Path:
    override = os.environ.get("VITALE_CRED_STATE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "vitale-cred"


def _state(r: _Reader, t: Mapping[str, Any]) -> StateConfig:
    r.keys(
        t,
        "state",
        {
            "dir",
            "replay_store",
            "trust_state",
            "replay_capacity",
            "replay_when_full",
            "replay_durability",
        },
    )
    directory = r.path(t, "state.dir") or _default_state_dir()
    when_full = r.choice(t, "state.replay_when_full", "evict", ("evict", "refuse"))
    durability = r.choice(t, "state.replay_durability", "power_cut", ("power_cut", "process_crash"))
    return StateConfig(
        dir=directory,
        replay_store=r.path(t, "state.replay_store") or directory / "replay.sqlite",
        trust_state=r.path(t, "state.trust_state") or directory / "trust-state.sqlite",
        replay_capacity=r.integer(t, "state.replay_capacity", DEFAULT_CAPACITY, 1, 100_000_000),
        replay_when_full="refuse" if when_full == "refuse" else "evict",
        replay_durability="process_crash" if durability == "process_crash" else "power_cut",
    )


def _verifier(r: _Reader, t: Mapping[str, Any]) -> VerifierConfig:
    r.keys(t, "verifier", {"skew", "max_token_lifetime", "audience", "allow_delegated"})
    audience = r.text(t, "verifier.audience", None)
    raw = None if audience is None else audience.encode("utf-8")
    if raw is not None and len(raw) > MAX_AUDIENCE_BYTES:
        raise r.fail("verifier.audience", f"must be at most {MAX_AUDIENCE_BYTES} bytes of UTF-8")
    return VerifierConfig(
        skew=r.integer(t, "verifier.skew", 30, 0, MAX_CLOCK_SKEW),
        max_token_lifetime=r.integer(t, "verifier.max_token_lifetime", MAX_TTL, 1, MAX_TTL),
        audience=raw,
        allow_delegated=r.boolean(t, "verifier.allow_delegated", True),
    )


def _trust(r: _Reader, t: Mapping[str, Any]) -> TrustConfig:
    r.keys(t, "trust", {"certificates", "authority", "list", "max_list_age", "stale"})
    certificates = r.path(t, "trust.certificates")
    authority = r.path(t, "trust.authority")
    listed = t.get("list")
    if listed is not None and not isinstance(listed, dict):
        raise r.fail("[trust.list]", "must be a table")
    source = (
        None if listed is None else r.source(listed, "trust.list", refresh=3600, max_age=7 * _DAY)
    )
    if (certificates is None) == (source is None):
        raise r.fail(
            "[trust]",
            "needs exactly one of certificates (a PEM bundle) and [trust.list] (a signed "
            "trust list, with authority)",
        )
    if source is not None and authority is None:
        raise r.fail("trust.authority", "is required with [trust.list] (the roots that sign it)")
    if source is None and authority is not None:
        raise r.fail("trust.authority", "is used only with [trust.list]")
    stale = r.choice(t, "trust.stale", "reject", ("reject", "accept_stale"))
    return TrustConfig(
        certificates=certificates,
        authority=authority,
        list=source,
        max_list_age=r.integer(
            t, "trust.max_list_age", TrustListReader.DEFAULT_MAX_AGE, 3600, 3650 * _DAY
        ),
        stale="accept_stale" if stale == "accept_stale" else "reject",
    )


def _status(r: _Reader, t: Mapping[str, Any]) -> StatusConfig:
    r.keys(t, "status", {"on_undetermined", "max_list_age", "list"})
    listed = t.get("list", [])
    if not isinstance(listed, list) or not all(isinstance(item, dict) for item in listed):
        raise r.fail("[[status.list]]", "must be an array of tables")
    sources = tuple(
        r.source(item, f"status.list[{i}]", refresh=600, max_age=_DAY)
        for i, item in enumerate(listed)
    )
    if len({s.location for s in sources}) != len(sources):
        raise r.fail("[[status.list]]", "names one source twice")
    undetermined = r.choice(t, "status.on_undetermined", "reject", ("reject", "accept"))
    return StatusConfig(
        on_undetermined="accept" if undetermined == "accept" else "reject",
        max_list_age=r.integer(
            t, "status.max_list_age", StatusPolicy.DEFAULT_MAX_LIST_AGE, 60, 365 * _DAY
        ),
        lists=sources,
    )


def _fetch(r: _Reader, t: Mapping[str, Any], state_dir: Path) -> FetchConfig:
    r.keys(t, "fetch", {"cache_dir", "ca_file", "timeout", "jitter", "retry", "max_bytes"})
    return FetchConfig(
        cache_dir=r.path(t, "fetch.cache_dir") or state_dir / "lists",
        ca_file=r.path(t, "fetch.ca_file"),
        timeout=r.number(t, "fetch.timeout", 10.0, 0.5, 300.0),
        jitter=r.number(t, "fetch.jitter", 0.1, 0.0, 0.5),
        retry=r.integer(t, "fetch.retry", 60, 1, _DAY),
        max_bytes=r.integer(
            t, "fetch.max_bytes", 16 * 1024 * 1024 + 65_536, 1024, 256 * 1024 * 1024
        ),
    )


def _nfc(r: _Reader, t: Mapping[str, Any]) -> NfcConfig:
    r.keys(
        t,
        "nfc",
        {
            "enabled",
            "readers",
            "beneficiary_hint",
            "extended_length",
            "wait",
            "keep",
            "keep_seconds",
        },
    )
    hint = t.get("beneficiary_hint")
    if hint is not None and (type(hint) is not int or not 0 <= hint <= 255):
        raise r.fail("nfc.beneficiary_hint", f"must be an integer 0..255, not {hint!r}")
    return NfcConfig(
        enabled=r.boolean(t, "nfc.enabled", False),
        readers=r.strings(t, "nfc.readers"),
        beneficiary_hint=hint,
        extended_length=r.boolean(t, "nfc.extended_length", False),
        wait=r.number(t, "nfc.wait", 5.0, 0.1, 120.0),
        keep=r.integer(t, "nfc.keep", 20, 1, 1000),
        keep_seconds=r.integer(t, "nfc.keep_seconds", 120, 1, _DAY),
    )


def _check_exposure(r: _Reader, config: Config) -> None:
    """Off loopback, TLS and an API token are required; TLS needs both files."""
    server = config.server
    if (server.tls_cert is None) != (server.tls_key is None):
        raise r.fail("server.tls_cert", "and server.tls_key go together")
    if not is_loopback(server.host):
        if not server.tls:
            raise r.fail(
                "server.host",
                f"{server.host!r} is not a loopback address: set tls_cert and tls_key",
            )
        if server.api_token_file is None and not os.environ.get(TOKEN_ENV):
            raise r.fail(
                "server.host",
                f"{server.host!r} is not a loopback address: set api_token_file "
                f"(or the {TOKEN_ENV} environment variable)",
            )


def read_token(config: Config) -> str | None:
    """The API token: from ``api_token_file``, else ``$VITALE_CRED_API_TOKEN``, else None."""
    path = config.server.api_token_file
    if path is not None:
        try:
            token = path.read_text("utf-8").strip()
        except OSError as exc:
            raise file_error(exc, "read", path) from exc
        except UnicodeDecodeError as exc:
            raise InvalidArgument(f"{path} is not UTF-8 text") from exc
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
        if not token:
            return None
    if len(token) < MIN_TOKEN_LENGTH or not token.isascii() or not token.isprintable():
        raise InvalidArgument(
            f"the API token must be at least {MIN_TOKEN_LENGTH} printable ASCII characters"
        )
    return token


TEMPLATE = """\
# vitale-cred reader service configuration (vitale-cred reader serve --config FILE).
# Reference: docs/reader-service.md. Unknown keys are refused. Relative paths are
# taken from the directory of this file. Durations are in seconds.

[server]
# Loopback by default. Any other address requires tls_cert, tls_key and an API token.
host = "127.0.0.1"
port = 8765
# tls_cert = "tls/cert.pem"          # PEM certificate chain
# tls_key = "tls/key.pem"            # PEM private key
# api_token_file = "api-token"       # one line, >= 24 characters; clients send
#                                    # "Authorization: Bearer <token>"
#                                    # (or set VITALE_CRED_API_TOKEN)
# allowed_hosts = ["pharmacie-srv.local"]   # Host headers accepted besides host
cors_origins = []                    # browser origins allowed to call the API
max_body_bytes = 16384               # largest JSON request body
max_image_bytes = 4194304            # largest camera frame or image upload
max_image_pixels = 16777216          # largest image, width x height
rate_limit = 100                     # requests per second per client address
rate_burst = 200                     # requests a client may send at once
page = true                          # serve the reception page at /
log_level = "info"                   # critical, error, warning, info, debug
access_log = true

[state]
# The replay store and the trust state survive restarts. Every service of the
# pharmacy's machine that must refuse the others' replays uses the same files.
# dir = "/var/lib/vitale-cred"       # default: $VITALE_CRED_STATE_DIR or
#                                    # ~/.local/state/vitale-cred
# replay_store = "/var/lib/vitale-cred/replay.sqlite"
# trust_state = "/var/lib/vitale-cred/trust-state.sqlite"
replay_capacity = 100000
replay_when_full = "evict"           # or "refuse": same value at every sharer
replay_durability = "power_cut"      # an accepted token is on disk before its verdict
#                                    # is sent; "process_crash": sent once recorded, on
#                                    # disk within 50 ms (a power cut may forget those)

[verifier]
skew = 30                            # tolerated clock disagreement, 0..300
max_token_lifetime = 300
# audience = "pharmacie-0750001"     # accept only presentations made for this reader
allow_delegated = true

[trust]
# Either a static PEM bundle of roots and issuer certificates ...
certificates = "trust.pem"
# ... or a signed trust list, with the roots that sign it (remove certificates):
# authority = "roots.pem"
# max_list_age = 7776000             # refuse a list issued longer ago (90 days)
# stale = "reject"                   # or "accept_stale" past its next_update
# [trust.list]
# source = "https://trust.example/trust-list.cbor"   # or a file
# refresh = 3600
# max_age = 604800                   # not refreshed for this long: fail closed

[status]
on_undetermined = "reject"           # or "accept"
max_list_age = 604800                # refuse a status list issued longer ago
# One table per revocation list (none: no status check):
# [[status.list]]
# source = "https://status.example/lists/1"           # or a file
# refresh = 600
# max_age = 86400

[fetch]
# cache_dir = "/var/lib/vitale-cred/lists"   # default: <state dir>/lists
# ca_file = "ca.pem"                 # extra CA bundle for the list servers
timeout = 10
jitter = 0.1                         # refresh intervals vary by +/- this fraction
retry = 60                           # after a failed fetch, try again this soon

[nfc]
enabled = false                      # watch PC/SC readers (needs pcscd and pyscard)
readers = []                         # reader names; empty: every reader
# beneficiary_hint = 0
extended_length = false
wait = 5                             # seconds a tap may take
keep = 20                            # last taps kept for GET /v1/nfc/last ...
keep_seconds = 120                   # ... and for at most this long
"""
