"""Write the seed corpus of every fuzz harness from the library's own outputs.

Usage: ``python fuzz/make_corpus.py [OUT_DIR]`` (default ``fuzz/corpus``). Writes
``OUT_DIR/<harness>/<name>`` files: credentials, presentations and QR texts of the
family5 card, Status List Tokens, a trust list, their CBOR payloads, and recorded
NFC exchanges in every holder/reader configuration. Each file name says what it
holds. The conformance vectors (``spec/vectors/*.json``) add each case's input to
the harnesses of its area: byte inputs by file (see ``_VECTOR_HARNESSES``), QR texts
to ``qr``, recorded NFC exchanges to ``nfc_holder``, ``nfc_reader`` and ``apdu``.
``inspect`` gets the tokens, lists, QR texts and exchanges of the others in each
form the tool reads (raw, hex, QR text, JSON and text transcripts, a file).

The world is deterministic (``_world.py``), so the same files come out every time,
and the recorded NFC exchanges replay, byte for byte, into the harnesses' sessions.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

from vitale_cred.credential import strip_x5chain
from vitale_cred.errors import VitaleCredError
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.apdu import CommandApdu, Ins, ResponseApdu, split_command
from vitale_cred.hazmat.base45 import b45decode
from vitale_cred.hazmat.qrtext import QR_PREFIX, encode_qr_text
from vitale_cred.nfc import credentials_by_index, pair
from vitale_cred.presentation import present, present_qr
from vitale_cred.status import StatusList, StatusValue, issue_status_list

import _world

HARNESSES = (
    "cbor",
    "cose",
    "qr",
    "presentation",
    "apdu",
    "status_list",
    "trust_list",
    "nfc_holder",
    "nfc_reader",
    "inspect",
)
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")


class Corpus:
    """Seeds per harness, deduplicated."""

    def __init__(self) -> None:
        self.seeds: dict[str, dict[bytes, str]] = {name: {} for name in HARNESSES}

    def add(self, harness: str, name: str, data: bytes) -> None:
        self.seeds[harness].setdefault(data, name)

    def write(self, out: Path) -> dict[str, int]:
        counts = {}
        for harness, seeds in self.seeds.items():
            directory = out / harness
            directory.mkdir(parents=True, exist_ok=True)
            for data, name in seeds.items():
                digest = hashlib.sha256(data).hexdigest()[:12]
                (directory / f"{name}-{digest}").write_bytes(data)
            counts[harness] = len(seeds)
        return counts


def _tokens(world: _world.FuzzWorld, corpus: Corpus) -> None:
    transcript = hashlib.sha256(b"fuzz transcript").digest()
    for index, credential in enumerate(world.bundle.credentials):
        compact = strip_x5chain(credential)
        raw = world.raw_bundle.credentials[index]
        message = cose.decode_sign1(credential)
        for name, token in (
            (f"credential-{index}", credential),
            (f"credential-compact-{index}", compact),
            (f"credential-raw-key-{index}", raw),
        ):
            corpus.add("cose", name, token)
            corpus.add("presentation", name, token)
            corpus.add("cbor", name, b"\x00" + token)
        corpus.add("cbor", f"claims-{index}", b"\x00" + message.payload)
        corpus.add("cbor", f"protected-{index}", b"\x00" + message.protected_bytes)
        rng = _world.drbg(f"corpus presentation {index}")
        variants = {
            "qr-token": present(credential, world.device, clock=world.clock, rng=rng),
            "audience-token": present(
                credential, world.device, clock=world.clock, audience=b"pharmacie-42", rng=rng
            ),
            "nfc-token": present(
                credential, world.device, clock=world.clock, transcript=transcript, rng=rng
            ),
            "long-token": present(credential, world.device, clock=world.clock, ttl=300, rng=rng),
        }
        for name, token in variants.items():
            corpus.add("presentation", f"{name}-{index}", token)
            corpus.add("cose", f"{name}-{index}", token)
            corpus.add("cbor", f"{name}-{index}", b"\x00" + token)
            payload = cose.decode_sign1(token).payload
            corpus.add("presentation", f"{name}-payload-{index}", payload)
            corpus.add("cbor", f"{name}-payload-{index}", b"\x00" + payload)
        for compress in (None, True, False):
            text = present_qr(
                credential, world.device, clock=world.clock, rng=rng, compress=compress
            )
            corpus.add("qr", f"qr-text-{index}-{compress}", b"\x00" + text.encode("latin-1"))
            corpus.add("qr", f"qr-envelope-{index}-{compress}", b"\x01" + b45decode(text[4:]))
    corpus.add("cose", "bundle", world.bundle.encode())
    corpus.add("cbor", "bundle", b"\x00" + world.bundle.encode())
    corpus.add("qr", "qr-tiny", b"\x00" + encode_qr_text(b"\xa0").encode("latin-1"))
    corpus.add("qr", "qr-zlib-tiny", b"\x01\x01" + zlib.compress(b"\xa0"))
    corpus.add("qr", "qr-prefix-only", b"\x00" + QR_PREFIX.encode())


def _lists(world: _world.FuzzWorld, corpus: Corpus) -> None:
    corpus.add("status_list", "status-token", world.status_token)
    corpus.add("cose", "status-token", world.status_token)
    signer = cose.SoftwareSigner(_world.fixed_key(_world.ISSUER_KEY_LABEL))
    for bits in (1, 4, 8):
        status_list = StatusList(bits, 32)
        status_list.set(1, StatusValue.INVALID)
        token = issue_status_list(
            signer,
            kid=world.issuer_kid,
            uri=_world.STATUS_URI,
            list_id=_world.STATUS_LIST,
            status_list=status_list,
            iat=_world.NOW - 60,
            aggregation_uri="https://status.example.test/all",
        )
        corpus.add("status_list", f"status-token-bits-{bits}", token)
        corpus.add("status_list", f"raw-list-bits-{bits}", bytes((bits.bit_length() - 1,)))
        corpus.add(
            "status_list",
            f"compressed-list-bits-{bits}",
            bytes((bits.bit_length() - 1,)) + status_list.compressed(),
        )
    claims = cose.decode_sign1(world.status_token).payload
    corpus.add("status_list", "status-claims", claims)
    corpus.add("cbor", "status-claims", b"\x00" + claims)
    reference = [_world.STATUS_LIST, 3]
    corpus.add("status_list", "status-reference", _cbor.encode(reference))
    corpus.add("trust_list", "trust-list", world.trust_list)
    corpus.add("cose", "trust-list", world.trust_list)
    payload = cose.decode_sign1(world.trust_list).payload
    corpus.add("trust_list", "trust-list-payload", payload)
    corpus.add("cbor", "trust-list-payload", b"\x00" + payload)


def _exchanges(world: _world.FuzzWorld, corpus: Corpus) -> None:
    credentials = credentials_by_index(world.bundle.credentials)
    verifier = world.verifier()
    for reader_config in range(32):
        hint = reader_config >> 2
        if hint >= len(credentials):
            continue
        for holder_config in (
            _world.holder_config_for(reader_config),
            _world.holder_config_for(reader_config) ^ 2,
        ):
            holder = _world.holder(world, holder_config, credentials)
            reader = _world.reader(verifier, reader_config)
            trace: list[tuple[bytes, bytes]] = []
            try:
                pair(holder, reader, trace=trace)
                outcome = "ok"
            except VitaleCredError as exc:
                outcome = exc.code.replace(".", "_")
            commands = [command for command, _ in trace]
            responses = [response for _, response in trace]
            name = f"reader{reader_config:02d}-holder{holder_config}-{outcome}"
            corpus.add("nfc_holder", name, bytes((holder_config,)) + _world.frame(commands))
            corpus.add("nfc_reader", name, bytes((reader_config,)) + _world.frame(responses))
            corpus.add("apdu", name, b"\x10" + _world.frame(commands + responses))
            if reader_config < 4:
                # inspect reads a transcript as command, response, command, ...
                exchanges = _world.frame([m for pair in trace for m in pair])
                corpus.add("inspect", f"{name}-json", b"\x03" + exchanges)
                corpus.add("inspect", f"{name}-text", b"\x04" + exchanges)
            for response in responses[:1]:
                corpus.add("cbor", f"fci-{holder_config}", b"\x00" + response[:-2])
    long_command = CommandApdu(0x80, Ins.PRESENTATION_REQUEST, 0, 0, bytes(600), le=256)
    chain = [link.encode() for link in split_command(long_command, 200)]
    corpus.add("apdu", "chain-of-three", b"\x40" + _world.frame(chain))
    get_response = CommandApdu(0x00, Ins.GET_RESPONSE, 0, 0, le=256).encode()
    corpus.add(
        "apdu",
        "chunks-61xx",
        b"\x40" + _world.frame([long_command.encode(), get_response, get_response]),
    )
    corpus.add("apdu", "response-6cxx", _world.frame([ResponseApdu(b"", 0x6C10).encode()]))


def _hex_strings(value: object) -> Iterator[bytes]:
    """Every hex string in a vector input (nested lists and maps included)."""
    if isinstance(value, str) and len(value) >= 2 and _HEX.match(value):
        yield bytes.fromhex(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _hex_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _hex_strings(item)


#: Which harnesses read the byte inputs of each vector file (spec/vectors/<area>.json).
_VECTOR_HARNESSES = {
    "cbor": ("cbor",),
    "cose": ("cose", "presentation"),
    "credential": ("cose", "presentation"),
    "presentation": ("presentation", "cose"),
    "trust": ("cose",),
    "status": ("status_list",),
    "trustlist": ("trust_list",),
    "apdu": ("apdu",),
}


def _vectors(corpus: Corpus) -> int:
    """Seeds from the conformance vectors: each case's input, routed by area."""
    count = 0
    for path in sorted((_world.ROOT / "spec" / "vectors").glob("*.json")):
        try:
            cases = json.loads(path.read_text("utf-8")).get("cases", [])
        except (OSError, ValueError, AttributeError):
            continue
        for case in cases:
            name = f"vector-{case.get('id', path.stem)}"
            inputs = case.get("input", {})
            if not isinstance(inputs, dict):
                continue
            for key in ("qr_text", "text"):
                text = inputs.get(key)
                if isinstance(text, str):
                    corpus.add("qr", name, b"\x00" + text.encode("latin-1", "replace"))
                    count += 1
            exchanges = inputs.get("exchanges")
            if path.stem == "nfc" and isinstance(exchanges, list):
                pairs = [e for e in exchanges if isinstance(e, dict)]
                commands = [bytes.fromhex(e.get("command", "")) for e in pairs]
                responses = [bytes.fromhex(e.get("response", "")) for e in pairs]
                for config in range(4):
                    corpus.add("nfc_holder", name, bytes((config,)) + _world.frame(commands))
                    corpus.add("nfc_reader", name, bytes((config,)) + _world.frame(responses))
                corpus.add("apdu", name, _world.frame(commands + responses))
                count += 1
                continue
            for data in _hex_strings(inputs):
                for harness in _VECTOR_HARNESSES.get(path.stem, ()):
                    if harness == "cbor":
                        corpus.add(harness, name, b"\x00" + data)
                    elif harness == "apdu":
                        corpus.add(harness, name, _world.frame([data]))
                    else:
                        corpus.add(harness, name, data)
                count += 1
    return count


def _inspect(corpus: Corpus) -> None:
    """Seeds of fuzz_inspect (mode byte, body): every object the others hold, in each
    form inspect reads; see fuzz_inspect.py for the modes."""
    for harness in ("cose", "status_list", "trust_list"):
        for data, name in list(corpus.seeds[harness].items())[:12]:
            corpus.add("inspect", f"{harness}-{name}", b"\x00" + data)
            corpus.add("inspect", f"{harness}-{name}-hex", b"\x02" + data)
            corpus.add("inspect", f"{harness}-{name}-trusted", b"\x05" + data)
    for data, name in list(corpus.seeds["qr"].items())[:8]:
        if data[:1] == b"\x00" and data[1:].startswith(QR_PREFIX.encode()):
            corpus.add("inspect", f"qr-{name}", b"\x01" + data[1 + len(QR_PREFIX) :])
            corpus.add("inspect", f"qr-{name}-file", b"\x06" + data[1:])
    corpus.add("inspect", "deep-json", b"\x00" + b"[" * 2000)
    corpus.add("inspect", "odd-hex", b"\x00ab c")


def build_corpus() -> Corpus:
    world = _world.build()
    corpus = Corpus()
    _tokens(world, corpus)
    _lists(world, corpus)
    _exchanges(world, corpus)
    _inspect(corpus)
    for name, data in (
        ("empty-map", b"\x00\xa0"),
        ("nested-tags", b"\x00\xd2\xd8\x3d\x80"),
        ("map-non-deterministic", b"\x01\xa2\x02\x00\x01\x00"),
        ("uint64-max", b"\x00\x1b\xff\xff\xff\xff\xff\xff\xff\xff"),
        ("negative-min", b"\x00\x3b\xff\xff\xff\xff\xff\xff\xff\xff"),
    ):
        corpus.add("cbor", name, data)
    return corpus


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent / "corpus"
    corpus = build_corpus()
    vectors = _vectors(corpus)
    counts = corpus.write(out)
    summary = ", ".join(f"{name} {count}" for name, count in counts.items())
    print(f"seed corpus in {out}: {summary} ({vectors} strings from spec/vectors)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
