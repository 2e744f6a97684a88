"""vitale_cred: the open core of the dematerialised French health-insurance card."""

from __future__ import annotations

__version__ = "0.1.0"
