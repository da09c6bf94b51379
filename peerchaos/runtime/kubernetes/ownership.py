"""Which cluster objects are the ensemble's: the proof peerchaos asks before it acts.

An object is the ensemble's when it carries both ownership labels that
`peerchaos.manifests` renders into everything it creates:
`app.kubernetes.io/managed-by: peerchaos` and `peerchaos.io/ensemble: <name>`. A name
alone proves nothing (`web-0`, `zk-cs` and `app=web` are what other software uses too),
so a fault, a patch or a delete of an object without them is refused, in one line
naming the object and the label it lacks.

The one exception is made for objects a person names explicitly in an attach
configuration (`attached`, a later issue): on those, faults that heal are allowed — never
a create, patch or delete of the object itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from peerchaos.errors import UsageError
from peerchaos.manifests import ownership_labels


def describe(kind: str, namespace: str, name: str) -> str:
    """`Pod chaos/web-0`: how every message names an object."""
    return f"{kind} {namespace}/{name}"


def labels_of(obj: Any) -> Mapping[str, str]:
    """The labels of a dict object or a client model (None: no labels)."""
    if isinstance(obj, Mapping):
        return obj.get("metadata", {}).get("labels") or {}
    return getattr(getattr(obj, "metadata", None), "labels", None) or {}


@dataclass(frozen=True)
class Ownership:
    """The ownership rule of one ensemble in one namespace."""

    namespace: str
    ensemble: str
    # (kind, name) of objects named explicitly in an attach configuration.
    attached: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    @property
    def labels(self) -> dict[str, str]:
        return ownership_labels(self.ensemble)

    def selector(self, **extra: str) -> str:
        """A label selector for the ensemble's objects (and `extra` labels), for lists."""
        wanted = {**extra, **self.labels}
        return ",".join(f"{key}={value}" for key, value in wanted.items())

    def missing(self, labels: Mapping[str, str]) -> str | None:
        """The first ownership label `labels` lacks (or holds another value of), as
        `key=value`; None when the object is the ensemble's."""
        for key, value in self.labels.items():
            if labels.get(key) != value:
                return f"{key}={value}"
        return None

    def owns(self, obj: Any) -> bool:
        return self.missing(labels_of(obj)) is None

    def check(self, kind: str, name: str, obj: Any, action: str, *, fault: bool = False) -> None:
        """Refuse `action` ("delete", "patch", "make unready", …) on an object that is not
        the ensemble's. `fault`: a fault that heals, allowed on an attached object too."""
        if fault and (kind, name) in self.attached:
            return
        missing = self.missing(labels_of(obj))
        if missing is None:
            return
        labels = labels_of(obj)
        key = missing.split("=", 1)[0]
        seen = f" (it has {key}={labels[key]})" if key in labels else ""
        raise UsageError(
            f"{describe(kind, self.namespace, name)}: lacks the label {missing}{seen}; "
            f"refusing to {action} it (peerchaos touches only what it created)"
        )

    def require_labels(self, obj: Mapping[str, Any]) -> None:
        """Refuse to create an object that would not be recognisable as ours afterwards."""
        meta = obj.get("metadata", {})
        missing = self.missing(meta.get("labels") or {})
        if missing is not None:
            where = describe(
                str(obj.get("kind")), str(meta.get("namespace")), str(meta.get("name"))
            )
            raise UsageError(
                f"{where}: lacks the label {missing}; peerchaos creates only objects it can "
                "later prove are its own"
            )


def owned(ownership: Ownership, objects: Iterable[Any]) -> list[Any]:
    """The ensemble's objects among `objects` (a list may be answered by a server that
    ignores part of the selector: every item is checked again)."""
    return [obj for obj in objects if ownership.owns(obj)]
