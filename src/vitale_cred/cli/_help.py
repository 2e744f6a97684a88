"""The help formatter of every ``vitale-cred`` command."""

from __future__ import annotations

import argparse

__all__ = ["Help"]


class Help(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written, and every option's default shown (unless its help
    already says it, or there is none to show)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            default in (None, False, argparse.SUPPRESS)
            or "default" in text
            or action.option_strings == []
        ):
            return text
        return f"{text} (default: %(default)s)"
