"""``vitale-cred reader``: the reader service (``serve``) and its configuration file.

``register(subparsers)`` adds the command to the main parser. The service itself
lives in :mod:`vitale_cred.service` (optional extra ``vitale-cred[service]``),
imported only when ``serve`` runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from vitale_cred.adapters.files import check_output, file_error
from vitale_cred.cli._help import Help
from vitale_cred.errors import FileExists, UsageError

__all__ = ["cmd_init_config", "cmd_serve", "register"]

_INSTALL_HINT = "the reader service needs: pip install 'vitale-cred[service]'"


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    """Run the service until Ctrl-C or SIGTERM."""
    try:
        from vitale_cred.service.app import serve  # noqa: PLC0415 - optional extra
        from vitale_cred.service.config import load_config  # noqa: PLC0415
    except ImportError as exc:
        raise UsageError(f"{_INSTALL_HINT} ({exc.name} is missing)") from exc

    config = load_config(args.config)

    def ready(url: str) -> None:
        print(f"vitale-cred reader service on {url} (Ctrl-C to stop)", file=sys.stderr, flush=True)

    serve(config, ready=ready)
    print("reader service stopped", file=out)
    return 0


def cmd_init_config(args: argparse.Namespace, out: TextIO) -> int:
    """Write the commented configuration template."""
    from vitale_cred.service.config import TEMPLATE  # noqa: PLC0415 - standard library only

    path = Path(args.out)
    if path.exists() and not args.force:
        raise FileExists(f"{path} already exists; give --force to replace it")
    check_output(path)
    try:
        path.write_text(TEMPLATE, encoding="utf-8")
    except OSError as exc:
        raise file_error(exc, "write", path) from exc
    print(f"wrote {path}: edit [trust] (and [server] off this machine), then run", file=out)
    print(f"  vitale-cred reader serve --config {path}", file=out)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``reader serve`` and ``reader init-config`` to the main parser."""
    reader = subparsers.add_parser(
        "reader",
        help="the reader service: an HTTP API and reception page for practice software",
        description=(
            "The reader service: one long-running local process that practice software "
            "calls over HTTP/JSON (QR text, camera frames, NFC taps), with a reception "
            "page for the front desk. Guide: docs/reader-service.md."
        ),
        epilog="example: vitale-cred reader init-config --out reader.toml && "
        "vitale-cred reader serve --config reader.toml",
        formatter_class=Help,
    )
    actions = reader.add_subparsers(dest="action", metavar="ACTION", required=True)
    serve = actions.add_parser(
        "serve",
        help="run the service (until Ctrl-C or SIGTERM)",
        description=(
            "Run the reader service described by a TOML configuration file: it binds "
            "127.0.0.1:8765 unless the file says otherwise, keeps the trust and status "
            "lists fresh, and watches the PC/SC readers when [nfc] is enabled."
        ),
        epilog="example: vitale-cred reader serve --config /etc/vitale-cred/reader.toml",
        formatter_class=Help,
    )
    serve.add_argument(
        "--config",
        required=True,
        metavar="FILE",
        help="TOML configuration (write one with: vitale-cred reader init-config)",
    )
    serve.set_defaults(func=cmd_serve)
    init = actions.add_parser(
        "init-config",
        help="write a commented configuration file to edit",
        description=(
            "Write a commented reader.toml with every setting and its default; edit "
            "its [trust] table before serving."
        ),
        epilog="example: vitale-cred reader init-config --out reader.toml",
        formatter_class=Help,
    )
    init.add_argument("--out", default="reader.toml", metavar="FILE", help="file to write")
    init.add_argument("--force", action="store_true", help="replace FILE if it exists")
    init.set_defaults(func=cmd_init_config)
