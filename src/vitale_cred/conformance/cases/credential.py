"""stub"""

from __future__ import annotations

from .._build import CaseList
from .._material import Material

AREA = "credential"
DESCRIPTION = "credential"


def build(mat: Material) -> CaseList:
    """Cases."""
    del mat
    return CaseList(AREA)
