"""CBOR profile vectors (spec/encoding.md section 2): one data item, decoded strictly."""

from __future__ import annotations

from typing import Any

from tools.vectors._build import CaseList, invalid, valid
from tools.vectors._material import Material

AREA = "cbor"
DESCRIPTION = (
    "The strict CBOR profile: one data item decoded under explicit limits "
    "(encoding.md section 2.3), each defect with its code."
)

_DEFAULT = {"max_size": 65536, "max_depth": 16, "tags": [], "deterministic": True}

# (id, section, description, hex, expected code or None, params override)
_CASES: list[tuple[str, str, str, str, str | None, dict[str, Any]]] = [
    # --- valid items ---
    ("uint-0", "2.1", "unsigned integer 0", "00", None, {}),
    ("uint-23", "2.2", "23, the largest one-byte integer", "17", None, {}),
    ("uint-24", "2.2", "24, the smallest integer with a one-byte argument", "1818", None, {}),
    ("uint-256", "2.2", "256 in a two-byte argument", "190100", None, {}),
    ("uint-65536", "2.2", "65 536 in a four-byte argument", "1a00010000", None, {}),
    ("uint-2-32", "2.2", "2^32 in an eight-byte argument", "1b0000000100000000", None, {}),
    ("uint-max", "2.1", "2^64 - 1, the largest unsigned integer", "1bffffffffffffffff", None, {}),
    ("nint-min", "2.1", "-2^64, the smallest negative integer", "3bffffffffffffffff", None, {}),
    ("bytes", "2.1", "a byte string h'010203'", "43010203", None, {}),
    ("text-utf8", "2.1", 'a text string "ü" (two UTF-8 bytes)', "62c3bc", None, {}),
    ("empty-containers", "2.1", "[h'', \"\", [], {}]", "84406080a0", None, {}),
    ("simple-values", "2.1", "[false, true]: the only simple values", "82f4f5", None, {}),
    (
        "map-key-order",
        "2.2",
        '{1: 0, 24: 0, -1: 0, "a": 0}: keys in bytewise order of their encodings',
        "a4010018180020006161 00".replace(" ", ""),
        None,
        {},
    ),
    (
        "depth-16",
        "2.4",
        "16 nested arrays: exactly the maximum depth",
        "81" * 15 + "80",
        None,
        {},
    ),
    (
        "items-4096",
        "2.4",
        "an array of 4 096 zeros: exactly MAX_ITEMS",
        "991000" + "00" * 4096,
        None,
        {},
    ),
    (
        "tag-18-allowed",
        "2.1",
        "tag 18 where the structure allows it",
        "d28440a04040",
        None,
        {"tags": [18]},
    ),
    (
        "non-deterministic-accepted",
        "2.3",
        "a non-shortest head, decoded with the deterministic checks off "
        "(only the claims of a Status List Token are decoded so)",
        "190017",
        None,
        {"deterministic": False},
    ),
    # --- check 1: size cap ---
    (
        "too-large-input",
        "2.3",
        "17 bytes under a size cap of 16, refused before decoding",
        "50" + "00" * 16,
        "cbor.too_large",
        {"max_size": 16},
    ),
    # --- check 2: reserved additional information ---
    ("reserved-ai-28", "2.3", "additional information 28", "1c", "cbor.malformed", {}),
    ("reserved-ai-29", "2.3", "additional information 29", "3d", "cbor.malformed", {}),
    ("reserved-ai-30", "2.3", "additional information 30", "5e", "cbor.malformed", {}),
    # --- check 3: indefinite lengths ---
    (
        "indefinite-array",
        "2.3",
        "an indefinite-length array",
        "9f01ff",
        "cbor.indefinite_length",
        {},
    ),
    (
        "indefinite-bytes",
        "2.3",
        "an indefinite-length byte string",
        "5f4101ff",
        "cbor.indefinite_length",
        {},
    ),
    ("indefinite-map", "2.3", "an indefinite-length map", "bf0102ff", "cbor.indefinite_length", {}),
    ("break-byte", "2.3", "a lone break byte", "ff", "cbor.indefinite_length", {}),
    # --- check 4: head past the input ---
    ("empty-input", "2.3", "no byte at all", "", "cbor.length_exceeds_input", {}),
    (
        "head-truncated",
        "2.3",
        "a two-byte argument with one byte present",
        "1901",
        "cbor.length_exceeds_input",
        {},
    ),
    # --- check 5: shortest form ---
    (
        "non-shortest-1",
        "2.3",
        "23 written with a one-byte argument",
        "1817",
        "cbor.non_deterministic",
        {},
    ),
    (
        "non-shortest-2",
        "2.3",
        "23 written with a two-byte argument",
        "190017",
        "cbor.non_deterministic",
        {},
    ),
    (
        "non-shortest-length",
        "2.3",
        "an empty byte string with a one-byte length",
        "5800",
        "cbor.non_deterministic",
        {},
    ),
    # --- check 6: string past the input ---
    (
        "string-truncated",
        "2.3",
        "a 3-byte string with 2 bytes present",
        "430102",
        "cbor.length_exceeds_input",
        {},
    ),
    # --- check 7: UTF-8 ---
    ("invalid-utf8", "2.3", "a text string that is not UTF-8", "62c328", "cbor.malformed", {}),
    # --- check 8: major type 7 ---
    ("float16", "2.3", "a half-precision float", "f93c00", "cbor.type_not_allowed", {}),
    ("float32", "2.3", "a single-precision float", "fa3f800000", "cbor.type_not_allowed", {}),
    (
        "float64",
        "2.3",
        "a double-precision float",
        "fb3ff0000000000000",
        "cbor.type_not_allowed",
        {},
    ),
    ("undefined", "2.3", "undefined", "f7", "cbor.type_not_allowed", {}),
    ("simple-16", "2.3", "simple value 16", "f0", "cbor.type_not_allowed", {}),
    ("simple-32", "2.3", "simple value 32 (one-byte form)", "f820", "cbor.type_not_allowed", {}),
    ("null", "2.3", "null: no v1 structure uses it", "f6", "cbor.type_not_allowed", {}),
    (
        "null-map-value",
        "2.3",
        "{4: null}: a null exp(4) is refused, never read as an absent label",
        "a104f6",
        "cbor.type_not_allowed",
        {},
    ),
    ("null-array-element", "2.3", "[1, null]", "8201f6", "cbor.type_not_allowed", {}),
    (
        "null-tagged",
        "2.3",
        "tag 18 around null, where tag 18 is allowed",
        "d2f6",
        "cbor.type_not_allowed",
        {"tags": [18]},
    ),
    (
        "null-payload",
        "2.3",
        "a COSE_Sign1 whose payload is null (detached): refused before any COSE check",
        "d28440a0f640",
        "cbor.type_not_allowed",
        {"tags": [18]},
    ),
    (
        "null-non-deterministic",
        "2.3",
        "{1: null} with the deterministic checks off: null is refused all the same",
        "a101f6",
        "cbor.type_not_allowed",
        {"deterministic": False},
    ),
    # --- check 9: depth ---
    ("too-deep", "2.3", "17 nested arrays", "81" * 16 + "80", "cbor.too_deep", {}),
    (
        "too-deep-param",
        "2.5",
        "a map in an array in an array under a maximum depth of 2",
        "8181a0",
        "cbor.too_deep",
        {"max_depth": 2},
    ),
    # --- check 10: item count ---
    (
        "items-4097",
        "2.4",
        "an array of 4 097 zeros: one item over MAX_ITEMS",
        "991001" + "00" * 4097,
        "cbor.too_large",
        {},
    ),
    (
        "items-nested-4096",
        "2.4",
        "an array of two arrays of 2 047 zeros: 2 + 2 047 + 2 047 = 4 096 items, the maximum",
        "82" + ("9907ff" + "00" * 2047) * 2,
        None,
        {},
    ),
    (
        "items-running-count",
        "2.3",
        "an array of two arrays of 2 047 and 2 048 zeros: the running count reaches 4 097 "
        "at the head of the second inner array",
        "82" + "9907ff" + "00" * 2047 + "990800" + "00" * 2048,
        "cbor.too_large",
        {},
    ),
    # --- check 11: container counts past the input ---
    (
        "array-truncated",
        "2.3",
        "an array of 3 items with 2 bytes left",
        "830102",
        "cbor.length_exceeds_input",
        {},
    ),
    (
        "map-truncated",
        "2.3",
        "a map of 2 pairs with 2 bytes left",
        "a20102",
        "cbor.length_exceeds_input",
        {},
    ),
    # --- check 12: map key types ---
    ("key-array", "2.3", "a map key that is an array", "a18000", "cbor.type_not_allowed", {}),
    ("key-bool", "2.3", "a map key that is true", "a1f500", "cbor.type_not_allowed", {}),
    ("key-null", "2.3", "a map key that is null", "a1f600", "cbor.type_not_allowed", {}),
    ("key-false", "2.3", "a map key that is false", "a1f400", "cbor.type_not_allowed", {}),
    ("key-map", "2.3", "a map key that is a map", "a1a000", "cbor.type_not_allowed", {}),
    (
        "key-tag-not-allowed",
        "2.3",
        "a map key that is tag 1: check 12 comes before the tag allow-list (check 15)",
        "a1c10000",
        "cbor.type_not_allowed",
        {},
    ),
    (
        "key-tag-allowed",
        "2.3",
        "a map key that is tag 18, where tag 18 is allowed",
        "a1d20000",
        "cbor.type_not_allowed",
        {"tags": [18]},
    ),
    (
        "key-array-holding-undefined",
        "2.3",
        "a map key [undefined]: the key is refused before its items are examined",
        "a181f700",
        "cbor.type_not_allowed",
        {},
    ),
    (
        "key-array-holding-non-shortest",
        "2.3",
        "a map key [1 in a two-byte argument]: the key is refused before its items",
        "a18119000100",
        "cbor.type_not_allowed",
        {},
    ),
    (
        "key-map-holding-duplicates",
        "2.3",
        "a map key {1: 0, 1: 0}: the key is refused before its own keys are compared",
        "a1a20100010000",
        "cbor.type_not_allowed",
        {},
    ),
    (
        "key-array-too-deep",
        "2.3",
        "a map key that is an array one level below the maximum depth of 1: check 9 "
        "comes before check 12",
        "a18000",
        "cbor.too_deep",
        {"max_depth": 1},
    ),
    (
        "key-array-truncated",
        "2.3",
        "a map key that is an array of 2 items with 1 byte left: check 11 comes before check 12",
        "a18200",
        "cbor.length_exceeds_input",
        {},
    ),
    # --- check 13: duplicate keys ---
    ("duplicate-int-key", "2.3", "{1: 0, 1: 1}", "a201000101", "cbor.duplicate_key", {}),
    (
        "duplicate-text-key",
        "2.3",
        '{"a": 0, "a": 1}',
        "a2616100616101",
        "cbor.duplicate_key",
        {},
    ),
    # --- check 14: key order ---
    ("key-order", "2.3", "{3: 0, 1: 0}", "a203000100", "cbor.non_deterministic", {}),
    (
        "key-order-negative",
        "2.3",
        "{-1: 0, 1: 0}: 0x20 sorts after 0x01",
        "a220000100",
        "cbor.non_deterministic",
        {},
    ),
    (
        "key-order-length-first",
        "2.3",
        '{"bb": 0, "a": 0}: the shorter encoding sorts first',
        "a262626200616100",
        "cbor.non_deterministic",
        {},
    ),
    # --- check 15: tags ---
    (
        "tag-cwt",
        "2.1",
        "tag 61 (CWT) around tag 18, where only 18 is allowed",
        "d83dd28440a0f640",
        "cbor.tag_not_allowed",
        {"tags": [18]},
    ),
    ("tag-epoch", "2.1", "tag 1 (epoch time)", "c100", "cbor.tag_not_allowed", {}),
    ("tag-24", "2.1", "tag 24 (encoded CBOR data item)", "d8184100", "cbor.tag_not_allowed", {}),
    # --- check 16: trailing bytes ---
    ("trailing-byte", "2.3", "0 followed by another 0", "0000", "cbor.trailing_bytes", {}),
    ("trailing-break", "2.3", "{} followed by a break byte", "a0ff", "cbor.trailing_bytes", {}),
]


def build(mat: Material) -> CaseList:
    """The CBOR cases."""
    del mat
    cases = CaseList(AREA)
    for case_id, section, description, data, code, override in _CASES:
        params = {**_DEFAULT, **override}
        cases.add(
            case_id,
            f"encoding.md#{section}",
            description,
            "cbor_decode",
            valid() if code is None else invalid(code),
            input={"cbor": data},
            params=params,
        )
    return cases
