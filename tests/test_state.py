"""Trust state across restarts: high-water marks, list age ceilings, the guarded clock.

Every rule of spec/security.md section 9, spec/status.md section 4 (``max_list_age``)
and spec/trust.md section 5.2 (steps 7a and 9 with a state) with its exact code; the
SQLite store across processes (multiprocessing on one file) and across restarts
(new objects on the same file).
"""

from __future__ import annotations

import multiprocessing
import random
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from vitale_cred.clock import MAX_CLOCK_SKEW, Clock, FixedClock
from vitale_cred.errors import (
    ClockRollback,
    InvalidArgument,
    StateStoreError,
    StatusListInvalid,
    StatusUndetermined,
    TrustListExpired,
    TrustListRollback,
    TrustListTooOld,
    VitaleCredError,
)
from vitale_cred.hazmat import cose
from vitale_cred.pki import generate_private_key
from vitale_cred.registry import CoseAlg
from vitale_cred.state import (
    CLOCK_ALARM_MARK,
    CLOCK_MARK,
    GuardedClock,
    InMemoryTrustState,
    SqliteTrustState,
    TrustState,
    status_list_iat_mark,
    trust_list_issued_at_mark,
    trust_list_seq_mark,
)
from vitale_cred.status import (
    InMemoryStatusProvider,
    StatusChecker,
    StatusList,
    StatusPolicy,
    StatusReference,
    StatusState,
    issue_status_list,
)
from vitale_cred.trust import TrustStore, Usage, raw_key
from vitale_cred.trustlist import (
    StalePolicy,
    TrustList,
    TrustListEntry,
    TrustListReader,
    sign_trust_list,
)

T = 1_800_000_000
DAY = 86_400
WEEK = 7 * DAY
URI = "https://status.vitale.example/lists/3"
LIST = 3
REF = StatusReference(LIST, 5)

STATUS_SIGNER = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
STATUS_KID = b"issuer-1"
STATUS_TRUST = TrustStore(
    keys=[
        raw_key(
            cose.CoseKey.from_public_key(STATUS_SIGNER.public_key()),
            STATUS_KID,
            usages=[Usage.STATUS_LIST],
        )
    ]
)
ROOT_SIGNER = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
AUTHORITY = TrustStore(
    keys=[
        raw_key(
            cose.CoseKey.from_public_key(ROOT_SIGNER.public_key()),
            b"root",
            usages=[Usage.TRUST_LIST],
        )
    ]
)
ISSUER_KEYS = {
    name: cose.SoftwareSigner(generate_private_key(CoseAlg.ES256)) for name in ("old", "new")
}


def _expect(
    exc_type: type[VitaleCredError], code: str, call: object, *args: object, **kw: object
) -> VitaleCredError:
    """Require exactly ``exc_type`` (not a subclass) with ``code``."""
    with pytest.raises(exc_type) as info:
        call(*args, **kw)  # type: ignore[operator]
    assert type(info.value) is exc_type, f"{type(info.value).__name__}: {info.value}"
    assert info.value.code == code
    return info.value


def status_token(
    iat: int, *, revoked: bool = False, exp: int | None = None, ttl: int | None = None
) -> bytes:
    statuses = StatusList(2, 16)
    if revoked:
        statuses.set(REF.idx, 1)
    return issue_status_list(
        STATUS_SIGNER,
        kid=STATUS_KID,
        uri=URI,
        list_id=LIST,
        status_list=statuses,
        iat=iat,
        exp=exp,
        ttl=ttl,
    )


def checker(
    token: bytes | None, *, state: TrustState | None = None, **policy: object
) -> tuple[StatusChecker, InMemoryStatusProvider]:
    provider = InMemoryStatusProvider([] if token is None else [token])
    return (
        StatusChecker(
            provider,
            STATUS_TRUST,
            policy=StatusPolicy(**policy),  # type: ignore[arg-type]
            state=state,
        ),
        provider,
    )


def entry(name: str) -> TrustListEntry:
    return TrustListEntry(
        kid=name.encode(),
        algs=frozenset({CoseAlg.ES256}),
        usages=frozenset({Usage.CREDENTIAL}),
        key=cose.CoseKey.from_public_key(ISSUER_KEYS[name].public_key()),
    )


def trust_list(seq: int, *names: str, issued_at: int = T - DAY, valid: int = 30 * DAY) -> bytes:
    entries = tuple(entry(n) for n in names)
    return sign_trust_list(
        TrustList(seq, issued_at, issued_at + valid, entries), ROOT_SIGNER, kid=b"root"
    )


@pytest.fixture(params=["memory", "sqlite"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TrustState]:
    if request.param == "memory":
        yield InMemoryTrustState()
    else:
        with SqliteTrustState(tmp_path / "state.db") as store:
            yield store


# --- the store ---------------------------------------------------------------------


def test_both_stores_satisfy_the_protocol(tmp_path: Path) -> None:
    assert isinstance(InMemoryTrustState(), TrustState)
    with SqliteTrustState(tmp_path / "s.db") as store:
        assert isinstance(store, TrustState)


def test_a_mark_never_set_reads_none(state: TrustState) -> None:
    assert state.get("x") is None


def test_raise_returns_the_marks_held_before_and_raises_them(state: TrustState) -> None:
    assert state.raise_marks({"a": 5, "b": 7}) == {"a": None, "b": None}
    assert state.raise_marks({"a": 6}) == {"a": 5}
    assert (state.get("a"), state.get("b")) == (6, 7)
    assert state.raise_marks({"a": 6}) == {"a": 6}  # equal: kept, not an error
    assert state.get("a") == 6


def test_a_raise_never_lowers_a_mark(state: TrustState) -> None:
    state.raise_marks({"a": 10})
    assert state.raise_marks({"a": 3}) == {"a": 10}
    assert state.get("a") == 10


def test_a_raise_that_would_lower_one_mark_writes_none_of_them(state: TrustState) -> None:
    state.raise_marks({"a": 10, "b": 10})
    assert state.raise_marks({"a": 20, "b": 5}) == {"a": 10, "b": 10}
    assert (state.get("a"), state.get("b")) == (10, 10)


def test_marks_are_seeded_from_configuration(tmp_path: Path) -> None:
    seed = {trust_list_seq_mark("default"): 41, CLOCK_MARK: T}
    assert InMemoryTrustState(seed).get(CLOCK_MARK) == T
    with SqliteTrustState(tmp_path / "s.db", seed=seed) as store:
        assert store.get(trust_list_seq_mark("default")) == 41
    # A seed below what the file holds never lowers it.
    with SqliteTrustState(tmp_path / "s.db", seed={CLOCK_MARK: T + 50}) as store:
        store.raise_marks({CLOCK_MARK: T + 100})
    with SqliteTrustState(tmp_path / "s.db", seed={CLOCK_MARK: T}) as store:
        assert store.get(CLOCK_MARK) == T + 100


@pytest.mark.parametrize(
    "marks",
    [{"": 1}, {"a": -1}, {"a": 2**63}, {"a": True}, {"a": 1.5}, {"x" * 201: 1}, {"a\n": 1}],
    ids=["empty-name", "negative", "over-int64", "bool", "float", "long-name", "control-char"],
)
def test_malformed_marks_are_refused(state: TrustState, marks: Mapping[str, int]) -> None:
    _expect(InvalidArgument, "usage.invalid_argument", state.raise_marks, marks)


def test_mark_names_are_scoped_and_checked() -> None:
    assert trust_list_seq_mark("fr") != trust_list_issued_at_mark("fr")
    assert status_list_iat_mark(b"\x01", 2) == "status_list.iat:01:2"
    assert status_list_iat_mark(b"\x01", 2) != status_list_iat_mark(b"\x01\x00", 2)
    _expect(InvalidArgument, "usage.invalid_argument", trust_list_seq_mark, "")
    _expect(InvalidArgument, "usage.invalid_argument", status_list_iat_mark, b"", 1)
    _expect(InvalidArgument, "usage.invalid_argument", status_list_iat_mark, b"k", 2**32)


def test_acknowledging_the_clock_lowers_only_the_clock_and_clears_the_alarm(
    state: TrustState,
) -> None:
    state.raise_marks({CLOCK_MARK: T + 1000, CLOCK_ALARM_MARK: T + 1000, "other": 9})
    state.acknowledge_clock(T)
    assert (state.get(CLOCK_MARK), state.get(CLOCK_ALARM_MARK), state.get("other")) == (
        T,
        None,
        9,
    )


def test_sqlite_store_is_one_wal_file_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SqliteTrustState(path) as store:
        store.raise_marks({"a": 3})
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with SqliteTrustState(path) as store:
        assert store.get("a") == 3
        assert store.path == str(path)


def test_sqlite_store_that_cannot_be_opened_is_a_store_error(tmp_path: Path) -> None:
    _expect(StateStoreError, "state.store_failed", SqliteTrustState, tmp_path / "missing" / "s.db")


def test_sqlite_mark_edited_to_garbage_is_a_store_error_not_a_value(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    SqliteTrustState(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO marks (name, value) VALUES ('a', 'ten')")
    with SqliteTrustState(path) as store:
        _expect(StateStoreError, "state.store_failed", store.get, "a")
        _expect(StateStoreError, "state.store_failed", store.raise_marks, {"a": 1})


def test_sqlite_file_of_another_format_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"not a database" * 100)
    _expect(StateStoreError, "state.store_failed", SqliteTrustState, path)


# --- several processes on one file ----------------------------------------------------


def _raise_many(path: str, seed: int, rounds: int) -> tuple[int, bool]:
    """One process: raise two marks to random values; report its top value and whether
    it ever saw a mark go down."""
    rng = random.Random(seed)
    store = SqliteTrustState(path)
    top, lowered, seen = 0, False, 0
    for _ in range(rounds):
        value = rng.randrange(1_000_000)
        before = store.raise_marks({"shared": value, "pair": value})
        held = store.get("shared")
        assert held is not None
        # The mark is at least this process's value (nobody lowers it) and never below
        # what this process saw before.
        if held < max(value, seen) or (before["shared"] or 0) < seen:
            lowered = True
        seen = held
        top = max(top, value)
    store.close()
    return top, lowered


def test_processes_raising_one_file_concurrently_end_at_the_max_and_never_lower_it(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "shared.db")
    SqliteTrustState(path).close()
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        results = pool.starmap(_raise_many, [(path, seed, 150) for seed in range(4)])
    assert not any(lowered for _, lowered in results)
    with SqliteTrustState(path) as store:
        assert store.get("shared") == max(top for top, _ in results)
        # The two marks were raised together in every transaction, or not at all.
        assert store.get("pair") == store.get("shared")


def test_a_forked_child_reopens_the_file_instead_of_sharing_the_connection(
    tmp_path: Path,
) -> None:
    store = SqliteTrustState(tmp_path / "s.db")
    store.raise_marks({"a": 1})
    context = multiprocessing.get_context("fork")
    process = context.Process(target=_raise_in_child, args=(store,))
    process.start()
    process.join(30)
    assert process.exitcode == 0
    assert store.get("a") == 2
    store.close()


def _raise_in_child(store: SqliteTrustState) -> None:
    store.raise_marks({"a": 2})


# --- status lists: the age ceiling ---------------------------------------------------


def test_default_max_list_age_is_a_week() -> None:
    assert StatusPolicy().max_list_age == StatusPolicy.DEFAULT_MAX_LIST_AGE == WEEK


@pytest.mark.parametrize("value", [0, -1, True, 1.0])
def test_max_list_age_must_be_positive_seconds(value: object) -> None:
    _expect(InvalidArgument, "usage.invalid_argument", StatusPolicy, max_list_age=value)


def test_list_without_exp_is_used_until_its_max_list_age_on_first_sight() -> None:
    token = status_token(T)
    check, _ = checker(token)
    assert check.check(REF, T + WEEK - 1, issuer_kid=STATUS_KID).state is StatusState.VALID
    fresh, _ = checker(token)  # a new checker: nothing cached, as after a restart
    with pytest.raises(StatusUndetermined) as info:
        fresh.check(REF, T + WEEK, issuer_kid=STATUS_KID)
    assert getattr(info.value.__cause__, "code", None) == "status.list_too_old"


def test_list_too_old_under_accept_is_undetermined_with_its_cause_code() -> None:
    check, _ = checker(status_token(T), on_undetermined="accept", max_list_age=DAY)
    result = check.check(REF, T + DAY, issuer_kid=STATUS_KID)
    assert (result.state, result.code) == (StatusState.UNDETERMINED, "status.list_too_old")


def test_max_list_age_caps_a_list_whose_exp_is_later() -> None:
    check, _ = checker(status_token(T, exp=T + 400 * DAY), on_undetermined="accept")
    result = check.check(REF, T + WEEK, issuer_kid=STATUS_KID)
    assert result.code == "status.list_too_old"


def test_cached_list_is_not_reused_past_its_max_list_age() -> None:
    check, provider = checker(status_token(T, ttl=30 * DAY), on_undetermined="accept")
    assert check.check(REF, T, issuer_kid=STATUS_KID).state is StatusState.VALID
    provider.withdraw(STATUS_KID, LIST)
    result = check.check(REF, T + WEEK, issuer_kid=STATUS_KID)
    assert result.state is StatusState.UNDETERMINED
    assert "max_list_age" in result.reason


def test_stale_grace_never_extends_past_max_list_age() -> None:
    check, provider = checker(
        status_token(T, ttl=60), on_undetermined="accept", max_age=30 * DAY, max_list_age=DAY
    )
    assert check.check(REF, T, issuer_kid=STATUS_KID).state is StatusState.VALID
    provider.withdraw(STATUS_KID, LIST)
    assert check.check(REF, T + DAY - 1, issuer_kid=STATUS_KID).state is StatusState.VALID
    assert check.check(REF, T + DAY, issuer_kid=STATUS_KID).state is StatusState.UNDETERMINED


# --- status lists: the iat mark ---------------------------------------------------------


def test_status_check_raises_the_iat_mark(state: TrustState) -> None:
    check, _ = checker(status_token(T), state=state)
    check.check(REF, T + 10, issuer_kid=STATUS_KID)
    assert state.get(status_list_iat_mark(STATUS_KID, LIST)) == T


def test_older_status_list_after_a_restart_is_refused_as_a_replay(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SqliteTrustState(path) as store:
        check, _ = checker(status_token(T, revoked=True), state=store)
        with pytest.raises(VitaleCredError, match="revoked"):
            check.check(REF, T + 10, issuer_kid=STATUS_KID)
    with SqliteTrustState(path) as store:
        check, _ = checker(status_token(T - 600), state=store)
        with pytest.raises(StatusUndetermined) as info:
            check.check(REF, T + 20, issuer_kid=STATUS_KID)
        assert type(info.value.__cause__) is StatusListInvalid
        assert store.get(status_list_iat_mark(STATUS_KID, LIST)) == T


def test_the_same_status_list_after_a_restart_is_accepted(tmp_path: Path) -> None:
    token = status_token(T)
    for _ in range(2):
        with SqliteTrustState(tmp_path / "s.db") as store:
            check, _ = checker(token, state=store)
            assert check.check(REF, T + 10, issuer_kid=STATUS_KID).state is StatusState.VALID


def test_iat_marks_are_per_issuer_key_and_list(state: TrustState) -> None:
    state.raise_marks({status_list_iat_mark(STATUS_KID, LIST + 1): T + 999})
    state.raise_marks({status_list_iat_mark(b"another", LIST): T + 999})
    check, _ = checker(status_token(T), state=state)
    assert check.check(REF, T + 10, issuer_kid=STATUS_KID).state is StatusState.VALID


class BrokenState(InMemoryTrustState):
    """A store whose disk is gone."""

    def raise_marks(self, marks: Mapping[str, int]) -> dict[str, int | None]:
        raise StateStoreError("disk gone")


def test_status_with_an_unusable_store_is_undetermined_never_valid() -> None:
    check, _ = checker(status_token(T), state=BrokenState(), on_undetermined="accept")
    result = check.check(REF, T + 10, issuer_kid=STATUS_KID)
    assert (result.state, result.code) == (StatusState.UNDETERMINED, "state.store_failed")


def test_checker_refuses_a_state_of_the_wrong_type() -> None:
    _expect(
        InvalidArgument,
        "usage.invalid_argument",
        StatusChecker,
        InMemoryStatusProvider(),
        STATUS_TRUST,
        policy=StatusPolicy(),
        state="state.db",
    )


# --- trust lists: the age ceiling --------------------------------------------------------


def test_trust_list_is_refused_from_issued_at_plus_max_age_on() -> None:
    data = trust_list(1, "new", issued_at=T - DAY, valid=80 * DAY)
    assert TrustListReader(AUTHORITY, max_age=DAY + 1).update(data, clock=FixedClock(T)).seq == 1
    err = _expect(
        TrustListTooOld,
        "trust.list_too_old",
        TrustListReader(AUTHORITY, max_age=DAY).update,
        data,
        clock=FixedClock(T),
    )
    assert isinstance(err, TrustListExpired)  # callers catching expiry still catch it


def test_stale_trust_list_accepted_by_policy_is_still_bounded_by_max_age() -> None:
    reader = TrustListReader(AUTHORITY, stale=StalePolicy.ACCEPT_STALE)
    assert TrustListReader.DEFAULT_MAX_AGE == 90 * DAY == reader.max_age
    old = trust_list(1, "old", issued_at=T - 89 * DAY)
    assert reader.update(old, clock=FixedClock(T)).stale
    older = trust_list(1, "old", issued_at=T - 90 * DAY)
    fresh = TrustListReader(AUTHORITY, stale=StalePolicy.ACCEPT_STALE)
    _expect(TrustListTooOld, "trust.list_too_old", fresh.update, older, clock=FixedClock(T))


@pytest.mark.parametrize("value", [0, -5, True, "90"])
def test_trust_list_max_age_must_be_positive_seconds(value: object) -> None:
    _expect(InvalidArgument, "usage.invalid_argument", TrustListReader, AUTHORITY, max_age=value)


def test_trust_list_reader_checks_its_authority_name_and_state() -> None:
    _expect(
        InvalidArgument, "usage.invalid_argument", TrustListReader, AUTHORITY, authority_name=""
    )
    _expect(InvalidArgument, "usage.invalid_argument", TrustListReader, AUTHORITY, state=object())


# --- trust lists: the seq and issued_at marks ---------------------------------------------


def test_accepted_trust_list_raises_both_marks(state: TrustState) -> None:
    TrustListReader(AUTHORITY, state=state, authority_name="fr").update(
        trust_list(4, "new"), clock=FixedClock(T)
    )
    assert state.get(trust_list_seq_mark("fr")) == 4
    assert state.get(trust_list_issued_at_mark("fr")) == T - DAY


def test_older_trust_list_after_a_restart_is_a_rollback(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    old = trust_list(1, "old", "new", issued_at=T - 2 * DAY)
    with SqliteTrustState(path) as store:
        reader = TrustListReader(AUTHORITY, state=store)
        reader.update(old, clock=FixedClock(T))
        reader.update(trust_list(2, "new"), clock=FixedClock(T))
    with SqliteTrustState(path) as store:
        restarted = TrustListReader(AUTHORITY, state=store)
        _expect(
            TrustListRollback, "trust.list_rollback", restarted.update, old, clock=FixedClock(T)
        )
        assert restarted.current is None


def test_the_same_trust_list_after_a_restart_is_accepted(tmp_path: Path) -> None:
    data = trust_list(2, "new")
    for _ in range(2):
        with SqliteTrustState(tmp_path / "s.db") as store:
            assert (
                TrustListReader(AUTHORITY, state=store).update(data, clock=FixedClock(T)).seq == 2
            )


def test_rival_list_under_the_recorded_seq_is_a_rollback_and_moves_no_mark(
    state: TrustState,
) -> None:
    TrustListReader(AUTHORITY, state=state).update(trust_list(2, "new"), clock=FixedClock(T))
    rival = trust_list(2, "old", "new", issued_at=T - DAY + 1)
    reader = TrustListReader(AUTHORITY, state=state)
    _expect(TrustListRollback, "trust.list_rollback", reader.update, rival, clock=FixedClock(T))
    assert state.get(trust_list_issued_at_mark("default")) == T - DAY


def test_higher_seq_issued_before_the_last_accepted_list_is_a_rollback(
    state: TrustState,
) -> None:
    TrustListReader(AUTHORITY, state=state).update(trust_list(2, "new"), clock=FixedClock(T))
    odd = trust_list(3, "old", issued_at=T - 2 * DAY)
    reader = TrustListReader(AUTHORITY, state=state)
    _expect(TrustListRollback, "trust.list_rollback", reader.update, odd, clock=FixedClock(T))
    assert state.get(trust_list_seq_mark("default")) == 2


def test_seeded_seq_refuses_lists_below_it_on_a_fresh_install() -> None:
    state = InMemoryTrustState({trust_list_seq_mark("default"): 7})
    reader = TrustListReader(AUTHORITY, state=state)
    _expect(
        TrustListRollback,
        "trust.list_rollback",
        reader.update,
        trust_list(6, "old"),
        clock=FixedClock(T),
    )
    assert reader.update(trust_list(7, "new"), clock=FixedClock(T)).seq == 7


def test_authorities_keep_separate_sequences(state: TrustState) -> None:
    TrustListReader(AUTHORITY, state=state, authority_name="a").update(
        trust_list(9, "new"), clock=FixedClock(T)
    )
    reader = TrustListReader(AUTHORITY, state=state, authority_name="b")
    assert reader.update(trust_list(1, "old"), clock=FixedClock(T)).seq == 1


def test_trust_list_update_with_an_unusable_store_is_refused() -> None:
    reader = TrustListReader(AUTHORITY, state=BrokenState())
    _expect(
        StateStoreError,
        "state.store_failed",
        reader.update,
        trust_list(1, "new"),
        clock=FixedClock(T),
    )
    assert reader.current is None


# --- the guarded clock -----------------------------------------------------------------


def test_guarded_clock_records_its_first_reading_and_moves_forward(state: TrustState) -> None:
    inner = FixedClock(T)
    clock = GuardedClock(inner, state)
    assert isinstance(clock, Clock)
    assert clock.now() == T
    assert state.get(CLOCK_MARK) == T
    inner.advance(3600)
    assert clock.now() == T + 3600
    assert state.get(CLOCK_MARK) == T + 3600


def test_guarded_clock_tolerates_going_back_within_the_skew(state: TrustState) -> None:
    inner = FixedClock(T)
    clock = GuardedClock(inner, state, max_skew=300)
    clock.now()
    inner.advance(-300)
    assert clock.now() == T - 300
    assert state.get(CLOCK_MARK) == T  # a reading behind the mark never lowers it


def test_clock_set_back_beyond_the_skew_is_refused(state: TrustState) -> None:
    inner = FixedClock(T)
    clock = GuardedClock(inner, state, max_skew=300)
    clock.now()
    inner.advance(-301)
    _expect(ClockRollback, "validity.clock_rollback", clock.now)
    assert state.get(CLOCK_ALARM_MARK) == T


def test_clock_rollback_holds_after_the_clock_catches_up_until_acknowledged(
    state: TrustState,
) -> None:
    inner = FixedClock(T)
    clock = GuardedClock(inner, state)
    clock.now()
    inner.advance(-DAY)
    _expect(ClockRollback, "validity.clock_rollback", clock.now)
    inner.advance(2 * DAY)  # past the mark again: still refused, the alarm latches
    _expect(ClockRollback, "validity.clock_rollback", clock.now)
    clock.acknowledge(T + DAY)
    assert clock.now() == T + DAY
    assert state.get(CLOCK_ALARM_MARK) is None


def test_acknowledging_a_lower_time_accepts_the_corrected_clock(state: TrustState) -> None:
    inner = FixedClock(T + 365 * DAY)  # set a year ahead by mistake, then corrected
    clock = GuardedClock(inner, state)
    clock.now()
    inner.advance(-365 * DAY)
    _expect(ClockRollback, "validity.clock_rollback", clock.now)
    state.acknowledge_clock(T)  # e.g. by an operator tool, through the store
    assert clock.now() == T
    assert state.get(CLOCK_MARK) == T


def test_clock_set_back_across_a_restart_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SqliteTrustState(path) as store:
        GuardedClock(FixedClock(T), store).now()
    with SqliteTrustState(path) as store:
        restarted = GuardedClock(FixedClock(T - DAY), store)
        _expect(ClockRollback, "validity.clock_rollback", restarted.now)
    with SqliteTrustState(path) as store:  # the alarm survives the next restart too
        _expect(ClockRollback, "validity.clock_rollback", GuardedClock(FixedClock(T), store).now)


def test_seeded_clock_mark_refuses_a_terminal_whose_clock_reset_to_the_epoch() -> None:
    state = InMemoryTrustState({CLOCK_MARK: T})
    _expect(ClockRollback, "validity.clock_rollback", GuardedClock(FixedClock(0), state).now)


def test_readings_are_recorded_at_most_once_per_interval(state: TrustState) -> None:
    inner = FixedClock(T)
    clock = GuardedClock(inner, state, record_interval=60)
    clock.now()
    inner.advance(59)
    clock.now()
    assert state.get(CLOCK_MARK) == T
    inner.advance(1)
    clock.now()
    assert state.get(CLOCK_MARK) == T + 60


def test_alarm_raised_by_another_reader_is_seen_at_the_next_recording(state: TrustState) -> None:
    inner = FixedClock(T)
    clock = GuardedClock(inner, state, record_interval=60)
    clock.now()
    state.raise_marks({CLOCK_ALARM_MARK: T})
    inner.advance(60)
    _expect(ClockRollback, "validity.clock_rollback", clock.now)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_skew": MAX_CLOCK_SKEW + 1}, {"max_skew": -1}, {"record_interval": -1}],
    ids=["skew-over-bound", "negative-skew", "negative-interval"],
)
def test_guarded_clock_arguments_are_checked(kwargs: dict[str, int]) -> None:
    _expect(
        InvalidArgument,
        "usage.invalid_argument",
        GuardedClock,
        FixedClock(T),
        InMemoryTrustState(),
        **kwargs,
    )
