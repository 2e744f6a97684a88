"""Bounded zlib (RFC 1950) decompression, shared by QR texts and status lists."""

from __future__ import annotations

import zlib

from vitale_cred.errors import CompressionError, DecompressionBomb

__all__ = ["inflate"]


def inflate(data: bytes, cap: int, where: str) -> bytes:
    """Decompress exactly one complete zlib stream of at most ``cap`` bytes.

    A bomb allocates at most one byte past the cap (``max_length``); a truncated
    stream, trailing bytes after it, or an invalid stream are ``compression.invalid``,
    and a stream inflating past the cap is ``compression.too_large``. ``where`` names
    the stream in messages.
    """
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, cap + 1)
    except zlib.error as exc:
        raise CompressionError(f"invalid zlib stream in {where}: {exc}") from None
    if len(out) > cap:
        raise DecompressionBomb(f"{where} decompresses past the {cap}-byte cap")
    if not inflater.eof:
        raise CompressionError(f"zlib stream in {where} is truncated")
    if inflater.unused_data:
        extra = len(inflater.unused_data)
        raise CompressionError(f"{extra} bytes follow the end of the zlib stream in {where}")
    return out
