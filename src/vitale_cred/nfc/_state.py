"""The state machines of both ends, in one place (``spec/nfc.md`` sections 10.3, 10.5).

One enum of states per role, one :class:`Trigger` enum, one table per role, in the
style of h11's ``_state.py``: every legal transition is written out below and
anything else is refused at once. The holder's refusal is the reader's fault, a
status word on the wire (:class:`~vitale_cred.errors.NfcOutOfOrder`, 6985); the
reader's refusal is its caller's fault (:class:`~vitale_cred.errors.NfcIllegalState`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Final, TypeVar

from vitale_cred.errors import NfcIllegalState, NfcOutOfOrder


class HolderState(Enum):
    """States of the card side."""

    IDLE = "idle"  # not selected (power-up, failed request, abandoned response)
    SELECTED = "selected"  # FCI sent, ephemeral key ready, waiting for the request
    SENDING = "sending"  # presentation pending, delivered by GET RESPONSE
    DONE = "done"  # presentation fully delivered


class ReaderState(Enum):
    """States of the reader side."""

    START = "start"
    SELECTING = "selecting"  # SELECT sent, collecting the FCI
    REQUESTING = "requesting"  # request sent, collecting the presentation
    LOCKED = "locked"  # the holder answered 6982; retry() resends the same request
    DONE = "done"  # result available
    FAILED = "failed"  # error available


class Trigger(Enum):
    """What moves a session from one state to another."""

    SELECT = "select"
    REQUEST = "request"
    DELIVERED = "delivered"
    LOCKED = "locked"
    ABORT = "abort"
    SEND_SELECT = "send_select"
    FCI = "fci"
    RESPONSE = "response"
    RETRY = "retry"
    FAIL = "fail"


HOLDER_TRANSITIONS: Final[Mapping[HolderState, Mapping[Trigger, HolderState]]] = {
    # Any SELECT of the AID starts a new session, whatever the state.
    HolderState.IDLE: {
        Trigger.SELECT: HolderState.SELECTED,
    },
    HolderState.SELECTED: {
        Trigger.SELECT: HolderState.SELECTED,
        Trigger.REQUEST: HolderState.SENDING,
        Trigger.LOCKED: HolderState.SELECTED,  # 6982: the reader resends the same request
        Trigger.ABORT: HolderState.IDLE,  # refused at R4 - R17 or R20
    },
    HolderState.SENDING: {
        Trigger.SELECT: HolderState.SELECTED,
        Trigger.DELIVERED: HolderState.DONE,
        Trigger.ABORT: HolderState.IDLE,  # any command but GET RESPONSE (H7)
    },
    HolderState.DONE: {
        Trigger.SELECT: HolderState.SELECTED,
    },
}
"""Every legal transition of the holder (``spec/nfc.md`` section 10.3)."""

READER_TRANSITIONS: Final[Mapping[ReaderState, Mapping[Trigger, ReaderState]]] = {
    ReaderState.START: {
        Trigger.SEND_SELECT: ReaderState.SELECTING,
    },
    ReaderState.SELECTING: {
        Trigger.FCI: ReaderState.REQUESTING,
        Trigger.FAIL: ReaderState.FAILED,  # 6982 included: only a request can be locked
    },
    ReaderState.REQUESTING: {
        Trigger.RESPONSE: ReaderState.DONE,
        Trigger.LOCKED: ReaderState.LOCKED,
        Trigger.FAIL: ReaderState.FAILED,
    },
    ReaderState.LOCKED: {
        Trigger.RETRY: ReaderState.REQUESTING,
    },
    ReaderState.DONE: {},
    ReaderState.FAILED: {},
}
"""Every legal transition of the reader (``spec/nfc.md`` section 10.5)."""

_S = TypeVar("_S", HolderState, ReaderState)


def _next(
    table: Mapping[_S, Mapping[Trigger, _S]],
    state: _S,
    trigger: Trigger,
    error: type[NfcOutOfOrder | NfcIllegalState],
) -> _S:
    new = table[state].get(trigger)
    if new is None:
        raise error(f"{trigger.value} is not allowed in state {state.value}")
    return new


def holder_allows(state: HolderState, trigger: Trigger) -> bool:
    """Whether the holder's table has ``trigger`` in ``state``."""
    return trigger in HOLDER_TRANSITIONS[state]


def holder_next(state: HolderState, trigger: Trigger) -> HolderState:
    """The holder's next state; a trigger its state does not allow raises NfcOutOfOrder."""
    return _next(HOLDER_TRANSITIONS, state, trigger, NfcOutOfOrder)


def reader_next(state: ReaderState, trigger: Trigger) -> ReaderState:
    """The reader's next state; a trigger its state does not allow raises NfcIllegalState."""
    return _next(READER_TRANSITIONS, state, trigger, NfcIllegalState)
