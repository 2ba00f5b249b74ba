"""A registry of kinds: name -> class, in the order they were defined (built-ins first).

Attacker kinds, cyber campaigns and sensor kinds each keep one (their base classes register every
subclass that names its kind), so adding a kind is adding a module: nothing else lists them. A class may
carry a ``rank`` (default ``DEFAULT_RANK``): lower ranks come first, whatever the order modules happen to be
imported in; that is how the built-in kinds keep their place (it decides, for example, the order sensors
draw their random streams in).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ["DEFAULT_RANK", "Registry"]

T = TypeVar("T")

#: The rank of a kind that does not say: after every built-in kind.
DEFAULT_RANK = 1000


class Registry(Generic[T]):
    """Classes by name, by rank, then in registration order.

    >>> r = Registry("widget")
    >>> class A: ...
    >>> r.add("a", A); list(r), r["a"] is A
    (['a'], True)
    >>> class B: ...
    >>> r.add("a", B)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: widget 'a' is already registered by ...A
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> None:
        """Register ``item`` as ``name``; the same class defined again (a reload) replaces itself.

        Raises
        ------
        ValueError
            ``name`` is taken by a different class.
        """
        old = self._items.get(name)
        if old is not None and _where(old) != _where(item):
            raise ValueError(f"{self.what} {name!r} is already registered by {_where(old)}")
        self._items[name] = item
        ranked = sorted(self._items.items(), key=lambda kv: getattr(kv[1], "rank", DEFAULT_RANK))
        self._items = dict(ranked)

    def remove(self, name: str) -> None:
        """Forget ``name`` (tests that define a kind of their own clean up with this)."""
        self._items.pop(name, None)

    def __getitem__(self, name: str) -> T:
        return self._items[name]

    def get(self, name: str, default: T | None = None) -> T | None:
        return self._items.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[str, T]]:
        return list(self._items.items())


def _where(item: object) -> str:
    return f"{getattr(item, '__module__', '?')}.{getattr(item, '__qualname__', repr(item))}"
