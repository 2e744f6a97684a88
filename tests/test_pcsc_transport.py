"""``read_presentation`` over a stand-in ``scard`` module: transport failures.

pcscd reports an exchange that broke off (a phone leaving the field mid-APDU, or
vpcd's card reconnecting) as ``SCARD_E_NOT_TRANSACTED``; the reader then starts a
new session when the card answers again, as it does for a removed card, and gives
up at its deadline. Any other transmit failure is ``nfc.pcsc_error`` at once.
"""

from __future__ import annotations

from typing import Any

import pytest

from test_nfc import World, make_world
from vitale_cred.adapters import pcsc
from vitale_cred.errors import PcscError, PcscNoCard
from vitale_cred.nfc import HolderSession

SUCCESS = 0
NOT_TRANSACTED = 0x80100016
INVALID_HANDLE = 0x80100003


class StandInScard:
    """The part of pyscard's ``smartcard.scard`` the reader uses, over a holder session.

    Each connect powers a fresh holder session; ``failures`` lists the codes the
    next transmits return before the card answers.
    """

    SCARD_S_SUCCESS = SUCCESS
    SCARD_SCOPE_USER = 0
    SCARD_SHARE_SHARED = 2
    SCARD_PROTOCOL_T0 = 1
    SCARD_PROTOCOL_T1 = 2
    SCARD_LEAVE_CARD = 0

    def __init__(self, world: World, failures: list[int]) -> None:
        self.world = world
        self.failures = failures
        self.sessions: list[HolderSession] = []
        self.transmits = 0

    def SCardEstablishContext(self, scope: int) -> tuple[int, object]:
        return SUCCESS, object()

    def SCardReleaseContext(self, context: object) -> int:
        return SUCCESS

    def SCardListReaders(self, context: object, groups: list[str]) -> tuple[int, list[str]]:
        return SUCCESS, ["Stand-in reader 0"]

    def SCardConnect(self, *args: Any) -> tuple[int, object, int]:
        self.sessions.append(self.world.holder())
        return SUCCESS, object(), self.SCARD_PROTOCOL_T1

    def SCardDisconnect(self, card: object, disposition: int) -> int:
        return SUCCESS

    def SCardTransmit(
        self, card: object, protocol: int, command: list[int]
    ) -> tuple[int, list[int]]:
        self.transmits += 1
        if self.failures:
            return self.failures.pop(0), []
        return SUCCESS, list(self.sessions[-1].process(bytes(command)))

    def SCardGetErrorMessage(self, code: int) -> str:
        return "stand-in failure"


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()


def _read(monkeypatch: pytest.MonkeyPatch, scard: StandInScard, **kwargs: Any) -> Any:
    monkeypatch.setattr(pcsc, "load_scard", lambda: scard)
    return pcsc.read_presentation(scard.world.verifier(), poll_interval=0.001, **kwargs)


def test_the_stand_in_card_is_read_as_a_card_is(
    monkeypatch: pytest.MonkeyPatch, world: World
) -> None:
    scard = StandInScard(world, [])
    assert _read(monkeypatch, scard, wait_seconds=5).beneficiary_index == 0
    assert len(scard.sessions) == 1


@pytest.mark.parametrize("broken_at", [0, 1, 2])
def test_an_exchange_that_broke_off_starts_a_new_session(
    monkeypatch: pytest.MonkeyPatch, world: World, broken_at: int
) -> None:
    # The first exchanges succeed, then one breaks off: the next session reads the card.
    scard = StandInScard(world, [])
    calls = {"n": 0}
    real = scard.SCardTransmit

    def transmit(card: object, protocol: int, command: list[int]) -> tuple[int, list[int]]:
        calls["n"] += 1
        if calls["n"] == broken_at + 1:
            return NOT_TRANSACTED, []
        return real(card, protocol, command)

    scard.SCardTransmit = transmit  # type: ignore[method-assign]
    result = _read(monkeypatch, scard, wait_seconds=5)
    assert result.beneficiary_index == 0
    assert len(scard.sessions) == 2


def test_a_card_that_never_completes_an_exchange_ends_at_the_deadline(
    monkeypatch: pytest.MonkeyPatch, world: World
) -> None:
    scard = StandInScard(world, [NOT_TRANSACTED] * 10_000)
    with pytest.raises(PcscNoCard) as caught:
        _read(monkeypatch, scard, wait_seconds=0.05)
    assert caught.value.code == "nfc.pcsc_no_card"
    assert len(scard.sessions) >= 2


def test_another_transmit_failure_is_a_pcsc_error_at_once(
    monkeypatch: pytest.MonkeyPatch, world: World
) -> None:
    scard = StandInScard(world, [INVALID_HANDLE])
    with pytest.raises(PcscError) as caught:
        _read(monkeypatch, scard, wait_seconds=5)
    assert type(caught.value) is PcscError
    assert caught.value.code == "nfc.pcsc_error"
    assert scard.transmits == 1
