"""QR size on random realistic cards: the measure the protocol-v1 wire is judged on.

Run: ``python -m benchmarks.qr_sizes [--cards N] [--seed S] [--ins auto|yes|no]
[--json OUT] [--md OUT] [--label TEXT]``. Without ``--json``/``--md`` the results go
to ``benchmarks/results/qr_sizes.{json,md}``.

For each card of :mod:`benchmarks.cards` (seeded): issue one credential per
beneficiary, each with a status reference, bind them to one device key, present
every beneficiary with ``present_qr`` (default lifetime) and measure the QR text
(characters, QR version at ECC level Q) and the presentation token, whose every
byte is attributed to one category (:func:`breakdown`). The random draws (cards,
keys, nonces, status references) all come from the seed, so a run is reproducible.

Public API only. :func:`status_reference` is the one place that knows how a
:class:`~vitale_cred.status.StatusReference` is built.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import random
import statistics
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

import vitale_cred
from benchmarks.cards import generate_cards
from vitale_cred.clock import FixedClock
from vitale_cred.credential import Issuer
from vitale_cred.device import SoftwareDeviceKey, possession_proof, verify_possession
from vitale_cred.errors import VitaleCredError
from vitale_cred.hazmat.base45 import b45decode
from vitale_cred.hazmat.cose import SoftwareSigner
from vitale_cred.hazmat.qrtext import FLAG_ZLIB, QR_PREFIX, decode_qr_text
from vitale_cred.model import Card
from vitale_cred.pki import KID_LENGTH
from vitale_cred.presentation import present_qr
from vitale_cred.registry import CoseAlg
from vitale_cred.status import StatusReference

RESULTS = Path(__file__).resolve().parent / "results"
FAMILY5 = Path(__file__).resolve().parent.parent / "spec" / "examples" / "family5.json"

#: Issuance instant of every credential, and the instant of every presentation.
ISSUED_AT = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
#: Credential validity (days).
VALID_DAYS = 365
#: Status lists: a national population split into lists of 2^20 entries.
STATUS_LISTS = 96
STATUS_LIST_ENTRIES = 2**20
#: URI of list ``n`` when references still carry a URI.
STATUS_URI = "https://status.vitale.example/lists/{}"

# Alphanumeric-mode capacity (characters) of QR versions 1-40 at error-correction
# level Q (ISO/IEC 18004:2015, table 7).
QR_Q_ALPHANUMERIC_CAPACITY: tuple[int, ...] = (
    16, 29, 47, 67, 87, 108, 125, 157, 189, 221,
    259, 296, 352, 376, 426, 470, 531, 574, 644, 702,
    742, 823, 890, 963, 1041, 1094, 1172, 1263, 1322, 1429,
    1499, 1618, 1700, 1787, 1867, 1966, 2071, 2181, 2298, 2420,
)  # fmt: skip

#: Every byte of a presentation token falls in exactly one of these.
CATEGORIES: dict[str, str] = {
    "signatures": "signature bytes (issuer and device)",
    "structure": "COSE/CBOR structure: tags, array and map heads, protected headers "
    "(but the kid), byte-string heads",
    "labels": "map keys of the payloads",
    "dates": "times (iat, exp, ttl), day numbers (issued, periods), birth dates",
    "names": "family, given and birth names",
    "device_key": "the cnf COSE_Key values",
    "nir": "NIR of the card and of dependants, INS matricule",
    "organisme_serial": "organisme and card serial",
    "rights": "exoneration codes, AMC organisation and contract",
    "status": "status reference values",
    "nonce": "presentation nonce",
    "kid": "issuer kid",
    "ins_other": "INS birth place and other INS values",
    "other": "everything else: qualité, birth rank, beneficiary index, version, ...",
}


# --- the StatusReference adapter ------------------------------------------------------


def status_reference(list_number: int, idx: int) -> StatusReference:
    """Entry ``idx`` of status list ``list_number``, whichever constructor is current.

    Older releases take ``(idx, uri)``; protocol 1 takes ``(list number, idx)``.
    """
    names = [f.name for f in dataclasses.fields(StatusReference)]
    args: tuple[Any, ...] = (
        (idx, STATUS_URI.format(list_number)) if names == ["idx", "uri"] else (list_number, idx)
    )
    return StatusReference(*args)


# --- QR versions ----------------------------------------------------------------------


def qr_version_q(chars: int) -> int:
    """Smallest QR version holding ``chars`` alphanumeric characters at level Q."""
    for version, capacity in enumerate(QR_Q_ALPHANUMERIC_CAPACITY, start=1):
        if chars <= capacity:
            return version
    raise ValueError(f"{chars} characters do not fit in a version-40 QR code at level Q")


def segno_version(text: str) -> int | None:
    """The version segno chooses at level Q, or None when segno is not installed."""
    try:
        import segno
    except ImportError:
        return None
    return int(segno.make(text, error="q", micro=False, boost_error=False).version)


# --- byte breakdown -------------------------------------------------------------------

_PRESENTATION = {1: "credential", 2: "iat", 3: "ttl", 4: "nonce", 5: "audience", 6: "transcript"}
_CLAIMS = {
    1: "iss", 4: "exp", 5: "nbf", 6: "iat", 8: "cnf",
    65535: "status", -65537: "card", -65538: "delegation",
}  # fmt: skip
_CARD = {
    0: "version", 1: "nir", 2: "organisme", 3: "serial", 4: "issued",
    5: "beneficiary", 6: "index", 7: "status",
}  # fmt: skip
_BENEFICIARY = {
    1: "family_name", 2: "given_names", 3: "birth_date", 4: "birth_rank", 5: "qualite",
    6: "amo", 7: "exonerations", 8: "css", 9: "amc", 10: "nir", 11: "ins",
}  # fmt: skip
_INS = {
    1: "matricule", 2: "birth_name", 3: "birth_given_names", 4: "birth_place",
    5: "more_given_names",
}  # fmt: skip

_PRESENTATION_CATEGORY = {"iat": "dates", "ttl": "dates", "nonce": "nonce"}
_CLAIMS_CATEGORY = {
    "exp": "dates", "nbf": "dates", "iat": "dates", "cnf": "device_key", "status": "status",
}  # fmt: skip
_CARD_CATEGORY = {
    "nir": "nir", "organisme": "organisme_serial", "serial": "organisme_serial",
    "issued": "dates", "status": "status",
}  # fmt: skip
_BENEFICIARY_CATEGORY = {
    "family_name": "names", "given_names": "names", "birth_date": "dates", "nir": "nir",
}  # fmt: skip
_INS_CATEGORY = {
    "matricule": "nir", "birth_name": "names", "birth_given_names": "names",
    "more_given_names": "names", "birth_place": "ins_other",
}  # fmt: skip
# Pre-v1 map forms: period {1 start, 2 end, 3 code}; AMC {1 org, 2 contract, 3 start, 4 end}.
_PERIOD_MAP_RIGHTS = frozenset({3})
_AMC_MAP_RIGHTS = frozenset({1, 2})


def _head(argument: int) -> int:
    """Length of a CBOR head with this argument (preferred serialisation)."""
    if argument < 24:
        return 1
    if argument < 0x100:
        return 2
    if argument < 0x10000:
        return 3
    if argument < 0x100000000:
        return 5
    return 9


class Tally:
    """Bytes per category and per wire field."""

    def __init__(self) -> None:
        self.categories: Counter[str] = Counter()
        self.fields: Counter[str] = Counter()

    def add(self, category: str, count: int, field: str) -> None:
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r}")
        self.categories[category] += count
        self.fields[field] += count

    @property
    def total(self) -> int:
        return sum(self.categories.values())


def _item(value: Any, category: str, field: str, tally: Tally) -> None:
    """Attribute a decoded item: heads of containers and byte strings to structure,
    map keys to labels, the rest to ``category``."""
    if isinstance(value, bool) or value is None:
        tally.add(category, 1, field)
    elif isinstance(value, int):
        tally.add(category, _head(value if value >= 0 else -1 - value), field)
    elif isinstance(value, str):
        size = len(value.encode("utf-8"))
        tally.add(category, _head(size) + size, field)
    elif isinstance(value, bytes):
        tally.add("structure", _head(len(value)), field)
        tally.add(category, len(value), field)
    elif isinstance(value, list | tuple):
        tally.add("structure", _head(len(value)), field)
        for element in value:
            _item(element, category, field, tally)
    elif isinstance(value, Mapping):
        tally.add("structure", _head(len(value)), field)
        for key, element in value.items():
            _item(key, "labels", field, tally)
            _item(element, category, field, tally)
    elif isinstance(value, cbor2.CBORTag):
        tally.add("structure", _head(value.tag), field)
        _item(value.value, category, field, tally)
    else:
        raise TypeError(f"unexpected CBOR item {type(value).__name__} in {field}")


def _map(
    value: Any,
    scope: str,
    names: dict[int, str],
    categories: dict[str, str],
    special: Mapping[str, Callable[[Any, str, Tally], None]],
    tally: Tally,
) -> None:
    """A labelled map: each entry (label and value) counted under ``scope.name``."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{scope} is not a map")
    tally.add("structure", _head(len(value)), f"{scope}.(map)")
    for label, element in value.items():
        name = names.get(label, f"({label})")
        field = f"{scope}.{name}"
        _item(label, "labels", field, tally)
        if name in special:
            special[name](element, field, tally)
        else:
            _item(element, categories.get(name, "other"), field, tally)


def _bstr_of(content: bytes, field: str, tally: Tally, walk: Callable[[Any, Tally], None]) -> None:
    """A byte string wrapping CBOR: head to structure, content walked (exactly)."""
    tally.add("structure", _head(len(content)), field)
    before = tally.total
    walk(cbor2.loads(content), tally)
    if tally.total - before != len(content):
        raise AssertionError(f"{field}: {tally.total - before} bytes counted for {len(content)}")


def _sign1(value: Any, scope: str, tally: Tally, payload: Callable[[Any, Tally], None]) -> None:
    """Tagged COSE_Sign1: tag, array, protected, unprotected, payload, signature."""
    if not isinstance(value, cbor2.CBORTag) or value.tag != 18:
        raise TypeError(f"{scope} is not a tagged COSE_Sign1")
    parts = list(value.value)
    protected, unprotected, body, signature = parts
    field = f"{scope}.cose"
    tally.add("structure", _head(18) + _head(len(parts)), field)

    def headers(header: Any, tally: Tally) -> None:
        tally.add("structure", _head(len(header)), field)
        for label, element in header.items():
            _item(label, "structure", field, tally)
            if label == 4:  # kid
                _item(element, "kid", f"{scope}.kid", tally)
            else:
                _item(element, "structure", field, tally)

    _bstr_of(protected, field, tally, headers)
    _item(unprotected, "other", field, tally)
    _bstr_of(body, field, tally, payload)
    _item(signature, "signatures", f"{scope}.signature", tally)


def _period(value: Any, field: str, tally: Tally) -> None:
    """A period or exoneration: map (pre-v1) or array [?code, start, ?end]."""
    if isinstance(value, Mapping):
        tally.add("structure", _head(len(value)), field)
        for label, element in value.items():
            _item(label, "labels", field, tally)
            _item(element, "rights" if label in _PERIOD_MAP_RIGHTS else "dates", field, tally)
    else:
        _item(value, "dates", field, tally)


def _exoneration(value: Any, field: str, tally: Tally) -> None:
    if isinstance(value, list | tuple):
        tally.add("structure", _head(len(value)), field)
        _item(value[0], "rights", field, tally)
        for element in value[1:]:
            _item(element, "dates", field, tally)
    else:
        _period(value, field, tally)


def _periods(each: Callable[[Any, str, Tally], None]) -> Callable[[Any, str, Tally], None]:
    def walk(value: Any, field: str, tally: Tally) -> None:
        tally.add("structure", _head(len(value)), field)
        for element in value:
            each(element, field, tally)

    return walk


def _amc(value: Any, field: str, tally: Tally) -> None:
    if isinstance(value, Mapping):
        tally.add("structure", _head(len(value)), field)
        for label, element in value.items():
            _item(label, "labels", field, tally)
            _item(element, "rights" if label in _AMC_MAP_RIGHTS else "dates", field, tally)
    else:
        tally.add("structure", _head(len(value)), field)
        for position, element in enumerate(value):
            _item(element, "rights" if position < 2 else "dates", field, tally)


def _ins(value: Any, field: str, tally: Tally) -> None:
    _map(value, "ins", _INS, _INS_CATEGORY, {}, tally)


def _beneficiary(value: Any, field: str, tally: Tally) -> None:
    special = {
        "amo": _periods(_period),
        "exonerations": _periods(_exoneration),
        "css": _period,
        "amc": _amc,
        "ins": _ins,
    }
    _map(value, "beneficiary", _BENEFICIARY, _BENEFICIARY_CATEGORY, special, tally)


def _card(value: Any, field: str, tally: Tally) -> None:
    _map(value, "card", _CARD, _CARD_CATEGORY, {"beneficiary": _beneficiary}, tally)


def _claims(value: Any, tally: Tally) -> None:
    _map(value, "claims", _CLAIMS, _CLAIMS_CATEGORY, {"card": _card}, tally)


def _credential(value: Any, field: str, tally: Tally) -> None:
    def walk(credential: Any, tally: Tally) -> None:
        _sign1(credential, "credential", tally, _claims)

    _bstr_of(value, "presentation.credential", tally, walk)


def _presentation_payload(value: Any, tally: Tally) -> None:
    special = {"credential": _credential}
    _map(value, "presentation", _PRESENTATION, _PRESENTATION_CATEGORY, special, tally)


def breakdown(token: bytes) -> Tally:
    """Every byte of a presentation token in one category; the sum is checked."""
    tally = Tally()
    _sign1(cbor2.loads(token), "presentation", tally, _presentation_payload)
    if tally.total != len(token):
        raise AssertionError(f"breakdown counts {tally.total} bytes of a {len(token)}-byte token")
    return tally


def wire_features(token: bytes) -> list[str]:
    """What distinguishes the measured wire (read from one token)."""
    payload = cbor2.loads(cbor2.loads(token).value[2])
    credential = cbor2.loads(payload[1])
    claims = cbor2.loads(credential.value[2])
    card = claims[-65537]
    beneficiary = card[5]
    features = []
    features.append("status(65535) claim" if 65535 in claims else "status in card map (7)")
    features.append("card version label (0)" if 0 in card else "no card version label")
    features.append("ttl in payload" if 3 in payload else "default ttl omitted")
    amo = beneficiary.get(6)
    if amo:
        features.append("periods as maps" if isinstance(amo[0], Mapping) else "periods as arrays")
    return features


# --- the run --------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One presentation."""

    card: int
    beneficiary: int
    qualite: str
    chars: int
    version: int
    token_bytes: int
    compressed: bool
    categories: dict[str, int]
    fields: dict[str, int]


class Bench:
    """One issuer, one device key, a fixed clock; everything random comes from ``seed``."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"qr_sizes/{seed}")
        now = int(ISSUED_AT.timestamp())
        self.clock = FixedClock(now)
        # Seeded keys and deterministic ECDSA (RFC 6979): the run is reproducible byte
        # for byte. The issuer certificate is left out: present_qr strips it anyway.
        issuer_key = ec.derive_private_key(self.rng.randrange(1, 2**255), ec.SECP256R1())
        self.issuer = Issuer(
            SoftwareSigner(issuer_key, CoseAlg.ES256),
            kid=self.rng.randbytes(KID_LENGTH),
            clock=self.clock,
        )
        secret = self.rng.randrange(1, 2**255)
        self.device = SoftwareDeviceKey(ec.derive_private_key(secret, ec.SECP256R1()))
        nonce = self.rng.randbytes(16)
        self.proven = verify_possession(possession_proof(self.device, nonce, now), nonce, now)

    def statuses(self, count: int) -> list[StatusReference]:
        """A card's credentials sit next to each other in one list."""
        list_number = self.rng.randint(1, STATUS_LISTS)
        first = self.rng.randrange(STATUS_LIST_ENTRIES - count)
        return [status_reference(list_number, first + i) for i in range(count)]

    def present_card(self, card: Card, number: int) -> tuple[list[Sample], list[str]]:
        bundle = self.issuer.issue(
            card, self.proven, valid_days=VALID_DAYS, status=self.statuses(len(card.beneficiaries))
        )
        samples = []
        texts = []
        for index, credential in enumerate(bundle.credentials):
            text = present_qr(credential, self.device, clock=self.clock, rng=self.rng.randbytes)
            token = decode_qr_text(text)
            tally = breakdown(token)
            samples.append(
                Sample(
                    card=number,
                    beneficiary=index,
                    qualite=card.beneficiaries[index].qualite.name.lower(),
                    chars=len(text),
                    version=qr_version_q(len(text)),
                    token_bytes=len(token),
                    compressed=b45decode(text[len(QR_PREFIX) : len(QR_PREFIX) + 3])[0] == FLAG_ZLIB,
                    categories=dict(tally.categories),
                    fields=dict(tally.fields),
                )
            )
            texts.append(text)
        return samples, texts


def ins_supported() -> bool:
    """True when ``Card.from_json`` accepts the ``ins`` object."""
    probe = generate_cards(1, 0, ins=True)[0]
    try:
        Card.from_json(probe)
    except VitaleCredError:
        return False
    return True


def percentile(values: Sequence[int], p: float) -> int:
    """Nearest-rank percentile (the value at rank ceil(p/100 * n))."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _distribution(values: Sequence[int]) -> dict[str, float]:
    return {
        "min": min(values),
        "mean": round(statistics.fmean(values), 1),
        "median": percentile(values, 50),
        "p90": percentile(values, 90),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values),
    }


def run(cards: int, seed: int, *, ins: str = "auto", label: str = "") -> dict[str, Any]:
    """Measure ``cards`` random cards; returns the machine-readable results."""
    notes: list[str] = []
    with_ins = {"yes": True, "no": False}.get(ins)
    if with_ins is None:
        with_ins = ins_supported()
        if not with_ins:
            notes.append("Card.from_json refuses the ins object: cards measured without INS.")
    bench = Bench(seed)
    samples: list[Sample] = []
    texts: list[str] = []
    for number, card_json in enumerate(generate_cards(cards, seed, ins=with_ins)):
        got, shown = bench.present_card(Card.from_json(card_json), number)
        samples.extend(got)
        texts.extend(shown)
    chars = [s.chars for s in samples]
    versions = [s.version for s in samples]
    tokens = [s.token_bytes for s in samples]
    total_tokens = sum(tokens)
    categories = {
        name: {
            "mean_bytes": round(sum(s.categories.get(name, 0) for s in samples) / len(samples), 2),
            "share": round(sum(s.categories.get(name, 0) for s in samples) / total_tokens, 4),
        }
        for name in CATEGORIES
    }
    field_names = sorted({f for s in samples for f in s.fields})
    fields = {
        name: {
            "mean_bytes": round(sum(s.fields.get(name, 0) for s in samples) / len(samples), 2),
            "present": sum(1 for s in samples if name in s.fields),
        }
        for name in field_names
    }
    by_qualite: dict[str, dict[str, float]] = {}
    for qualite in sorted({s.qualite for s in samples}):
        subset = [s.chars for s in samples if s.qualite == qualite]
        by_qualite[qualite] = {"count": len(subset), **_distribution(subset)}
    by_size = Counter(len({s.beneficiary for s in samples if s.card == c}) for c in range(cards))
    # Cross-check the capacity table with segno on the shortest, median and longest texts.
    checks = sorted(texts, key=len)
    checked = {}
    for text in (checks[0], checks[len(checks) // 2], checks[-1]):
        expected = segno_version(text)
        if expected is None:
            notes.append("segno not installed: QR versions from the capacity table only.")
            break
        if expected != qr_version_q(len(text)):
            raise AssertionError(f"segno says version {expected} for {len(text)} characters")
        checked[len(text)] = expected
    return {
        "settings": {
            "cards": cards,
            "seed": seed,
            "ins": with_ins,
            "label": label,
            "vitale_cred": vitale_cred.__version__,
            "issued_at": ISSUED_AT.isoformat(),
            "valid_days": VALID_DAYS,
            "status": f"list 1..{STATUS_LISTS}, index < {STATUS_LIST_ENTRIES}",
            "status_reference_fields": [f.name for f in dataclasses.fields(StatusReference)],
            "ecc": "Q",
        },
        "wire": wire_features(decode_qr_text(texts[0])),
        "presentations": len(samples),
        "cards_by_beneficiaries": {str(k): by_size[k] for k in sorted(by_size)},
        "compressed": sum(s.compressed for s in samples),
        "qr_chars": _distribution(chars),
        "qr_version_q": _distribution(versions),
        "token_bytes": _distribution(tokens),
        "version_histogram": {str(v): n for v, n in sorted(Counter(versions).items())},
        "by_qualite": by_qualite,
        "breakdown": categories,
        "fields": fields,
        "family5": family5(bench, ins=with_ins),
        "segno_checked": checked,
        "notes": notes,
    }


def family5(bench: Bench, *, ins: bool) -> list[dict[str, Any]]:
    """The per-beneficiary QR texts of ``spec/examples/family5.json`` (its ``ins``
    objects left out when ``ins`` is false)."""
    value = json.loads(FAMILY5.read_text(encoding="utf-8"))
    if not ins:
        for beneficiary in value["beneficiaries"]:
            beneficiary.pop("ins", None)
    card = Card.from_json(value)
    samples, _ = bench.present_card(card, -1)
    return [
        {
            "beneficiary": s.beneficiary,
            "qualite": s.qualite,
            "chars": s.chars,
            "version_q": s.version,
            "token_bytes": s.token_bytes,
        }
        for s in samples
    ]


# --- reports --------------------------------------------------------------------------


def markdown(results: dict[str, Any]) -> str:
    """The results as a Markdown report."""
    settings = results["settings"]
    lines = ["# QR size on random cards", ""]
    title = f" ({settings['label']})" if settings["label"] else ""
    lines += [
        f"Wire{title}: {', '.join(results['wire'])}. "
        f"{settings['cards']:,} cards from `benchmarks/cards.py`, seed {settings['seed']}, "
        f"{'with' if settings['ins'] else 'without'} INS; "
        f"{results['presentations']:,} presentations (one per beneficiary), each credential "
        f"with a status reference ({settings['status']}), default presentation lifetime, "
        f"QR versions at ECC level Q (alphanumeric mode). "
        f"Cards by number of beneficiaries: "
        + ", ".join(f"{k}: {v}" for k, v in results["cards_by_beneficiaries"].items())
        + f". zlib-compressed texts: {results['compressed']}.",
        "",
        "## Distribution",
        "",
        "| | min | mean | median | p90 | p95 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, name in (
        ("qr_chars", "QR text, characters"),
        ("qr_version_q", "QR version (Q)"),
        ("token_bytes", "token, bytes"),
    ):
        d = results[key]
        lines.append(
            f"| {name} | {d['min']} | {d['mean']} | {d['median']} | {d['p90']} | "
            f"{d['p95']} | {d['p99']} | {d['max']} |"
        )
    lines += ["", "## QR versions (level Q)", "", "| version | capacity | presentations | share |"]
    lines.append("|---:|---:|---:|---:|")
    total = results["presentations"]
    for version, count in results["version_histogram"].items():
        capacity = QR_Q_ALPHANUMERIC_CAPACITY[int(version) - 1]
        lines.append(f"| {version} | {capacity} | {count} | {100 * count / total:.1f} % |")
    lines += ["", "## By qualité (characters)", ""]
    lines += ["| qualité | presentations | median | p95 | max |", "|---|---:|---:|---:|---:|"]
    for qualite, d in results["by_qualite"].items():
        lines.append(f"| {qualite} | {d['count']} | {d['median']} | {d['p95']} | {d['max']} |")
    lines += [
        "",
        "## Where the bytes go",
        "",
        "Mean bytes per presentation token by category; every byte is in exactly one "
        "category and the categories sum to the token length (checked for every token). "
        "Base45 turns n token bytes into about 1.5 (n + 1) characters after `VC1:`.",
        "",
        "| category | mean bytes | share | what |",
        "|---|---:|---:|---|",
    ]
    rows = sorted(results["breakdown"].items(), key=lambda kv: -kv[1]["mean_bytes"])
    for name, d in rows:
        lines.append(
            f"| {name} | {d['mean_bytes']:.1f} | {100 * d['share']:.1f} % | {CATEGORIES[name]} |"
        )
    lines += [
        "",
        "By wire field (label, value and the heads inside it; mean over all presentations, "
        "and how many presentations carry the field):",
        "",
        "| field | mean bytes | present |",
        "|---|---:|---:|",
    ]
    for name, d in sorted(results["fields"].items(), key=lambda kv: -kv[1]["mean_bytes"]):
        lines.append(f"| `{name}` | {d['mean_bytes']:.1f} | {d['present']} |")
    lines += ["", "## `spec/examples/family5.json`", ""]
    lines += ["| beneficiary | qualité | characters | version (Q) | token bytes |"]
    lines.append("|---:|---|---:|---:|---:|")
    for row in results["family5"]:
        lines.append(
            f"| {row['beneficiary']} | {row['qualite']} | {row['chars']} | "
            f"{row['version_q']} | {row['token_bytes']} |"
        )
    lines.append("")
    if results["segno_checked"]:
        checked = ", ".join(f"{c} characters: {v}" for c, v in results["segno_checked"].items())
        lines += [f"QR versions cross-checked with segno ({checked}).", ""]
    for note in results["notes"]:
        lines += [f"Note: {note}", ""]
    lines.append(
        f"Reproduce: `python -m benchmarks.qr_sizes --cards {settings['cards']} "
        f"--seed {settings['seed']}`."
    )
    return "\n".join(lines) + "\n"


def summary(results: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    c, v = results["qr_chars"], results["qr_version_q"]
    top = sorted(results["breakdown"].items(), key=lambda kv: -kv[1]["mean_bytes"])
    parts = ", ".join(f"{k} {d['mean_bytes']:.1f}" for k, d in top if d["mean_bytes"])
    return (
        f"{results['presentations']} presentations of {results['settings']['cards']} cards "
        f"({', '.join(results['wire'])})\n"
        f"characters: median {c['median']}, p95 {c['p95']}, p99 {c['p99']}, max {c['max']}\n"
        f"version Q:  median {v['median']}, p95 {v['p95']}, p99 {v['p99']}, max {v['max']}\n"
        f"mean bytes: {parts} (token {results['token_bytes']['mean']})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.qr_sizes", description=__doc__)
    parser.add_argument("--cards", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ins", choices=("auto", "yes", "no"), default="auto")
    parser.add_argument("--json", type=Path, help="results file (JSON)")
    parser.add_argument("--md", type=Path, help="report file (Markdown)")
    parser.add_argument("--label", default="", help="name of the measured wire in the report")
    args = parser.parse_args(argv)
    if args.cards < 1:
        parser.error("--cards must be at least 1")
    json_out, md_out = args.json, args.md
    if json_out is None and md_out is None:
        json_out, md_out = RESULTS / "qr_sizes.json", RESULTS / "qr_sizes.md"
    results = run(args.cards, args.seed, ins=args.ins, label=args.label)
    if json_out is not None:
        json_out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    if md_out is not None:
        md_out.write_text(markdown(results), encoding="utf-8")
    print(summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
