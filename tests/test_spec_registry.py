"""The specification's registries match the code: error codes and wire labels."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from enum import IntEnum
from pathlib import Path

import pytest

from vitale_cred import registry
from vitale_cred.errors import all_error_classes
from vitale_cred.model import ExonerationCode, Qualite

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec"
_HEADING = re.compile(r"^#{2,4} .*$", re.MULTILINE)
_ROW = re.compile(r"^\|\s*([a-z0-9_]+)\s*\|\s*(-?\d+)\s*\|", re.MULTILINE)


def _registry_enums() -> list[type[IntEnum]]:
    return [
        obj
        for _, obj in inspect.getmembers(registry, inspect.isclass)
        if issubclass(obj, IntEnum) and obj.__module__ == registry.__name__
    ]


def _sections(text: str) -> dict[str, str]:
    """Each heading with the text up to the next heading."""
    heads = list(_HEADING.finditer(text))
    ends = [h.start() for h in heads[1:]] + [len(text)]
    return {h.group(0): text[h.end() : end] for h, end in zip(heads, ends, strict=True)}


def _section_for(enum: type[IntEnum], sections: dict[str, str]) -> str:
    matches = [body for head, body in sections.items() if f"`{enum.__name__}`" in head]
    assert len(matches) == 1, f"spec/encoding.md needs one heading naming `{enum.__name__}`"
    return matches[0]


# --- errors ---------------------------------------------------------------------------


def test_error_codes_are_unique() -> None:
    codes = [cls.code for cls in all_error_classes()]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    assert not duplicates, f"codes used by several classes: {duplicates}"


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda c: c.code)
def test_every_error_code_is_in_errors_md(cls: type) -> None:
    text = (SPEC / "errors.md").read_text("utf-8")
    assert f"| `{cls.code}` | `{cls.__name__}` |" in text  # type: ignore[attr-defined]


def test_errors_md_has_one_row_per_class() -> None:
    text = (SPEC / "errors.md").read_text("utf-8")
    table = text.split("<!-- BEGIN ERROR TABLE -->", 1)[1].split("<!-- END ERROR TABLE -->")[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) == len(all_error_classes())


def test_errors_md_is_fresh() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_errors_md.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# --- wire labels ----------------------------------------------------------------------


@pytest.mark.parametrize("enum", _registry_enums(), ids=lambda e: e.__name__)
def test_every_registry_label_is_in_encoding_md(enum: type[IntEnum]) -> None:
    section = _section_for(enum, _sections((SPEC / "encoding.md").read_text("utf-8")))
    rows = set(_ROW.findall(section))
    missing = [
        f"{m.name.lower()} | {m.value}" for m in enum if (m.name.lower(), str(m.value)) not in rows
    ]
    assert not missing, f"{enum.__name__}: no row {missing} in spec/encoding.md"
    stale = sorted(
        f"{name} | {value}"
        for name, value in rows
        if name not in {m.name.lower() for m in enum} or enum[name.upper()].value != int(value)
    )
    assert not stale, f"{enum.__name__}: rows {stale} name no registry member"


def test_every_registry_is_tested() -> None:
    assert len(_registry_enums()) >= 16


@pytest.mark.parametrize("enum", [Qualite, ExonerationCode], ids=lambda e: e.__name__)
def test_card_codes_are_in_data_model_md(enum: type[IntEnum]) -> None:
    text = (SPEC / "data-model.md").read_text("utf-8")
    for member in enum:
        assert f"| {member.value} | `{member.name.lower()}` |" in text, member


# --- worked example -------------------------------------------------------------------


def _block(text: str, after: str, fence: str = "```") -> str:
    return text.split(after, 1)[1].split(fence, 2)[1]


def test_presentation_worked_example_is_reproducible() -> None:
    """The snippet of presentation.md section 6 prints the bytes the spec shows."""
    presentation = (SPEC / "presentation.md").read_text("utf-8")
    code = _block(presentation, "### 6.2 Code").removeprefix("python\n")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    proof, credential, token, qr_text, summary = result.stdout.splitlines()

    def hex_block(text: str, heading: str) -> str:
        return re.sub(r"\s+", "", _block(text, heading))

    proof_md = (SPEC / "credential.md").read_text("utf-8")
    assert hex_block(proof_md, "### 4.4 Example") == proof
    assert hex_block(presentation, "### 6.3 Credential") == credential
    assert hex_block(presentation, "### 6.4 Presentation") == token
    assert _block(presentation, "### 6.5 QR text").strip("\n") == qr_text
    assert summary == "178047505612327 01 751 0001 ('Pierre', 'Louis')"


@pytest.mark.parametrize(
    "enum",
    [v for v in vars(registry).values() if isinstance(v, type) and issubclass(v, IntEnum)],
)
def test_numbers_are_the_members_values_and_read_only(enum: type[IntEnum]) -> None:
    view = registry.numbers(enum)
    for member in enum:
        value = getattr(view, member.name)
        assert type(value) is int and value == member and hash(value) == hash(member)
    with pytest.raises(AttributeError):
        view.NOT_A_MEMBER  # noqa: B018
    with pytest.raises(AttributeError):
        view.X = 1
    with pytest.raises(AttributeError):
        view._enum = enum
