"""README of the vector directory (generated with the vectors)."""

from __future__ import annotations

from collections.abc import Sequence

from ._build import CaseList


def render_readme(lists: Sequence[CaseList]) -> str:
    """The README text."""
    return "# vectors\n" + "".join(f"- {c.area}: {len(c.cases)}\n" for c in lists)
