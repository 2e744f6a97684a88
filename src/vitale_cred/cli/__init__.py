"""The ``vitale-cred`` command line: the commands, the demo and ``dump``.

Nothing in the library imports this package.
"""
