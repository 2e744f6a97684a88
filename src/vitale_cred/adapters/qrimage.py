"""QR image adapter (optional extra ``vitale-cred[qr]``): segno renders, zxing-cpp reads.

Codes are made in alphanumeric mode (a QR text uses only alphanumeric-mode
characters, see :mod:`vitale_cred.hazmat.qrtext`) at error-correction level Q by default,
as recommended for codes shown on screens. segno's ``boost_error`` is off so the
level asked for is the level rendered.

segno, zxing-cpp and Pillow are imported inside the functions: the core library
never needs them, and a missing one raises :class:`~vitale_cred.errors.UsageError`.
"""

from __future__ import annotations

import io
import os
from typing import IO, Any

from vitale_cred.errors import InvalidArgument, QrError, UsageError

__all__ = ["qr_version", "read_image", "render_png", "render_svg", "render_terminal"]

_INSTALL_HINT = "install vitale-cred[qr] (segno, zxing-cpp, pillow)"
_ERROR_LEVELS = ("L", "M", "Q", "H")


def _make(text: str, error: str) -> Any:
    if not isinstance(text, str):
        raise InvalidArgument(f"QR text must be str, got {type(text).__name__}")
    if error not in _ERROR_LEVELS:
        raise InvalidArgument(f"error must be one of {', '.join(_ERROR_LEVELS)}, got {error!r}")
    try:
        import segno  # noqa: PLC0415 -- optional extra, imported on use
    except ImportError:
        raise UsageError(f"segno is not installed: {_INSTALL_HINT}") from None
    try:
        return segno.make_qr(text, error=error, mode="alphanumeric", boost_error=False)
    except ValueError as exc:
        # segno reports characters outside the alphanumeric mode and data too large
        # for version 40 (DataOverflowError) as ValueError.
        raise InvalidArgument(f"cannot make an alphanumeric QR code: {exc}") from None


def render_png(
    text: str,
    path_or_file: str | os.PathLike[str] | IO[bytes],
    *,
    scale: int = 4,
    border: int = 4,
    error: str = "Q",
) -> None:
    """Write ``text`` as a PNG QR code to a path or a binary file object."""
    _make(text, error).save(path_or_file, kind="png", scale=scale, border=border)


def render_svg(
    text: str,
    path_or_file: str | os.PathLike[str] | IO[bytes],
    *,
    scale: int = 4,
    border: int = 4,
    error: str = "Q",
) -> None:
    """Write ``text`` as an SVG QR code to a path or a binary file object."""
    _make(text, error).save(path_or_file, kind="svg", scale=scale, border=border)


def render_terminal(text: str, *, border: int = 4, error: str = "Q") -> str:
    """Return ``text`` as a QR code drawn with half-block characters for a terminal."""
    out = io.StringIO()
    _make(text, error).terminal(out=out, border=border, compact=True)
    return out.getvalue()


def qr_version(text: str, error: str = "Q") -> int:
    """Smallest QR version (1-40) holding ``text`` in alphanumeric mode at level ``error``."""
    return int(_make(text, error).version)


def read_image(path_or_bytes: str | os.PathLike[str] | bytes | object) -> str:
    """Read the one QR code in an image and return its text.

    Accepts a file path, the bytes of an image file (PNG, JPEG, ...), a PIL image or
    a numpy array. Raises :class:`~vitale_cred.errors.QrError` unless exactly one
    QR code is found.
    """
    try:
        import zxingcpp  # noqa: PLC0415 -- optional extra, imported on use
    except ImportError:
        raise UsageError(f"zxing-cpp is not installed: {_INSTALL_HINT}") from None
    image: object = path_or_bytes
    if isinstance(path_or_bytes, str | os.PathLike | bytes | bytearray | memoryview):
        try:
            from PIL import Image  # noqa: PLC0415 -- optional extra, imported on use
        except ImportError:
            raise UsageError(f"Pillow is not installed: {_INSTALL_HINT}") from None
        source = (
            io.BytesIO(bytes(path_or_bytes))
            if isinstance(path_or_bytes, bytes | bytearray | memoryview)
            else path_or_bytes
        )
        try:
            with Image.open(source) as opened:
                # Load the pixels while the file is open; zxing reads 8-bit grey directly.
                image = opened.convert("L")
        except (OSError, Image.DecompressionBombError) as exc:
            raise InvalidArgument(f"cannot read the image: {exc}") from exc
    try:
        qr_formats = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        found = zxingcpp.read_barcodes(image, formats=qr_formats)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"not an image zxing-cpp can read: {exc}") from None
    if len(found) != 1:
        raise QrError(f"expected exactly one QR code in the image, found {len(found)}")
    return str(found[0].text)
