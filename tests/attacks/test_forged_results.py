"""Forged verified results: building, copying, altering or unpickling one.

Every verified type is sealed (``vitale_cred._sealed``): only the function that
checked the input builds it. Each test below tries one way around that on every
verified type and expects ``usage``, or the exact Python exception where the
protection is the language's own (``AttributeError``, ``TypeError``).
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import types
from collections.abc import Callable
from typing import Any

import pytest

from vitale_cred import _sealed, device, statement, status, trustlist, verify
from vitale_cred._sealed import Sealed, sealed_factory
from vitale_cred.clock import FixedClock
from vitale_cred.device import ProvenDeviceKey, possession_proof, verify_possession
from vitale_cred.errors import UsageError
from vitale_cred.hazmat import cose
from vitale_cred.pki import generate_private_key
from vitale_cred.presentation import present_qr
from vitale_cred.registry import CoseAlg
from vitale_cred.statement import (
    Statement,
    VerifiedStatement,
    holder_digest,
    sign_statement,
    verify_statement,
)
from vitale_cred.status import StatusList, VerifiedStatusList, issue_status_list, verify_status_list
from vitale_cred.trust import TrustStore, Usage, raw_key
from vitale_cred.trustlist import (
    TrustList,
    TrustListEntry,
    VerifiedTrustList,
    sign_trust_list,
    verify_trust_list,
)
from vitale_cred.verify import VerifiedCredential, VerifiedPresentation

from ._support import expect
from _world import NOW, World

NONCE = bytes(range(16))


def _credential(world: World) -> VerifiedCredential:
    return world.verifier().verify_credential(world.bundle.credentials[0])


def _presentation(world: World) -> VerifiedPresentation:
    qr = present_qr(world.bundle.credentials[1], world.device, clock=world.clock)
    return world.verifier().verify_qr(qr)


def _trust_list(world: World) -> VerifiedTrustList:
    root = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
    issuer = cose.CoseKey.from_public_key(generate_private_key(CoseAlg.ES256).public_key())
    entry = TrustListEntry(
        kid=b"issuer",
        algs=frozenset({CoseAlg.ES256}),
        usages=frozenset({Usage.CREDENTIAL}),
        key=issuer,
    )
    data = sign_trust_list(TrustList(1, NOW - 60, NOW + 86_400, (entry,)), root, kid=b"root")
    root_key = cose.CoseKey.from_public_key(root.public_key())
    authority = TrustStore(keys=[raw_key(root_key, b"root", usages=[Usage.TRUST_LIST])])
    return verify_trust_list(data, authority, clock=FixedClock(NOW))


def _statement(world: World) -> VerifiedStatement:
    holder = world.device.cose_key()
    data = sign_statement(
        Statement(NOW, world.card.serial, holder_digest(holder), ()),
        world.material.signer(),
        kid=world.material.kid,
    )
    return verify_statement(data, world.trust, device_key=holder, clock=FixedClock(NOW))


def _status_list(world: World) -> VerifiedStatusList:
    token = issue_status_list(
        world.material.signer(),
        kid=world.material.kid,
        uri="https://status.ameli.example/lists/1",
        list_id=1,
        status_list=StatusList(1, 16),
        iat=NOW,
    )
    return verify_status_list(token, world.trust, clock=FixedClock(NOW))


def _device_key(world: World) -> ProvenDeviceKey:
    return verify_possession(possession_proof(world.device, NONCE, NOW), NONCE, NOW)


GENUINE: dict[type[Sealed], Callable[[World], Sealed]] = {
    VerifiedCredential: _credential,
    VerifiedPresentation: _presentation,
    VerifiedTrustList: _trust_list,
    VerifiedStatement: _statement,
    VerifiedStatusList: _status_list,
    ProvenDeviceKey: _device_key,
}
#: The modules that produce a verified result.
PRODUCERS = (verify, trustlist, statement, status, device)


@pytest.fixture(params=list(GENUINE), ids=lambda cls: cls.__name__)
def genuine(request: pytest.FixtureRequest, world: World) -> Sealed:
    """A verified result of each type, from its producer."""
    result = GENUINE[request.param](world)
    assert type(result) is request.param
    return result


def _fields(result: Sealed) -> dict[str, Any]:
    return {name: getattr(result, name) for name in type(result)._sealed_fields}


def test_direct_construction_of_a_verified_result_is_refused(genuine: Sealed) -> None:
    cls = type(genuine)
    fields = _fields(genuine)
    expect(UsageError, "usage", cls, **fields)
    expect(UsageError, "usage", cls, *fields.values())
    expect(UsageError, "usage", cls)


def test_dataclasses_replace_cannot_derive_a_verified_result(genuine: Sealed) -> None:
    # Not a dataclass at all: nothing for replace() to rebuild from.
    with pytest.raises(TypeError, match="dataclass") as info:
        dataclasses.replace(genuine)  # type: ignore[type-var]
    assert type(info.value) is TypeError
    assert not dataclasses.is_dataclass(genuine)


def test_replace_protocol_of_a_verified_result_is_refused(genuine: Sealed) -> None:
    # copy.replace() (Python 3.13) calls __replace__.
    name = type(genuine)._sealed_fields[0]
    expect(UsageError, "usage", genuine.__replace__, **{name: None})


def test_shallow_copy_of_a_verified_result_is_refused(genuine: Sealed) -> None:
    expect(UsageError, "usage", copy.copy, genuine)


def test_deep_copy_of_a_verified_result_is_refused(genuine: Sealed) -> None:
    expect(UsageError, "usage", copy.deepcopy, genuine)
    expect(UsageError, "usage", copy.deepcopy, {"inside": [genuine]})


def test_pickling_a_verified_result_is_refused(genuine: Sealed) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        expect(UsageError, "usage", pickle.dumps, genuine, protocol)


def test_hand_made_pickle_stream_cannot_fill_a_verified_result(genuine: Sealed) -> None:
    cls = type(genuine)
    state = dict.fromkeys(cls._sealed_fields, 0)

    class Smuggler:
        """Pickles as an empty instance of ``cls`` plus the state to fill it with."""

        def __reduce__(self) -> tuple[Any, ...]:
            return (object.__new__, (cls,), state)

    stream = pickle.dumps(Smuggler())
    expect(UsageError, "usage", pickle.loads, stream)


def test_setattr_and_delattr_on_a_verified_result_are_refused(genuine: Sealed) -> None:
    for name, value in _fields(genuine).items():
        for attempt, args in (
            (setattr, (genuine, name, value)),
            (delattr, (genuine, name)),
            (object.__setattr__, (genuine, name, value)),
            (object.__delattr__, (genuine, name)),
        ):
            with pytest.raises(AttributeError) as info:
                attempt(*args)
            assert type(info.value) is AttributeError
            assert getattr(genuine, name) is value
    with pytest.raises(AttributeError) as info:
        genuine.smuggled = True
    assert type(info.value) is AttributeError


def test_empty_instance_made_by_object_new_has_no_fields_and_cannot_be_filled(
    genuine: Sealed,
) -> None:
    cls = type(genuine)
    shell = object.__new__(cls)
    for name, value in _fields(genuine).items():
        with pytest.raises(AttributeError):
            getattr(shell, name)
        with pytest.raises(AttributeError):
            object.__setattr__(shell, name, value)


def test_subclass_of_a_verified_type_is_refused(genuine: Sealed) -> None:
    # A subclass could shadow a field with a class attribute and pass isinstance checks.
    expect(
        UsageError,
        "usage",
        types.new_class,
        "Forged",
        (type(genuine),),
        {"producer": "nobody"},
        lambda ns: ns.update(__slots__=()),
    )


def test_no_construction_token_or_slot_setter_is_importable(genuine: Sealed) -> None:
    cls = type(genuine)
    for module in (*PRODUCERS, _sealed):
        namespace = vars(module)
        assert "_FACTORY" not in namespace and "_CONSTRUCTION_TOKEN" not in namespace
        assert not [n for n, v in namespace.items() if type(v) is object], module.__name__
    # The slot descriptors left the class: a field is a read-only property.
    for name in cls._sealed_fields:
        field = cls.__dict__[name]
        assert type(field) is property and field.fset is None and field.fdel is None
    # The factory was handed to its module at import; nobody can claim it again.
    assert cls not in _sealed._UNCLAIMED
    expect(UsageError, "usage", sealed_factory, cls)


def test_control_genuine_results_compare_hash_and_print_as_before(world: World) -> None:
    """Not an attack: the seal keeps value equality, hashing and repr."""
    key = _device_key(world)
    again = _device_key(world)
    assert key == again and hash(key) == hash(again) and key.proven
    unproven = ProvenDeviceKey.unsafe_without_proof(world.device.cose_key())
    assert not unproven.proven and unproven != key and unproven.key == key.key
    credential = _credential(world)
    assert credential == _credential(world)
    assert repr(credential).startswith("VerifiedCredential(card=")
    assert "raw=" not in repr(credential)
    listed = _status_list(world)
    assert listed == listed and listed != _status_list(world)  # identity, as before
