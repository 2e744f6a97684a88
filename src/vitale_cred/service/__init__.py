"""The reader service: one local process that practice software calls over HTTP.

``vitale-cred reader serve --config reader.toml`` runs it (``docs/reader-service.md``).
It keeps one :class:`~vitale_cred.verify.Verifier` warm with the persistent replay
store and trust state, keeps the trust list and status lists fresh, watches PC/SC
readers for NFC taps, and serves the front desk's reception page. Every verdict is
:func:`vitale_cred.verify.verdict`, the JSON of ``vitale-cred verify --json``.

Optional extra ``vitale-cred[service]`` (Starlette, uvicorn, httpx); the modules
of this package import them, so nothing below the command line imports this package.
"""

from __future__ import annotations

from importlib import metadata

__all__ = ["VERSION"]

try:
    #: The installed distribution's version (the curated API's ``__version__`` sits in
    #: the same layer, which this package may not import).
    VERSION: str = metadata.version("vitale-cred")
except metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
    VERSION = "0+unknown"
