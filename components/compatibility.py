"""Step order by compatibility: at every step boundary the serving app and the live DB objects accept the live schema.

A version's app declares the schema versions it works with (`app.requires_schema`); its functions and triggers,
which the app's writes fire, are taken to need the same range. Rolling back, the target app usually accepts the
live schema, so the alias moves first and the database follows; releasing, the live app accepts the target
schema, so the database goes first. When no order keeps every boundary in range the rollout is refused, unless a
maintenance deployment (which runs no query) serves while the database changes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import permutations
from typing import Any

RELEASE_ORDER = ("schema", "dbobjects", "alias")  # today's order, kept when safety cannot be proven
MAINTENANCE = "maintenance"


@dataclass(frozen=True)
class Range:
    """The schema versions an app (or its functions and triggers) works with: min..max inclusive."""

    min: int
    max: int

    def __contains__(self, version: object) -> bool:
        return isinstance(version, int) and self.min <= version <= self.max

    def __str__(self) -> str:
        return f"{self.min}..{self.max}"


@dataclass(frozen=True)
class Side:
    """What one release serves: its app (deployment, accepted schemas), its schema, its DB objects (and theirs)."""

    app_of: str
    deployment_id: str | None
    app_accepts: Range | None
    schema_version: int | None
    objects_of: str
    objects: str | None  # digest of the functions and triggers; None when none are managed
    objects_accept: Range | None


@dataclass(frozen=True)
class Boundary:
    """The live state after one step: who serves, on which schema, with whose DB objects; whether it holds."""

    after: str
    serving: str | None
    serving_of: str
    accepts: Range | None
    schema: int | None
    objects_of: str | None
    objects_accept: Range | None
    holds: bool | None  # None: a range it needs is not declared

    def problem(self) -> str:
        """Why this boundary fails (empty when it holds or is unknown)."""
        if self.holds is not False:
            return ""
        out = []
        if self.accepts is not None and self.schema not in self.accepts:
            out.append(f"{self.serving} ({self.serving_of}, accepts schema {self.accepts}) would serve schema "
                       f"{self.schema}")
        if self.objects_accept is not None and self.schema not in self.objects_accept:
            out.append(f"the functions and triggers of {self.objects_of} (schema {self.objects_accept}) would run "
                       f"on schema {self.schema}")
        return f"after {self.after}, " + " and ".join(out)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (plans, reports)."""
        return {"after": self.after, "serving": self.serving, "serving_of": self.serving_of,
                "accepts": str(self.accepts) if self.accepts else None, "schema": self.schema,
                "objects_of": self.objects_of,
                "objects_accept": str(self.objects_accept) if self.objects_accept else None, "holds": self.holds}


@dataclass(frozen=True)
class Order:
    """The order of the alias and database steps, each boundary it passes, and whether it is proven safe."""

    steps: tuple[str, ...]
    boundaries: tuple[Boundary, ...] = ()
    safe: bool | None = None
    note: str = ""

    @property
    def maintenance(self) -> bool:
        return MAINTENANCE in self.steps

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the program's `order` output, plans)."""
        return {"steps": list(self.steps), "safe": self.safe, "maintenance": self.maintenance, "note": self.note,
                "boundaries": [b.to_dict() for b in self.boundaries]}


class OrderRefused(ValueError):
    """No order keeps the serving app on a schema it accepts (and no maintenance deployment was asked for)."""


def _check(app: Side | None, schema: int | None, objects: Side) -> bool | None:
    """Whether the app (None: the maintenance deployment) and the DB objects accept the schema."""
    verdicts: list[bool | None] = []
    if app is not None:
        verdicts.append(None if app.app_accepts is None or schema is None else schema in app.app_accepts)
        if objects.objects is not None:  # the app's writes fire them; under maintenance nothing writes
            verdicts.append(None if objects.objects_accept is None or schema is None
                            else schema in objects.objects_accept)
    if False in verdicts:
        return False
    return None if None in verdicts else True


def _boundary(after: str, app: Side | None, maintenance_id: str | None, schema: int | None,
              objects: Side) -> Boundary:
    return Boundary(after=after, serving=app.deployment_id if app else maintenance_id,
                    serving_of=app.app_of if app else MAINTENANCE, accepts=app.app_accepts if app else None,
                    schema=schema, objects_of=objects.objects_of if objects.objects is not None else None,
                    objects_accept=objects.objects_accept if objects.objects is not None else None,
                    holds=_check(app, schema, objects))


def walk(deployed: Side, target: Side, steps: Sequence[str], changing: Collection[str],
         maintenance_id: str | None = None) -> tuple[Boundary, ...]:
    """The boundary at the start and after every changing step, applying `steps` in order."""
    app: Side | None = deployed
    schema, objects = deployed.schema_version, deployed
    out = [_boundary("start", app, maintenance_id, schema, objects)]
    for step in steps:
        if step not in changing and step != MAINTENANCE:
            continue
        if step == MAINTENANCE:
            app = None
        elif step == "alias":
            app = target
        elif step == "schema":
            schema = target.schema_version
        elif step == "dbobjects":
            objects = target
        out.append(_boundary(step, app, maintenance_id, schema, objects))
    return tuple(out)


def _verdict(boundaries: Sequence[Boundary]) -> bool | None:
    """Safe when every boundary after a step holds; the start is what is live now, not ours to prove."""
    after = [b.holds for b in boundaries[1:]]
    if False in after:
        return False
    return None if None in after else True


def _full(moving: Sequence[str]) -> tuple[str, ...]:
    """The three steps with the moving ones in the given order, the others in their release slots."""
    it = iter(moving)
    return tuple(next(it) if s in moving else s for s in RELEASE_ORDER)


def _candidates(changing: Collection[str]) -> list[tuple[str, ...]]:
    """Every order of the changing steps, users back on the target app soonest first, then today's order."""
    moving = [s for s in RELEASE_ORDER if s in changing]
    orders = [_full(p) for p in permutations(moving)]
    return sorted(orders, key=lambda o: (o.index("alias") if "alias" in changing else 0,
                                         [RELEASE_ORDER.index(s) for s in o]))


def plan_order(deployed: Side | None, target: Side, changing: Collection[str], *,
               maintenance_id: str | None = None) -> Order:
    """The first order (alias soonest) whose every boundary holds; today's order when unprovable.

    Raises OrderRefused when every order breaks a boundary, unless `maintenance_id` names the deployment to
    serve while the database changes.
    """
    changing = set(changing) & set(RELEASE_ORDER)
    if deployed is None:
        return Order(RELEASE_ORDER, (), None, "the deployed version is not known (rollback:deployed): today's "
                                              "order, safety not proven")
    if not changing:
        return Order(RELEASE_ORDER, walk(deployed, target, RELEASE_ORDER, changing), True, "nothing to order")
    tried = [(o, walk(deployed, target, o, changing)) for o in _candidates(changing)]
    for steps, bounds in tried:
        if _verdict(bounds) is True:
            first = next(s for s in steps if s in changing)
            how = ("the target app accepts the live schema: users move first, the database follows"
                   if first == "alias" else
                   "the live app accepts the target schema: the database goes first" if "alias" in changing
                   else "every boundary keeps the app and its DB objects on a schema they accept")
            return Order(steps, bounds, True, how)
    unproven = [(o, b) for o, b in tried if _verdict(b) is None]
    if unproven:
        steps, bounds = next(((o, b) for o, b in unproven if o == RELEASE_ORDER), unproven[0])
        missing = sorted({b.serving_of for b in bounds if b.accepts is None and b.serving_of != MAINTENANCE} |
                         {b.objects_of for b in bounds if b.objects_of and b.objects_accept is None})
        verb = "declare" if len(missing) > 1 else "declares"
        return Order(steps, bounds, None, f"could not prove safety: {', '.join(missing) or 'a version'} {verb} no "
                                          "app.requires_schema")
    final = walk(deployed, target, RELEASE_ORDER, changing)[-1]
    if final.holds is False:
        raise OrderRefused(f"rollout refused: the target is inconsistent: {final.problem()}; choose components "
                           "that keep the app and its schema together.")
    by_first: dict[str, str] = {}
    for steps, bounds in tried:
        label = "alias first" if steps[0] == "alias" else "database first"
        by_first.setdefault(label, next(b for b in bounds[1:] if b.holds is False).problem())
    reasons = "; ".join(f"{k}: {v}" for k, v in by_first.items())
    if maintenance_id is None:
        raise OrderRefused(f"rollout refused: no order keeps the serving app on a schema it accepts ({reasons}). "
                           "Pass --maintenance to serve the stack's rollback:maintenanceDeployment while the database "
                           "changes, or go through a version in between.")
    steps = (MAINTENANCE, *RELEASE_ORDER)
    bounds = walk(deployed, target, steps, changing | {"alias"}, maintenance_id)  # the alias always comes back
    return Order(steps, bounds, True, f"maintenance: {maintenance_id} serves while the database changes ({reasons})")


def sequence(order: Order, enabled: Collection[str], changing: Collection[str]) -> list[str]:
    """Every enabled component in execution order: the freeze, the ordered steps with the snapshot before the
    first database step and the health gate right after a moving alias, the rest of the gate last."""
    out = ["jobs"] if "jobs" in enabled else []
    for step in order.steps:
        if step in ("schema", "dbobjects") and "snapshot" not in out and "snapshot" in enabled:
            out.append("snapshot")
        if step == MAINTENANCE or step in enabled:
            out.append(step)
        if step == "alias" and "alias" in changing and "health" in enabled:
            out.append("health")
    if "snapshot" in enabled and "snapshot" not in out:
        out.append("snapshot")
    if "health" in enabled and "health" not in out:
        out.append("health")
    return out
