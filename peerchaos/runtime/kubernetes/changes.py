"""Every change peerchaos makes to a cluster object, each behind the proof that it is ours.

apply = create; when the name exists already, the object is read and patched only if it
is the ensemble's (`Ownership`) — never just because the create answered 409 — and the
patch carries the resourceVersion that was checked, so an object replaced or relabelled
in between is not patched either. delete = read, check, then delete with the checked
uid as a precondition. `apply_all` checks every object before it creates the first, so a
refusal leaves the cluster as it was. Refusals are one line naming the object and the
label it lacks.
"""

from __future__ import annotations

import copy
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError

from peerchaos.errors import PeerchaosError, UsageError
from peerchaos.runtime.kubernetes.api import api_for, call, describe, missing, reason
from peerchaos.runtime.kubernetes.ownership import Ownership

# A busy controller (status updates) can change an object between read and patch; each
# try reads and proves ownership again.
TRIES = 3


def read_object(api: client.ApiClient, kind: str, namespace: str, name: str) -> dict | None:
    """The object as plain data (camelCase, as the API serves it); None when absent."""
    typed, suffix = api_for(api, kind)
    found = call(
        f"read {kind} {namespace}/{name}",
        lambda: missing(lambda: getattr(typed, f"read_{suffix}")(name, namespace)),
    )
    return None if found is None else api.sanitize_for_serialization(found)


def check_apply(
    api: client.ApiClient, obj: dict[str, Any], ownership: Ownership, *, replace: bool = False
) -> dict | None:
    """Prove `obj` may be applied: it carries the ownership labels, and what holds its
    name now (returned; None when nothing does) is the ensemble's."""
    ownership.require_labels(obj)
    meta = obj["metadata"]
    existing = read_object(api, obj["kind"], meta["namespace"], meta["name"])
    if existing is not None:
        ownership.check(obj["kind"], meta["name"], existing, "replace" if replace else "patch")
    return existing


def apply_all(
    api: client.ApiClient, objects: list[dict[str, Any]], ownership: Ownership
) -> list[str]:
    """Apply every object, once every one of them has been proven applicable."""
    for obj in objects:
        check_apply(api, obj, ownership)
    return [apply_owned(api, obj, ownership) for obj in objects]


def apply_owned(
    api: client.ApiClient, obj: dict[str, Any], ownership: Ownership, *, replace: bool = False
) -> str:
    """Create `obj`, or update the ensemble's object of that name: patched, or — with
    `replace`, for kinds peerchaos may not patch — deleted and created again."""
    typed, suffix = api_for(api, obj["kind"])
    meta = obj["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    for _ in range(TRIES):
        existing = check_apply(api, obj, ownership, replace=replace)
        try:
            if existing is None:
                getattr(typed, f"create_{suffix}")(namespace, obj)
                return f"created {describe(obj)}"
            if replace:
                # In the background: a foreground delete keeps the object (and its name)
                # until the garbage collector is done, and the create would find it.
                uid = existing["metadata"]["uid"]
                _delete(api, obj["kind"], namespace, name, uid, "Background")
                getattr(typed, f"create_{suffix}")(namespace, obj)
                return f"replaced {describe(obj)}"
            body = copy.deepcopy(obj)
            body["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
            getattr(typed, f"patch_{suffix}")(name, namespace, body)
            return f"patched {describe(obj)}"
        except ApiException as error:
            if error.status != 409:
                raise PeerchaosError(
                    f"kubernetes: apply {describe(obj)}: {reason(error)}"
                ) from None
            # Created, replaced or changed by someone else since it was read: read again.
        except (OSError, ValueError, HTTPError) as error:  # refused, TLS, a bad URL
            raise PeerchaosError(f"kubernetes: apply {describe(obj)}: {error}") from None
    raise PeerchaosError(
        f"kubernetes: apply {describe(obj)}: it kept changing while peerchaos applied it "
        f"({TRIES} tries)"
    )


def delete_all_owned(
    api: client.ApiClient, objects: list[dict[str, Any]], ownership: Ownership
) -> tuple[list[str], list[str]]:
    """Delete, in order, the ensemble's objects of the names and kinds of `objects`:
    (what was removed, one line per object of such a name left because it is not ours)."""
    removed, kept = [], []
    for obj in objects:
        meta = obj["metadata"]
        found = read_object(api, obj["kind"], meta["namespace"], meta["name"])
        if found is None:
            continue
        try:
            ownership.check(obj["kind"], meta["name"], found, "delete")
        except UsageError as refused:
            kept.append(str(refused))
            continue
        if delete_checked(api, obj["kind"], found):
            removed.append(describe(obj))
    return removed, kept


def delete_checked(api: client.ApiClient, kind: str, obj: dict[str, Any]) -> bool:
    """Delete an object whose ownership was checked on `obj` as read: its uid is the
    precondition, so a different object that took the name meanwhile stays."""
    meta = obj["metadata"]
    where = f"{kind} {meta['namespace']}/{meta['name']}"
    try:
        return _delete(api, kind, meta["namespace"], meta["name"], meta["uid"])
    except ApiException as error:
        raise PeerchaosError(f"kubernetes: delete {where}: {reason(error)}") from None
    except (OSError, ValueError, HTTPError) as error:
        raise PeerchaosError(f"kubernetes: delete {where}: {error}") from None


def _delete(
    api: client.ApiClient,
    kind: str,
    namespace: str,
    name: str,
    uid: str,
    propagation: str = "Foreground",
) -> bool:
    """Delete with `uid` as precondition (409 when another object holds the name now);
    False when it is gone already. Foreground by default: a StatefulSet is gone once its
    pods are."""
    typed, suffix = api_for(api, kind)
    body = client.V1DeleteOptions(
        propagation_policy=propagation, preconditions=client.V1Preconditions(uid=uid)
    )
    try:
        # The API answers a delete with the object or a Status, depending on kind and
        # version; nothing here reads it, so it is not parsed into a model.
        getattr(typed, f"delete_{suffix}")(name, namespace, body=body, _preload_content=False)
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return True
