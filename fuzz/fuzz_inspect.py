"""Fuzz ``inspect``: the dump tool reads patients' QR codes and files like a verifier.

Input: one mode byte, then a body. Mode 0: the body as it is; mode 1: ``VC1:`` +
the body (Latin-1 text, to reach Base45 with any byte); mode 2: the body as spaced
hex; mode 3: the body split into an APDU transcript in JSON; mode 4: the same as
text lines; mode 5: the body with a trust store and an instant (signatures, trust
and validity checked); mode 6: the body through ``inspect_file`` and the command
line. Expected: only ``VerificationError`` subclasses, and exit code 1 from the
command line with one error line. Property: raw CBOR and its spaced hex read alike.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
from contextlib import redirect_stderr
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["vitale_cred"]):
    from vitale_cred.cli.app import EXIT_INVALID, EXIT_OK
    from vitale_cred.cli.app import main as cli_main
    from vitale_cred.cli.dump import inspect_bytes, inspect_file
    from vitale_cred.errors import VerificationError
    from vitale_cred.hazmat.qrtext import QR_PREFIX

    import _world

WORLD = _world.build()
call = _world.call
_FILE = Path(tempfile.mkdtemp(prefix="vitale-fuzz-inspect-")) / "input"


def _transcript(body: bytes) -> list[tuple[str, str]]:
    messages = _world.unframe(body)
    return [(c.hex(), r.hex()) for c, r in zip(messages[0::2], messages[1::2], strict=False)]


def _input(mode: int, body: bytes) -> bytes:
    if mode == 1:
        return QR_PREFIX.encode() + body
    if mode == 2:
        return " ".join(f"{b:02x}" for b in body).encode()
    if mode == 3:
        pairs = [{"command": c, "response": r} for c, r in _transcript(body)]
        return json.dumps(pairs).encode()
    if mode == 4:
        return "".join(f"> {c}\n< {r}\n" for c, r in _transcript(body)).encode()
    return body


def _cli(data: bytes) -> None:
    _FILE.write_bytes(data)
    call(VerificationError, inspect_file, _FILE)
    err = io.StringIO()
    with redirect_stderr(err):
        code = cli_main(["inspect", str(_FILE)], io.StringIO())
    if code not in (EXIT_OK, EXIT_INVALID):
        raise AssertionError(f"inspect exited {code}: {err.getvalue()!r}")
    if code == EXIT_INVALID and not err.getvalue().startswith("vitale-cred: error ["):
        raise AssertionError(f"inspect failed without an error line: {err.getvalue()!r}")


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    mode, body = data[0] % 7, data[1:]
    if mode == 6:
        _cli(body)
        return
    text = _input(mode, body)
    if mode == 5:
        call(VerificationError, inspect_bytes, text, trust=WORLD.trust, now=_world.NOW)
        return
    shown = call(VerificationError, inspect_bytes, text)
    stripped = body.strip()
    # Raw CBOR (every object of the protocol starts with a byte >= 0x80) and its hex
    # dump are the same object; other inputs (QR text, transcripts) are not.
    if mode == 0 and shown is not None and stripped and stripped[0] >= 0x80:
        spaced = call(VerificationError, inspect_bytes, _input(2, body))
        if spaced != shown:
            raise AssertionError(f"spaced hex reads differently: {body!r}")


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
