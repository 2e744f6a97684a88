"""The one strict reader of labelled maps: every CBOR structure of the protocol uses it.

A labelled map is checked in the order ``spec/encoding.md`` section 3 fixes for every
structure: it is a map; no label is unknown (the first unknown label in deterministic
encoding order is named); every required label is present (the first missing one in
encoding order is named). What each label holds is the caller's business.

The checks run as set operations in C; the loops that name a defect run only on the
error path, because this is on every verification's hot path.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any

from vitale_cred.errors import (
    SchemaError,
    SchemaMissingLabel,
    SchemaUnknownLabel,
    VitaleCredError,
)
from vitale_cred.registry import label_name

__all__ = ["UINT32_LIMIT", "encoding_order", "labelled_map", "uint32"]

#: Exclusive bound of the 32-bit unsigned values of the protocol (list numbers, indices).
UINT32_LIMIT = 2**32


def encoding_order(key: object) -> tuple[int, Any]:
    """Sort key of a map key in deterministic CBOR order (RFC 8949 section 4.2.1).

    Unsigned integers first (ascending), then negative integers (descending), byte
    strings, text strings; anything else last. Within a major type, shorter heads
    sort first, which for integers and strings of one type is the numeric order.
    """
    if isinstance(key, bool):
        return (7, int(key))
    if isinstance(key, int):
        return (0, key) if key >= 0 else (1, -1 - key)
    if isinstance(key, bytes):
        return (2, (len(key), key))
    if isinstance(key, str):
        data = key.encode("utf-8", "surrogatepass")
        return (3, (len(data), data))
    return (8, repr(key))


def labelled_map(
    value: Any,
    what: str,
    *,
    known: frozenset[Any],
    required: frozenset[Any] = frozenset(),
    labels: type[IntEnum] | None = None,
    error: type[VitaleCredError] = SchemaError,
    unknown: type[VitaleCredError] | None = None,
    missing: type[VitaleCredError] | None = None,
    missing_by_label: Mapping[Any, tuple[type[VitaleCredError], str]] | None = None,
) -> dict[Any, Any]:
    """``value`` itself, once it is a map of ``known`` labels holding every ``required`` one.

    ``error`` is raised when ``value`` is not a map, and for unknown and missing
    labels unless ``unknown`` or ``missing`` name another class. With the default
    ``error`` (:class:`SchemaError`) those are :class:`SchemaUnknownLabel` and
    :class:`SchemaMissingLabel`. ``missing_by_label`` gives a label its own class and
    message when it is the first one missing. ``labels`` names labels in messages.
    """
    if type(value) is not dict:
        raise error(f"{what} must be a map")
    keys = value.keys()
    # A bool equals 0 or 1: it would pass a set test against integer labels. The strict
    # decoder refuses boolean keys, but a map may come from a caller, not the decoder.
    if not keys <= known or bool in set(map(type, keys)):
        first = min(
            (k for k in keys if type(k) is bool or k not in known),
            key=encoding_order,
        )
        name = label_name(labels, first) if labels is not None else repr(first)
        cls = unknown or (SchemaUnknownLabel if error is SchemaError else error)
        raise cls(f"{what} has unknown label {name}")
    if not required <= keys:
        first = min(required - keys, key=encoding_order)
        if missing_by_label is not None and first in missing_by_label:
            special, message = missing_by_label[first]
            raise special(message)
        name = label_name(labels, first) if labels is not None else repr(first)
        cls = missing or (SchemaMissingLabel if error is SchemaError else error)
        raise cls(f"{what} lacks {name}")
    return value


def uint32(value: object, error: type[VitaleCredError], what: str) -> int:
    """``value`` once it is an integer (not a boolean) below 2^32, else ``error``."""
    if type(value) is not int or not 0 <= value < UINT32_LIMIT:
        raise error(f"{what} must be an unsigned integer below 2^32")
    return value
