"""QR image adapter: render with segno, read back with zxing-cpp."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import cbor2
import pytest

segno = pytest.importorskip("segno")
zxingcpp = pytest.importorskip("zxingcpp")
Image = pytest.importorskip("PIL.Image")

from vitale_cred.adapters.qrimage import (  # noqa: E402
    qr_version,
    read_image,
    render_png,
    render_svg,
    render_terminal,
)
from vitale_cred.errors import InvalidArgument, QrError, UsageError  # noqa: E402
from vitale_cred.hazmat.qrtext import decode_qr_text, encode_qr_text  # noqa: E402

PAYLOAD = cbor2.dumps(
    {1: "https://issuer.example.fr", 4: 1_900_000_000, -65537: {"nir": "185057800608436"}}
)
TEXT = encode_qr_text(PAYLOAD)


def _texts_of_growing_length() -> list[str]:
    return [encode_qr_text(bytes(range(1, n + 1)), compress=False) for n in (1, 40, 120, 250)]


def test_png_round_trip_through_a_file_returns_the_same_text(tmp_path: Path) -> None:
    path = tmp_path / "card.png"
    render_png(TEXT, path)
    assert path.read_bytes().startswith(b"\x89PNG")
    read = read_image(path)
    assert read == TEXT
    assert decode_qr_text(read) == PAYLOAD


def test_png_round_trip_through_a_str_path_returns_the_same_text(tmp_path: Path) -> None:
    path = tmp_path / "card.png"
    render_png(TEXT, str(path), scale=2, border=4)
    assert read_image(str(path)) == TEXT


def test_png_round_trip_through_bytes_returns_the_same_text() -> None:
    buffer = io.BytesIO()
    render_png(TEXT, buffer)
    assert read_image(buffer.getvalue()) == TEXT


def test_read_image_accepts_a_pil_image_and_a_numpy_array() -> None:
    np = pytest.importorskip("numpy")
    buffer = io.BytesIO()
    render_png(TEXT, buffer)
    with Image.open(io.BytesIO(buffer.getvalue())) as opened:
        grey = opened.convert("L")
    assert read_image(grey) == TEXT
    assert read_image(np.asarray(grey)) == TEXT


def test_a_dcc_sized_text_round_trips_through_png(tmp_path: Path) -> None:
    text = encode_qr_text(bytes(range(256)) + bytes(range(110)), compress=False)
    assert 540 <= len(text) <= 560
    path = tmp_path / "large.png"
    render_png(text, path)
    assert read_image(path) == text


def test_rendered_code_is_error_level_q_by_default() -> None:
    buffer = io.BytesIO()
    render_png(TEXT, buffer)
    with Image.open(io.BytesIO(buffer.getvalue())) as opened:
        found = zxingcpp.read_barcodes(opened.convert("L"))
    assert len(found) == 1
    assert found[0].ec_level == "Q"


def test_error_level_can_be_chosen() -> None:
    buffer = io.BytesIO()
    render_png(TEXT, buffer, error="H")
    with Image.open(io.BytesIO(buffer.getvalue())) as opened:
        found = zxingcpp.read_barcodes(opened.convert("L"))
    assert found[0].ec_level == "H"


def test_scale_and_border_set_the_png_size() -> None:
    version = qr_version(TEXT)
    modules = 17 + 4 * version
    buffer = io.BytesIO()
    render_png(TEXT, buffer, scale=3, border=2)
    with Image.open(io.BytesIO(buffer.getvalue())) as opened:
        assert opened.size == (3 * (modules + 4), 3 * (modules + 4))


def test_svg_is_written_to_a_file(tmp_path: Path) -> None:
    path = tmp_path / "card.svg"
    render_svg(TEXT, path)
    content = path.read_text(encoding="utf-8")
    assert "<svg" in content
    assert "</svg>" in content


def test_terminal_rendering_uses_half_blocks_on_half_the_rows() -> None:
    drawing = render_terminal(TEXT)
    rows = drawing.splitlines()
    modules = 17 + 4 * qr_version(TEXT) + 2 * 4
    assert len(rows) == (modules + 1) // 2
    assert set("".join(rows)) <= {"█", "▀", "▄", " "}


def test_qr_version_is_an_int_between_1_and_40() -> None:
    version = qr_version(TEXT)
    assert isinstance(version, int)
    assert 1 <= version <= 40


def test_qr_version_grows_with_text_length() -> None:
    versions = [qr_version(text) for text in _texts_of_growing_length()]
    assert versions == sorted(versions)
    assert versions[0] < versions[-1]


def test_qr_version_of_a_dcc_sized_text_at_q_is_at_most_18() -> None:
    # The EU DCC median is 555 Base45 characters, which needs version 18 at Q.
    assert qr_version("VC1:" + "0" * 551) == 18


def test_qr_version_grows_with_the_error_level() -> None:
    versions = [qr_version(TEXT, error=level) for level in ("L", "M", "Q", "H")]
    assert versions == sorted(versions)


def test_qr_version_matches_the_rendered_code() -> None:
    buffer = io.BytesIO()
    render_png(TEXT, buffer, scale=1, border=0)
    with Image.open(io.BytesIO(buffer.getvalue())) as opened:
        assert opened.size[0] == 17 + 4 * qr_version(TEXT)


@pytest.mark.parametrize("text", ["vc1:abc", "VC1:BB8\n", "VC1:é"])
def test_text_outside_the_alphanumeric_mode_raises_invalid_argument(text: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        qr_version(text)
    assert info.value.code == "usage.invalid_argument"


def test_text_too_long_for_level_q_raises_invalid_argument() -> None:
    # Level Q holds at most 2420 alphanumeric characters (version 40).
    assert qr_version("0" * 2420) == 40
    with pytest.raises(InvalidArgument):
        qr_version("0" * 2421)
    assert qr_version("0" * 2421, error="L") <= 40


@pytest.mark.parametrize("error", ["q", "X", "", None])
def test_unknown_error_level_raises_invalid_argument(error: object) -> None:
    with pytest.raises(InvalidArgument):
        qr_version(TEXT, error=error)  # type: ignore[arg-type]


def test_non_str_text_raises_invalid_argument(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument):
        render_png(TEXT.encode(), tmp_path / "x.png")  # type: ignore[arg-type]


def test_image_without_a_qr_code_raises_qr_error() -> None:
    buffer = io.BytesIO()
    Image.new("L", (200, 200), 255).save(buffer, format="PNG")
    with pytest.raises(QrError) as info:
        read_image(buffer.getvalue())
    assert type(info.value) is QrError
    assert "found 0" in str(info.value)


def test_image_with_two_qr_codes_raises_qr_error() -> None:
    first, second = io.BytesIO(), io.BytesIO()
    render_png(TEXT, first)
    render_png(encode_qr_text(b"\xa0"), second)
    with Image.open(first) as a, Image.open(second) as b:
        a_grey, b_grey = a.convert("L"), b.convert("L")
    canvas = Image.new("L", (a_grey.width + b_grey.width, max(a_grey.height, b_grey.height)), 255)
    canvas.paste(a_grey, (0, 0))
    canvas.paste(b_grey, (a_grey.width, 0))
    with pytest.raises(QrError) as info:
        read_image(canvas)
    assert "found 2" in str(info.value)


def test_bytes_that_are_not_an_image_raise_invalid_argument() -> None:
    with pytest.raises(InvalidArgument):
        read_image(b"not an image")


def test_missing_file_raises_invalid_argument(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument):
        read_image(tmp_path / "absent.png")


def test_object_that_is_not_an_image_raises_invalid_argument() -> None:
    with pytest.raises(InvalidArgument):
        read_image(12345)


def test_missing_segno_raises_usage_error_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A None entry in sys.modules makes the import raise ImportError.
    monkeypatch.setitem(sys.modules, "segno", None)
    with pytest.raises(UsageError) as info:
        render_png(TEXT, tmp_path / "card.png")
    assert type(info.value) is UsageError
    assert "vitale-cred[qr]" in str(info.value)
    for render in (render_terminal, qr_version):
        with pytest.raises(UsageError):
            render(TEXT)


@pytest.mark.parametrize("module", ["zxingcpp", "PIL"])
def test_missing_reader_dependency_raises_usage_error_naming_the_extra(
    module: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "card.png"
    render_png(TEXT, path)
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(UsageError) as info:
        read_image(path)
    assert type(info.value) is UsageError
    assert "vitale-cred[qr]" in str(info.value)
