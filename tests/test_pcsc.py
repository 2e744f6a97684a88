"""PC/SC end to end: a virtual card on vpcd, pcscd, pyscard and a ReaderSession.

Needs the Debian packages ``pcscd vsmartcard-vpcd`` and ``pip install pyscard``.
Skipped when they are missing, except under CI (env ``CI`` set), where that fails.
pcscd is started with ``scripts/start-pcscd.sh`` when it is not running.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vitale_cred import errors
from vitale_cred.adapters import pcsc
from vitale_cred.nfc import Done, HolderSession, PresentationRequested, Selected

sys.path.insert(0, str(Path(__file__).parent))
from test_nfc import World, hint_or_insured, make_world

ROOT = Path(__file__).resolve().parent.parent
START_SCRIPT = ROOT / "scripts" / "start-pcscd.sh"
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
UNDER_CI = bool(os.environ.get("CI"))
EMPTY_SLOT = "Virtual PCD 00 01"  # vpcd's second slot: no card is ever served there


def _require(ok: bool, reason: str) -> None:
    if ok:
        return
    if UNDER_CI:
        pytest.fail(f"{reason}: the PC/SC test must run under CI")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def pcscd() -> None:
    _require(
        shutil.which("pcscd") is not None or Path("/usr/sbin/pcscd").exists(),
        "pcscd is not installed (apt-get install pcscd)",
    )
    _require(VPCD_DRIVER.exists(), "vpcd is not installed (apt-get install vsmartcard-vpcd)")
    _require(importlib.util.find_spec("smartcard") is not None, "pyscard is not installed")
    started = subprocess.run(  # noqa: PLW1510 - the return code is checked below
        ["sh", str(START_SCRIPT)], capture_output=True, text=True, timeout=30
    )
    _require(started.returncode == 0, f"pcscd did not start: {started.stderr.strip()}")


class VirtualCard:
    """A vpcd card served from a thread; tests swap ``gate`` between taps.

    The card stays powered between reads (the reader leaves it so), hence one
    holder session may serve several taps: the callbacks are looked up late.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self.gate: Callable[[], bool] = lambda: True
        self.sessions: list[HolderSession] = []
        self.stop = threading.Event()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def factory(self) -> HolderSession:
        session = self.world.holder(gate=self._gate, chooser=hint_or_insured)
        self.sessions.append(session)
        return session

    def _gate(self) -> bool:
        return self.gate()  # looked up at each request, so tests can swap it

    def _serve(self) -> None:
        try:
            pcsc.serve_virtual_card(self.factory, stop_event=self.stop, connect_timeout=10)
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self.failure = exc


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()


@pytest.fixture(scope="module")
def card(pcscd: None, world: World) -> Iterator[VirtualCard]:
    virtual = VirtualCard(world)
    virtual.thread.start()
    yield virtual
    virtual.stop.set()
    virtual.thread.join(timeout=5)
    if virtual.failure is not None:
        raise virtual.failure


@pytest.fixture
def fresh(card: VirtualCard) -> VirtualCard:
    card.gate = lambda: True
    for session in card.sessions:
        session.events()  # the card stays powered between reads: forget earlier taps
    return card


@pytest.mark.parametrize("extended", [False, True])
def test_read_presentation_over_pcsc(fresh: VirtualCard, extended: bool) -> None:
    result = pcsc.read_presentation(
        fresh.world.verifier(), wait_seconds=10, beneficiary_hint=1, extended_length=extended
    )
    assert result.beneficiary_index == 1
    assert fresh.sessions[-1].events() == [Selected(), PresentationRequested(1), Done(1)]


def test_repeated_taps_over_pcsc_verify_in_both_length_modes(fresh: VirtualCard) -> None:
    # Wall time per tap is measured by the benchmark suite, not asserted here.
    verifier = fresh.world.verifier()
    pcsc.read_presentation(verifier, wait_seconds=10)  # the card is present and noticed
    for extended in (False, True):
        for _ in range(10):
            result = pcsc.read_presentation(verifier, wait_seconds=5, extended_length=extended)
            assert result.beneficiary_index == 0


def test_locked_holder_is_polled_until_unlocked(fresh: VirtualCard) -> None:
    unlocked = threading.Event()
    fresh.gate = unlocked.is_set
    timer = threading.Timer(0.1, unlocked.set)
    timer.start()
    try:
        result = pcsc.read_presentation(fresh.world.verifier(), wait_seconds=5, poll_interval=0.02)
    finally:
        timer.cancel()
    assert result.beneficiary_index == 0
    events = fresh.sessions[-1].events()
    assert events.count(PresentationRequested(None)) == 1  # the same session was polled
    assert events[-1] == Done(0)


def test_locked_holder_times_out(fresh: VirtualCard) -> None:
    fresh.gate = lambda: False
    with pytest.raises(errors.NfcLocked):
        pcsc.read_presentation(fresh.world.verifier(), wait_seconds=0.2, poll_interval=0.05)


def test_no_card_in_the_named_reader(pcscd: None, world: World) -> None:
    start = time.monotonic()
    with pytest.raises(errors.PcscNoCard):
        pcsc.read_presentation(world.verifier(), EMPTY_SLOT, wait_seconds=0.3)
    assert time.monotonic() - start < 2


def test_unknown_reader_name(pcscd: None, world: World) -> None:
    with pytest.raises(errors.PcscNoCard):
        pcsc.read_presentation(world.verifier(), "No Such Reader 00 00", wait_seconds=0.1)


# --- without pcscd ---------------------------------------------------------------------


def test_missing_pyscard_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "smartcard", None)
    with pytest.raises(errors.PcscUnavailable):
        pcsc.read_presentation(make_world().verifier(), wait_seconds=0)


def test_virtual_card_without_vpcd(world: World) -> None:
    with pytest.raises(errors.PcscUnavailable):
        pcsc.serve_virtual_card(world.holder, port=1, connect_timeout=0.1, poll_interval=0.02)


def test_virtual_card_rejects_a_bad_atr(world: World) -> None:
    with pytest.raises(errors.InvalidArgument):
        pcsc.serve_virtual_card(world.holder, atr=b"\x3b")


def test_read_presentation_validates_timing(world: World) -> None:
    with pytest.raises(errors.InvalidArgument):
        pcsc.read_presentation(world.verifier(), wait_seconds=-1)
