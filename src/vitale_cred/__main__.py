"""``python -m vitale_cred``: the ``vitale-cred`` command line."""

from __future__ import annotations

import sys

from vitale_cred.cli.app import main

if __name__ == "__main__":
    sys.exit(main())
