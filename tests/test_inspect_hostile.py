"""``inspect`` and ``vitale-cred inspect`` read patients' QR codes and files: hostile input.

Each failure class once reported against them has a test asserting the exact error
code (or the output) and a time bound; then hypothesis feeds random bytes and text
to every entry point, the command line included, and only library errors (or the
command line's documented exit codes, without a traceback) may come out.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitale_cred.cli.app import EXIT_INVALID, EXIT_OK, main
from vitale_cred.cli.dump import (
    MAX_INSPECT_BYTES,
    MAX_TRANSCRIPT_BYTES,
    MAX_TRANSCRIPT_EXCHANGES,
    inspect_bytes,
    inspect_file,
)
from vitale_cred.credential import decode_claims
from vitale_cred.errors import (
    Base45BadCharacter,
    InspectInputError,
    InspectTooLarge,
    InvalidArgument,
    QrTooLarge,
    VitaleCredError,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.base45 import MAX_DECODE_CHARS, b45decode, b45encode
from vitale_cred.hazmat.qrtext import MAX_QR_TEXT_CHARS, QR_PREFIX
from vitale_cred.registry import CoseHeader
from vitale_cred.trustlist import TRUST_LIST_TYP

from _world import World, make_world

_WORLD = make_world()
_CREDENTIAL = _WORLD.bundle.credentials[0]
_MAX_TIME = 2**40 - 1  # the largest time the wire allows (credential.md)


def refused(
    exc_type: type[VitaleCredError], code: str, data: bytes | memoryview, bound: float = 1.0
) -> str:
    """Inspect ``data``: it must raise exactly ``exc_type`` with ``code`` within ``bound`` s."""
    start = time.perf_counter()
    with pytest.raises(exc_type) as info:
        inspect_bytes(data)
    elapsed = time.perf_counter() - start
    assert type(info.value) is exc_type
    assert info.value.code == code
    assert elapsed < bound, f"{elapsed:.2f} s"
    return info.value.message


def _resigned(world: World, **changes: Any) -> bytes:
    claims = decode_claims(cose.decode_sign1(_CREDENTIAL).payload)
    return world.issuer.sign_claims(dataclasses.replace(claims, **changes))


# --- UnicodeDecodeError: bytes that are not UTF-8 -----------------------------------


def test_qr_text_with_bytes_outside_ascii_is_a_base45_bad_character() -> None:
    refused(Base45BadCharacter, "base45.bad_character", QR_PREFIX.encode() + b"\xff\xfe")


def test_text_transcript_with_bytes_outside_ascii_is_malformed() -> None:
    refused(InspectInputError, "inspect.malformed", b"> 00a4\n< \xff\xfe\n")


def test_json_transcript_that_is_not_utf8_is_malformed() -> None:
    refused(InspectInputError, "inspect.malformed", b'[{"command": "\xff"}]')


# --- TypeError: values of the wrong type where lenient decoding lets them through ----


def test_x5chain_that_is_a_number_is_shown_not_counted() -> None:
    payload = cose.decode_sign1(_CREDENTIAL).payload
    token = cose.sign1(
        payload,
        _WORLD.material.signer(),
        kid=_WORLD.material.kid,
        unprotected={CoseHeader.X5CHAIN: 5},
    )
    out = inspect_bytes(token)
    assert "x5chain(33): 5" in out or "33: 5" in out


def test_trust_list_whose_entries_are_a_number_is_described() -> None:
    content = {1: 1, 2: 0, 3: 1, 4: 7}
    token = cose.sign1(
        _cbor.encode(content),
        _WORLD.material.signer(),
        kid=_WORLD.material.kid,
        protected={CoseHeader.TYP: TRUST_LIST_TYP},
    )
    assert inspect_bytes(token).startswith("trust list")


# --- ValueError: year out of range, hex with spaces or odd length ---------------------


def test_expiry_at_the_largest_wire_time_is_shown_as_a_number() -> None:
    out = inspect_bytes(_resigned(_WORLD, exp=_MAX_TIME))
    assert f"{_MAX_TIME} (seconds since 1970; beyond the calendar)" in out


def test_expiry_beyond_the_calendar_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "far.cbor"
    path.write_bytes(_resigned(_WORLD, exp=_MAX_TIME))
    out = io.StringIO()
    assert main(["inspect", str(path)], out) == EXIT_OK
    assert str(_MAX_TIME) in out.getvalue()


def test_hex_with_spaces_and_newlines_is_read() -> None:
    spaced = " ".join(f"{b:02x}" for b in _CREDENTIAL)
    wrapped = "\n".join(spaced[i : i + 47] for i in range(0, len(spaced), 47))
    assert inspect_bytes(wrapped.encode()) == inspect_bytes(_CREDENTIAL)


@pytest.mark.parametrize("text", [b"ab c", b"abc", b"a", b"0 1 2", b"\t f \n"])
def test_hex_with_an_odd_number_of_digits_is_malformed(text: bytes) -> None:
    assert "odd number of digits" in refused(InspectInputError, "inspect.malformed", text)


@pytest.mark.parametrize(
    "item",
    [
        {"command": "00a 4", "response": "9000"},
        {"command": "00a4", "response": "zz"},
        {"command": 1, "response": "9000"},
        {"command": "00a4"},
        "00a4",
        [],
    ],
    ids=["space-in-byte", "not-hex", "number", "no-response", "string", "list"],
)
def test_json_transcript_with_a_bad_exchange_is_malformed(item: object) -> None:
    refused(InspectInputError, "inspect.malformed", json.dumps([item]).encode())


def test_text_transcript_with_bad_hex_is_malformed() -> None:
    refused(InspectInputError, "inspect.malformed", b"> 00a\n< 9000\n")


# --- RecursionError: deep JSON ---------------------------------------------------------


@pytest.mark.parametrize("depth", [1_000, 100_000, 500_000])
def test_deeply_nested_json_transcript_is_malformed(depth: int) -> None:
    text = b"[" * depth + b"]" * depth
    if len(text) > MAX_TRANSCRIPT_BYTES:
        refused(InspectTooLarge, "inspect.too_large", text)
    else:
        assert "nested too deeply" in refused(InspectInputError, "inspect.malformed", text)


def test_json_that_is_not_a_list_of_exchanges_is_malformed() -> None:
    refused(InspectInputError, "inspect.malformed", b"[1, 2")
    refused(InspectInputError, "inspect.malformed", b'[{"command": "00", "response": "90"}')


# --- time and memory: huge inputs --------------------------------------------------


def test_ten_megabyte_json_transcript_is_refused_in_under_a_second() -> None:
    exchange = {"command": "00a4040008f0564954414c450100", "response": "9000"}
    text = json.dumps([exchange] * 250_000).encode()
    assert len(text) > 10_000_000
    refused(InspectTooLarge, "inspect.too_large", text, bound=1.0)


def test_ten_megabyte_text_transcript_is_refused_in_under_a_second() -> None:
    text = b"> 00a4040008f0564954414c450100\n< 9000\n" * 300_000
    assert len(text) > 10_000_000
    refused(InspectTooLarge, "inspect.too_large", text, bound=1.0)


def test_transcript_with_too_many_exchanges_is_refused() -> None:
    count = MAX_TRANSCRIPT_EXCHANGES + 1
    refused(InspectTooLarge, "inspect.too_large", b"> 00\n< 9000\n" * count)
    exchanges = [{"command": "00", "response": "9000"}] * count
    refused(InspectTooLarge, "inspect.too_large", json.dumps(exchanges).encode())


def test_transcript_at_its_caps_is_read() -> None:
    out = inspect_bytes(b"> 00a4040000\n< 9000\n" * MAX_TRANSCRIPT_EXCHANGES)
    assert out.startswith(f"APDU transcript: {MAX_TRANSCRIPT_EXCHANGES} exchanges")


def test_input_over_the_cap_is_refused_before_any_work() -> None:
    data = bytes(MAX_INSPECT_BYTES + 1)
    refused(InspectTooLarge, "inspect.too_large", data, bound=0.5)
    refused(InspectTooLarge, "inspect.too_large", memoryview(data), bound=0.5)


def test_file_over_the_cap_is_refused_reading_at_most_one_byte_more(tmp_path: Path) -> None:
    path = tmp_path / "huge.bin"
    with path.open("wb") as stream:
        stream.truncate(4 * MAX_INSPECT_BYTES)  # sparse: large on paper, cheap on disk
    start = time.perf_counter()
    with pytest.raises(InspectTooLarge):
        inspect_file(path)
    assert time.perf_counter() - start < 1.0
    out = io.StringIO()
    assert main(["inspect", str(path)], out) == EXIT_INVALID


def test_hex_longer_than_the_largest_object_is_a_cbor_size_error() -> None:
    # Under the byte cap, but once decoded larger than any object of the protocol.
    digits = b"ab" * (MAX_INSPECT_BYTES // 2)
    with pytest.raises(VitaleCredError) as info:
        inspect_bytes(digits)
    assert info.value.code == "cbor.too_large"


def test_qr_text_longer_than_a_qr_code_is_refused_before_base45() -> None:
    long = QR_PREFIX.encode() + b"\xff" * (MAX_QR_TEXT_CHARS * 2000)
    refused(QrTooLarge, "qr.too_large", long, bound=0.5)


def test_b45decode_has_a_size_cap_naming_qr_too_large() -> None:
    text = b45encode(bytes(MAX_DECODE_CHARS))  # 1.5 characters per byte
    assert len(text) > MAX_DECODE_CHARS
    with pytest.raises(QrTooLarge) as info:
        b45decode(text)
    assert info.value.code == "qr.too_large"
    assert b45decode(text, max_chars=len(text)) == bytes(MAX_DECODE_CHARS)
    start = time.perf_counter()
    with pytest.raises(QrTooLarge):
        b45decode("\N{SNOWMAN}" * 10_000_000)  # refused on its length, not scanned
    assert time.perf_counter() - start < 0.1


@pytest.mark.parametrize("bad", [-1, 1.5, "10", None])
def test_b45decode_refuses_a_bad_cap(bad: Any) -> None:
    with pytest.raises(InvalidArgument):
        b45decode("", max_chars=bad)


def test_b45decode_at_its_cap_decodes() -> None:
    text = "0" * MAX_DECODE_CHARS  # 4296 = 3 x 1432: two bytes per group
    assert b45decode(text) == bytes(MAX_DECODE_CHARS // 3 * 2)


def test_inspect_of_non_bytes_is_a_usage_error() -> None:
    with pytest.raises(InvalidArgument):
        inspect_bytes("VC1:" + "0" * 10)  # type: ignore[arg-type]


def test_inspect_file_of_a_directory_or_nul_path_is_a_usage_error(tmp_path: Path) -> None:
    for path in (str(tmp_path), str(tmp_path / "a\0b")):
        with pytest.raises(InvalidArgument):
            inspect_file(path)


# --- random input: only library errors, at every entry point -------------------------

HOSTILE = settings(
    max_examples=150,
    deadline=dt.timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_PREFIXES = [b"", QR_PREFIX.encode(), b"[", b"> ", b"[{", b'[{"command": "', b"\xd2", b"\x84"]
_GENUINE = [_CREDENTIAL, _WORLD.bundle.encode(), _CREDENTIAL.hex().encode()]


def _mutate(data: bytes, position: int, value: int) -> bytes:
    if not data:
        return bytes((value,))
    position %= len(data)
    return data[:position] + bytes((value,)) + data[position + 1 :]


hostile_bytes = st.one_of(
    st.binary(max_size=600),
    st.tuples(st.sampled_from(_PREFIXES), st.binary(max_size=400)).map(b"".join),
    st.tuples(st.sampled_from(_PREFIXES), st.text(max_size=200)).map(
        lambda p: p[0] + p[1].encode("utf-8", "surrogatepass")
    ),
    st.tuples(st.sampled_from(_GENUINE), st.integers(0, 10_000), st.integers(0, 255)).map(
        lambda g: _mutate(*g)
    ),
    st.text(alphabet="0123456789abcdefABCDEF \n\t", max_size=400).map(str.encode),
)


def _only_library_errors(call: Any, *args: Any, **kwargs: Any) -> None:
    # Anything else propagates and fails the test.
    with contextlib.suppress(VitaleCredError):
        call(*args, **kwargs)


@HOSTILE
@given(hostile_bytes)
def test_random_bytes_into_inspect_bytes_raise_only_library_errors(data: bytes) -> None:
    _only_library_errors(inspect_bytes, data)
    _only_library_errors(inspect_bytes, bytearray(data))


@HOSTILE
@given(hostile_bytes)
def test_random_bytes_with_a_trust_store_raise_only_library_errors(data: bytes) -> None:
    _only_library_errors(inspect_bytes, data, trust=_WORLD.trust, now=int(_WORLD.clock.now()))


@HOSTILE
@given(st.text(max_size=300))
def test_random_text_into_b45decode_raises_only_library_errors(text: str) -> None:
    _only_library_errors(b45decode, text)
    _only_library_errors(b45decode, QR_PREFIX + text)


@HOSTILE
@given(data=hostile_bytes)
def test_random_files_into_inspect_file_and_the_cli(
    data: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "input"
    path.write_bytes(data)
    _only_library_errors(inspect_file, path)
    _only_library_errors(inspect_file, str(path))
    out = io.StringIO()
    code = main(["inspect", str(path)], out)
    err = capsys.readouterr().err
    assert code in (EXIT_OK, EXIT_INVALID)
    assert "Traceback" not in err
    if code == EXIT_INVALID:
        # The documented shape: one line naming the error code.
        assert err.startswith("vitale-cred: error [") and err.count("\n") == 1
    else:
        assert out.getvalue()


@HOSTILE
@given(text=st.text(max_size=200))
def test_random_text_as_the_cli_arguments_exits_with_a_documented_code(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = io.StringIO()
    code = main(["inspect", text or "-", "--at", text or "x"], out)
    assert code in (EXIT_INVALID, 2)
    assert "Traceback" not in capsys.readouterr().err
