"""Every decoder of untrusted input, walked label by label with null, true and false.

spec/encoding.md section 2.3: no v1 structure uses ``null``, so the CBOR profile
refuses it wherever it sits; and ``false``/``true`` are never integers. The walk
starts from the valid objects of the conformance material (so that it follows the
wire as it changes) and, for every key of every map and every array element,
recursively and through the CBOR a byte string carries (COSE headers, NFC request
parts), puts in ``null``, ``true`` and ``false``, re-encodes deterministically, re-signs what a
signature covers and hands the result to the decoder:

* ``null`` -> ``cbor.type_not_allowed``; a decoder that reports every defect under
  its own code (proof of possession, NFC maps) must carry it as the cause;
* a boolean where the CDDL wants another type -> exactly the code that decoder gives
  for a value of another wrong type at the same place (a byte string for an
  integer, an integer for anything else): a boolean is a wrong type like any other,
  never 0 or 1, and never a CBOR-level defect;
* a boolean where the CDDL allows one (the ``y`` sign bit of a COSE_Key, the FCI
  extended-length flag) -> accepted by the decoder; a signature over the key that
  was changed may fail, nothing else.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from tools.vectors import adapter_self
from tools.vectors._material import Material
from tools.vectors.generate import AREAS
from vitale_cred.clock import FixedClock
from vitale_cred.device import SoftwareDeviceKey
from vitale_cred.errors import VitaleCredError
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.apdu import CHAINING_BIT, CommandApdu, parse_command
from vitale_cred.hazmat.cose import CoseKey, SoftwareSigner
from vitale_cred.hazmat.qrtext import decode_qr_text
from vitale_cred.nfc import (
    EncryptionPolicy,
    FciLabel,
    HolderSession,
    ReaderSession,
    RequestLabel,
    SeenNonces,
)
from vitale_cred.registry import CoseAlg, CoseHeader, CoseKeyLabel

NULL = "cbor.type_not_allowed"
Path = tuple[Any, ...]
Case = dict[str, Any]
#: Runs a decoder on bytes; returns None when accepted, the error when refused.
Run = Callable[[bytes], VitaleCredError | None]


# --- the valid material ----------------------------------------------------------------


@cache
def _valid_cases() -> tuple[Case, ...]:
    material = Material()
    out: list[Case] = []
    for module in AREAS:
        out.extend(c for c in module.build(material).cases if c["expected"]["result"] == "valid")
    return tuple(out)


def _cases(operation: str) -> list[Case]:
    return [copy.deepcopy(c) for c in _valid_cases() if c["operation"] == operation]


# --- walking -----------------------------------------------------------------------------


def _positions(value: Any, path: Path = ()) -> Iterator[Path]:
    """Every key of every map in ``value`` and every array element, recursively.

    Array elements are places too: ``usages [true]`` is how a boolean became usage 1.
    """
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        yield (*path, key)
        yield from _positions(item, (*path, key))


def _get(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


def _replaced(value: Any, path: Path, new: Any) -> Any:
    out = copy.deepcopy(value)
    _get(out, path[:-1])[path[-1]] = new
    return out


def _oracle(original: Any) -> Any:
    """A value of another wrong type than a boolean for the place of ``original``."""
    if isinstance(original, int) and not isinstance(original, bool):
        return b"\x00"
    return 0


def _codes(exc: BaseException | None) -> list[str]:
    out: list[str] = []
    while exc is not None:
        if isinstance(exc, VitaleCredError):
            out.append(exc.code)
        exc = exc.__cause__ or exc.__context__
    return out


def _is_cose_key(node: Any) -> bool:
    return isinstance(node, dict) and {CoseKeyLabel.KTY, CoseKeyLabel.X} <= node.keys()


@dataclass(frozen=True)
class Walk:
    """One decoder fed from one valid object, by substitution at each labelled place."""

    name: str
    base: Any
    build: Callable[[Any], bytes]
    run: Run
    #: The code reported for null, when the decoder wraps the CBOR error in its own.
    null_code: str = NULL
    #: Places where the CDDL allows a boolean (their original value is kept in the id).
    bool_places: Callable[[Any, Path], bool] = lambda base, path: False


def _bool_allowed_in_cose_key(base: Any, path: Path) -> bool:
    return path[-1] == CoseKeyLabel.Y and _is_cose_key(_get(base, path[:-1]))


def _outcome(walk: Walk, value: Any) -> VitaleCredError | None:
    return walk.run(walk.build(value))


def _check_place(walk: Walk, path: Path) -> list[str]:
    """The deviations from spec/encoding.md 2.3 at one place, as readable lines."""
    problems: list[str] = []
    where = f"{walk.name} at {path!r}"
    refused = _outcome(walk, _replaced(walk.base, path, None))
    chain = _codes(refused)
    if not chain or chain[0] != walk.null_code or NULL not in chain:
        problems.append(f"{where}: null gave {chain or 'acceptance'}, not {walk.null_code}")
    original = _get(walk.base, path)
    if walk.bool_places(walk.base, path) or isinstance(original, bool):
        for flag in (True, False):
            chain = _codes(_outcome(walk, _replaced(walk.base, path, flag)))
            # The key the flag belongs to changed: only a signature by it may fail.
            if chain and "cose.bad_signature" not in chain:
                problems.append(f"{where}: {flag} (a boolean place) gave {chain}")
        return problems
    expected = _codes(_outcome(walk, _replaced(walk.base, path, _oracle(original))))
    for flag in (True, False):
        chain = _codes(_outcome(walk, _replaced(walk.base, path, flag)))
        if chain[:1] != expected[:1] or (chain and chain[0].startswith("cbor.")):
            problems.append(
                f"{where}: {flag} gave {chain[:1] or 'acceptance'}, another wrong type "
                f"gives {expected[:1] or 'acceptance'}"
            )
    return problems


def _check_walk(walk: Walk) -> None:
    assert walk.run(walk.build(walk.base)) is None, f"{walk.name}: the valid object is refused"
    problems = [line for path in _positions(walk.base) for line in _check_place(walk, path)]
    assert not problems, "\n".join(problems)


def _new_paths(walks: list[Walk]) -> list[Walk]:
    """The walks that reach at least one place no earlier walk of the list reaches."""
    seen: set[tuple[str, Path]] = set()
    out: list[Walk] = []
    for walk in walks:
        kind = walk.name.split("[")[0] + walk.name.split("]")[-1]
        places = {(kind, _shape(walk.base, p)) for p in _positions(walk.base)}
        if not places <= seen:
            out.append(walk)
            seen |= places
    return out


def _shape(value: Any, path: Path) -> Path:
    """``path`` with its array indices blanked: the place, whichever element it is in."""
    out: list[Any] = []
    for step in path:
        out.append("#" if isinstance(value, list) else step)
        value = value[step]
    return tuple(out)


# --- running a conformance operation ----------------------------------------------------


def _runner(case: Case, put: Callable[[Case, bytes], None]) -> Run:
    operation = adapter_self.OPERATIONS[case["operation"]]

    def run(data: bytes) -> VitaleCredError | None:
        trial = copy.deepcopy(case)
        put(trial, data)
        try:
            operation(trial)
        except VitaleCredError as exc:
            return exc
        return None

    return run


def _set_input(name: str) -> Callable[[Case, bytes], None]:
    def put(case: Case, data: bytes) -> None:
        case["input"][name] = data.hex()

    return put


def _put_last_list(case: Case, data: bytes) -> None:
    case["input"]["lists"][-1] = data.hex()


def _signer(case: Case, message: cose.Sign1) -> SoftwareSigner:
    """The case's private key that signed ``message``: by kid, else the device's."""
    keys = case.get("keys", {})
    kid = message.kid
    chosen = next(
        (k for k in keys.values() if kid is not None and k.get("kid") == kid.hex()),
        keys.get("device"),
    )
    assert chosen is not None, f"{case['id']}: no key for the message"
    private = serialization.load_pem_private_key(chosen["private_key"].encode("ascii"), None)
    return SoftwareSigner(private)  # type: ignore[arg-type]


def _cose_walks(
    name: str, case: Case, data: bytes, put: Callable[[Case, bytes], None]
) -> list[Walk]:
    """Payload, protected and unprotected header of one COSE_Sign1 of a case."""
    message = cose.decode_sign1(data, max_size=len(data) + 1)
    signer = _signer(case, message)
    run = _runner(case, put)

    def seal(protected: bytes, unprotected: Mapping[Any, Any], payload: bytes) -> bytes:
        signature = signer.sign(cose.sig_structure(protected, payload))
        return cose.encode_sign1(protected, unprotected, payload, signature)

    walks = [
        Walk(
            f"{name}[{case['id']}] payload",
            _cbor.decode(message.payload, max_size=len(message.payload), deterministic=False),
            lambda v: seal(message.protected_bytes, message.unprotected, _cbor.encode(v)),
            run,
            bool_places=_bool_allowed_in_cose_key,
        ),
        Walk(
            f"{name}[{case['id']}] protected",
            dict(message.protected),
            lambda v: seal(_cbor.encode(v), message.unprotected, message.payload),
            run,
        ),
        Walk(
            f"{name}[{case['id']}] unprotected",
            dict(message.unprotected),
            lambda v: cose.encode_sign1(
                message.protected_bytes, v, message.payload, message.signature
            ),
            run,
        ),
    ]
    return [w for w in walks if w.base]


def _carried(token: bytes) -> bytes:
    payload = _cbor.decode(cose.decode_sign1(token).payload)
    credential: bytes = payload[1]
    return credential


def _carrier(case: Case, token: bytes) -> Callable[[Case, bytes], None]:
    message = cose.decode_sign1(token)
    payload = _cbor.decode(message.payload)
    device = _signer(case, message)

    def put(trial: Case, credential: bytes) -> None:
        body = _cbor.encode({**payload, 1: credential})
        signature = device.sign(cose.sig_structure(message.protected_bytes, body))
        trial["input"]["presentation"] = cose.encode_sign1(
            message.protected_bytes, message.unprotected, body, signature
        ).hex()

    return put


def _signed_walks() -> list[Walk]:
    walks: list[Walk] = []
    for case in _cases("verify_credential"):
        credential = bytes.fromhex(case["input"]["credential"])
        walks += _cose_walks("credential", case, credential, _set_input("credential"))
    for case in _cases("verify_presentation") + _cases("verify_qr"):
        if case["operation"] == "verify_qr":
            token = decode_qr_text(case["input"].pop("qr_text"))
            case["operation"] = "verify_presentation"
            case["input"] = {"presentation": token.hex(), "transcript": None}
        case["input"].pop("prior", None)
        token = bytes.fromhex(case["input"]["presentation"])
        walks += _cose_walks("presentation", case, token, _set_input("presentation"))
        # The credential a presentation carries (every beneficiary of the card is
        # shown in some presentation): changed, re-signed by the issuer, then carried
        # in a presentation re-signed by the device.
        walks += _cose_walks("credential", case, _carried(token), _carrier(case, token))
    for case in _cases("verify_status_list"):
        token = bytes.fromhex(case["input"]["token"])
        walks += _cose_walks("status list token", case, token, _set_input("token"))
    for case in _cases("trust_list_update"):
        if len(case["input"]["lists"]) == 1:
            data = bytes.fromhex(case["input"]["lists"][0])
            walks += _cose_walks("trust list", case, data, _put_last_list)
    for case in _cases("verify_statement"):
        data = bytes.fromhex(case["input"]["statement"])
        walks += _cose_walks("statement", case, data, _set_input("statement"))
    return _new_paths(walks)


def _proof_walks() -> list[Walk]:
    walks: list[Walk] = []
    for case in _cases("verify_possession"):
        for walk in _cose_walks(
            "proof", case, bytes.fromhex(case["input"]["proof"]), _set_input("proof")
        ):
            # Every defect of a proof is issuance.pop_invalid, the CBOR error its cause.
            walks.append(
                Walk(walk.name, walk.base, walk.build, walk.run, "issuance.pop_invalid",
                     walk.bool_places)
            )  # fmt: skip
    return _new_paths(walks)


def _bundle_walks() -> list[Walk]:
    walks = []
    for case in _cases("decode_bundle"):
        walks.append(
            Walk(
                f"bundle[{case['id']}]",
                _cbor.decode(bytes.fromhex(case["input"]["bundle"]), max_size=1 << 20),
                _cbor.encode,
                _runner(case, _set_input("bundle")),
            )
        )
    return walks


def _cose_key_walks() -> list[Walk]:
    def run(data: bytes) -> VitaleCredError | None:
        try:
            CoseKey.from_map(_cbor.decode(data))
        except VitaleCredError as exc:
            return exc
        return None

    device = SoftwareDeviceKey.from_pem(_pem(CoseAlg.ES256))
    public = device.public_key()
    keys = {
        "compressed": CoseKey.from_public_key(public, compressed=True),
        "uncompressed, kid and alg": CoseKey.from_public_key(public, kid=b"k1", alg=CoseAlg.ES256),
        "ed25519, kid": CoseKey.from_public_key(
            serialization.load_pem_private_key(_pem(CoseAlg.EDDSA), None).public_key(),  # type: ignore[arg-type]
            kid=b"k2",
        ),
    }
    return [
        Walk(f"COSE_Key[{name}]", key.to_map(), _cbor.encode, run, bool_places=_y_place)
        for name, key in keys.items()
    ]


def _y_place(base: Any, path: Path) -> bool:
    return path == (CoseKeyLabel.Y,) and base.get(CoseKeyLabel.KTY) == 2


def _pem(alg: CoseAlg) -> bytes:
    for case in _valid_cases():
        for entry in case.get("keys", {}).values():
            if entry.get("alg") == int(alg) and "private_key" in entry:
                return str(entry["private_key"]).encode("ascii")
    raise AssertionError(f"no {alg.name} key in the material")


# --- NFC: the holder reads the request, the reader reads the FCI ---------------------------


def _holder_run(case: Case) -> Run:
    config = case["holder"]
    exchanges = case["input"]["exchanges"]

    def run(request: bytes) -> VitaleCredError | None:
        holder = HolderSession(
            {e["index"]: bytes.fromhex(e["credential"]) for e in config["credentials"]},
            SoftwareDeviceKey.from_pem(config["device_private_key"].encode("ascii")),
            clock=FixedClock(case["at"]),
            gate=lambda: True,
            chooser=lambda hint, available: available[0],
            encryption=EncryptionPolicy(config.get("encryption", "required")),
            extended_length=config.get("extended_length", True),
            max_command_data=config.get("max_command_data"),
            max_response_data=config.get("max_response_data"),
            rng=_Rng(config),
            seen_nonces=SeenNonces(),
        )
        holder.process(bytes.fromhex(exchanges[0]["command"]))
        original = parse_command(bytes.fromhex(exchanges[1]["command"]))
        holder.process(
            CommandApdu(original.cla, original.ins, 0, 0, request, le=original.le).encode()
        )
        return holder.last_error

    return run


class _Rng:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self._keys = [bytes.fromhex(k) for k in config.get("ephemeral_private_keys", [])]

    def __call__(self, n: int) -> bytes:
        return self._keys.pop(0) if n == 32 and self._keys else bytes(range(n))


def _reader_run(case: Case) -> Run:
    config = case["reader"]

    def run(fci: bytes) -> VitaleCredError | None:
        reader = ReaderSession(
            adapter_self.build_verifier(case),
            beneficiary_hint=config.get("beneficiary_hint"),
            encryption=EncryptionPolicy(config.get("encryption", "required")),
            extended_length=config.get("extended_length", True),
            rng=lambda n: bytes(range(n)),
        )
        reader.next_command()
        try:
            reader.feed(fci + b"\x90\x00")
        except VitaleCredError as exc:
            return exc
        return None

    return run


def _nfc_walks() -> list[Walk]:
    walks: list[Walk] = []
    for case in _cases("nfc_holder"):
        command = parse_command(bytes.fromhex(case["input"]["exchanges"][1]["command"]))
        if command.cla & CHAINING_BIT:
            continue  # a chained request: the unchained cases reach the same maps
        run = _holder_run(case)
        outer = _cbor.decode(command.data)
        info = _cbor.decode(outer[RequestLabel.READER_INFO])
        try:
            data = _cbor.decode(outer[RequestLabel.DATA])
        except VitaleCredError:
            data = {}  # encrypted: the plaintext cases walk the request data

        def with_info(v: Any, outer: Any = outer) -> bytes:
            return _cbor.encode({**outer, RequestLabel.READER_INFO: _cbor.encode(v)})

        def with_data(v: Any, outer: Any = outer) -> bytes:
            return _cbor.encode({**outer, RequestLabel.DATA: _cbor.encode(v)})

        walks += [
            Walk(f"NFC request[{case['id']}]", outer, _cbor.encode, run, "nfc.request_invalid"),
            Walk(f"NFC reader-info[{case['id']}]", info, with_info, run, "nfc.request_invalid"),
            Walk(f"NFC request-data[{case['id']}]", data, with_data, run, "nfc.request_invalid"),
        ]
    for case in _cases("nfc_reader"):
        fci = bytes.fromhex(case["input"]["exchanges"][0]["response"])[:-2]
        walks.append(
            Walk(
                f"FCI[{case['id']}]",
                _cbor.decode(fci),
                _cbor.encode,
                _reader_run(case),
                "nfc.response_invalid",
                bool_places=lambda base, path: path == (FciLabel.EXTENDED_LENGTH,),
            )
        )
    return _new_paths([w for w in walks if w.base])


# --- the tests ---------------------------------------------------------------------------


def _ids(walks: list[Walk]) -> list[str]:
    return [w.name for w in walks]


SIGNED = _signed_walks()
OTHERS = _proof_walks() + _bundle_walks() + _cose_key_walks() + _nfc_walks()


def test_the_walk_reaches_every_decoder() -> None:
    names = {w.name.split("[")[0] for w in SIGNED + OTHERS}
    assert names >= {
        "credential",
        "presentation",
        "status list token",
        "trust list",
        "statement",
        "proof",
        "bundle",
        "COSE_Key",
        "NFC request",
        "NFC reader-info",
        "NFC request-data",
        "FCI",
    }
    parts = {w.name.rsplit(" ", 1)[-1] for w in SIGNED}
    assert parts == {"payload", "protected", "unprotected"}


@pytest.mark.parametrize("walk", SIGNED, ids=_ids(SIGNED))
def test_signed_structures_refuse_null_and_take_booleans_for_no_other_type(walk: Walk) -> None:
    _check_walk(walk)


@pytest.mark.parametrize("walk", OTHERS, ids=_ids(OTHERS))
def test_other_structures_refuse_null_and_take_booleans_for_no_other_type(walk: Walk) -> None:
    _check_walk(walk)


def test_a_protected_header_alg_of_true_is_not_alg_1() -> None:
    # The class at the heart of the walk, on its own: true in crit(2) must not name alg(1).
    header = _cbor.encode({CoseHeader.ALG: -7, CoseHeader.CRIT: [True]})
    data = cose.encode_sign1(header, {}, b"", bytes(64))
    with pytest.raises(VitaleCredError) as info:
        cose.decode_sign1(data)
    assert info.value.code == "cose.unknown_critical"
