"""Conformance vectors: generate them, and check an implementation against them.

The vectors (``spec/vectors/*.json``, described field by field in
``spec/vectors/README.md``) are the contract between this specification and
implementations in other languages. Commands (``tools/vectors/__main__.py``):

* ``python -m tools.vectors generate DIR``: :func:`.generate.main_generate`; the same
  bytes on every run;
* ``python -m tools.vectors check DIR [--adapter CMD] [--json]``:
  :func:`.runner.check` (``spec/vectors/run.py``); a table of passes and failures per area and per
  error code; exit status 0 when nothing failed.

Adapter interface
-----------------

Without ``--adapter`` the cases run in-process against this library. With it,
the runner starts ``CMD`` (split like a shell command line, no shell involved)
once per case, writes the case -- one JSON object, exactly as it appears in the
vector file -- on its standard input, closes it, and reads one JSON object from
the last non-empty line of its standard output:

``{"result": "valid", "fields": {...}}``
    the implementation accepted the input; ``fields`` holds what it verified
    (the members a case's ``expected.fields`` lists, README section 4.3);
``{"result": "invalid", "code": "<error code>"}``
    it refused the input with that code (``spec/errors.md``);
``{"result": "skipped", "reason": "..."}``
    it does not implement the case's ``operation``; counted, never a failure;
``{"result": "error", "message": "..."}``
    it could not run the case at all; a failure.

NFC cases (operations ``nfc_reader`` and ``nfc_holder``) add ``"transcript"``:
the list of command APDUs the reader sent, or of response APDUs the holder
gave, hex, in order; it must equal the recorded exchanges. An adapter may add
``"steps"``; they are compared with ``expected.steps`` when present. The process
has :data:`.runner.ADAPTER_TIMEOUT` seconds per case; its exit status is ignored.

``python -m tools.vectors.adapter_self`` is this library behind that
interface; ``python -m tools.vectors check DIR --adapter "python -m
tools.vectors.adapter_self"`` exercises the subprocess path end to end.
"""

from __future__ import annotations

__all__: list[str] = []
