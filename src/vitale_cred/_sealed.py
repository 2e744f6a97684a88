"""Sealed results: objects that only their producer builds and nobody changes.

A verified result (a presentation, a trust list, a status list...) is worth
something only because the function that returned it checked its input. As with
Tink's ``VerifiedJwt``, a caller must not be able to make one any other way: a
sealed class refuses direct construction, ``copy.copy``, ``copy.deepcopy``,
``copy.replace`` and pickling with ``usage``, and ``setattr``/``delattr`` with
:class:`AttributeError`. It is not a dataclass, so ``dataclasses.replace`` refuses
it too (``TypeError``).

The capability to fill an instance is the class's slot setters. They live only in
the namespace of the class's factory: each slot's descriptor is replaced on the class
by a read-only property, so neither ``object.__setattr__`` nor the class namespace
can fill or change a field, and ``object.__new__`` yields an empty shell whose every
field read fails. :func:`sealed_factory` hands the factory out once, to the module
that defines the class, at import.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable
from typing import Any, ClassVar, NoReturn, Self, TypeVar

from vitale_cred.errors import UsageError

__all__ = ["Sealed", "sealed_factory"]

S = TypeVar("S", bound="Sealed")

# A class's factory waits here from the class's creation to its claim by the
# defining module (the next statement of that module, during its import).
_UNCLAIMED: dict[type[Sealed], Callable[..., Any]] = {}


class Sealed:
    """Base of a sealed class: its fields are annotated and listed in ``__slots__``.

    A sealed class derives from :class:`Sealed` alone and cannot be subclassed.

    Class keywords: ``producer`` names the one function that builds instances (for
    the error message), ``hidden`` the fields left out of ``repr``. Equality and
    hashing compare the type and every field, as a frozen dataclass does.
    """

    __slots__ = ()

    _sealed_fields: ClassVar[tuple[str, ...]] = ()
    _sealed_shown: ClassVar[tuple[str, ...]] = ()
    _sealed_producer: ClassVar[str] = ""
    _sealed_get: ClassVar[Callable[[Any], tuple[Any, ...]]]

    def __init_subclass__(
        cls, *, producer: str, hidden: tuple[str, ...] = (), **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__bases__ != (Sealed,):
            # A subclass could override a field with a class attribute and still pass
            # isinstance checks for the verified type.
            raise UsageError(f"{cls.__qualname__}: a sealed class derives from Sealed alone")
        # Fields in the order of their annotations (the repr order), each one a slot.
        names = tuple(inspect.get_annotations(cls))
        slots = cls.__dict__.get("__slots__")
        if not names or not isinstance(slots, tuple) or set(slots) != set(names):
            raise UsageError(f"{cls.__qualname__}: its annotated fields are exactly its __slots__")
        if not set(hidden) < set(names):
            raise UsageError(f"{cls.__qualname__}: hidden names fields, not all of them")
        setters: list[Callable[[object, object], None]] = []
        for name in names:
            slot = cls.__dict__[name]
            setters.append(slot.__set__)
            # The slot descriptor leaves the class: only the factory's namespace can fill it.
            setattr(cls, name, property(slot.__get__))
        cls._sealed_fields = names
        cls._sealed_shown = tuple(n for n in names if n not in hidden)
        cls._sealed_producer = producer
        get = operator.attrgetter(*names)
        cls._sealed_get = staticmethod(get if len(names) > 1 else lambda obj: (get(obj),))
        # The factory's keyword-only parameters are the fields: Python itself refuses
        # a missing or unknown one (TypeError), and a verification pays for no loop
        # or key check. Generated as dataclasses generates __init__.
        params = ", ".join(names)
        body = "".join(f"    _s{i}(obj, {name})\n" for i, name in enumerate(names))
        namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
        namespace.update({f"_s{i}": setter for i, setter in enumerate(setters)})
        source = f"def factory(*, {params}):\n    obj = _new(_cls)\n{body}    return obj\n"
        exec(source, namespace)  # noqa: S102 - names are the class's own identifiers
        factory = namespace["factory"]
        factory.__qualname__ = f"{cls.__qualname__}.factory"

        _UNCLAIMED[cls] = factory

    def __new__(cls, *args: object, **kwargs: object) -> Self:
        raise UsageError(f"a {cls.__qualname__} is produced only by {cls._sealed_producer}")

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"{type(self).__qualname__} is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"{type(self).__qualname__} is immutable")

    def _refuse(self, what: str) -> NoReturn:
        raise UsageError(
            f"a {type(self).__qualname__} cannot be {what}: only "
            f"{self._sealed_producer} produces one"
        )

    def __copy__(self) -> NoReturn:
        self._refuse("copied")

    def __deepcopy__(self, memo: object) -> NoReturn:
        self._refuse("copied")

    def __replace__(self, **changes: object) -> NoReturn:
        self._refuse("altered")

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        self._refuse("pickled")

    def __reduce__(self) -> NoReturn:
        self._refuse("pickled")

    def __setstate__(self, state: object) -> NoReturn:
        # The hook a hand-made pickle stream calls to fill an empty shell: refused with
        # usage, as pickling is.
        self._refuse("unpickled")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        get = type(self)._sealed_get
        return bool(get(self) == get(other))

    def __hash__(self) -> int:
        return hash(type(self)._sealed_get(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._sealed_shown)
        return f"{type(self).__qualname__}({shown})"


def sealed_factory(cls: type[S]) -> Callable[..., S]:
    """The factory of ``cls`` (keyword arguments, one per field), handed out once.

    Called by the module that defines ``cls`` right after the class: a second claim,
    from anywhere, raises ``usage``.
    """
    factory = _UNCLAIMED.pop(cls, None)
    if factory is None:
        raise UsageError(f"the factory of {cls.__qualname__} was already claimed")
    return factory
