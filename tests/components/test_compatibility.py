"""components.compatibility: the order of the alias and database steps from the versions' requires_schema."""

from __future__ import annotations

from dataclasses import replace

import pytest

import rollback_stacks
from components.compatibility import (
    MAINTENANCE,
    RELEASE_ORDER,
    OrderRefused,
    Range,
    Side,
    plan_order,
    sequence,
)
from components.release import changing_steps
from components.target import load_target

ALL = ("jobs", "snapshot", "schema", "dbobjects", "alias", "health")


def side(label: str, accepts: tuple[int, int] | None, schema: int, objects: str | None = "fn") -> Side:
    rng = Range(*accepts) if accepts else None
    return Side(app_of=label, deployment_id=f"dpl_{label}", app_accepts=rng, schema_version=schema,
                objects_of=label, objects=f"{objects}-{label}" if objects else None, objects_accept=rng)


def local(label: str) -> Side:
    record = rollback_stacks.load("local")
    return load_target(record, record.find(label)).side()


def changing(a: Side, b: Side) -> set[str]:
    out = {"alias"} if a.deployment_id != b.deployment_id else set()
    out |= {"schema"} if a.schema_version != b.schema_version else set()
    return out | ({"dbobjects"} if a.objects != b.objects else set())


def test_rollback_moves_users_first_when_the_target_app_accepts_the_live_schema():
    live, target = local("v1.5.0"), local("v1.4.2")
    order = plan_order(live, target, changing(live, target))
    assert order.safe is True and order.steps == ("alias", "dbobjects", "schema")
    assert [(b.after, b.serving, b.schema, b.objects_of, b.holds) for b in order.boundaries] == [
        ("start", "dpl_v150", 5, "v1.5.0", True), ("alias", "dpl_v142", 5, "v1.5.0", True),
        ("dbobjects", "dpl_v142", 5, "v1.4.2", True), ("schema", "dpl_v142", 3, "v1.4.2", True)]
    assert sequence(order, ALL, changing(live, target)) == ["jobs", "alias", "health", "snapshot", "dbobjects",
                                                           "schema"]


def test_release_moves_the_database_first_when_the_live_app_accepts_the_target_schema():
    live, target = local("v1.4.2"), local("v1.5.0")
    order = plan_order(live, target, changing(live, target))
    assert order.safe is True and order.steps == ("schema", "alias", "dbobjects")
    assert all(b.holds for b in order.boundaries)
    assert "database goes first" in order.note
    assert sequence(order, ALL, changing(live, target)) == ["jobs", "snapshot", "schema", "alias", "health",
                                                           "dbobjects"]


def test_functions_the_app_fires_change_before_a_schema_they_do_not_accept():
    # same app, schema down 5 -> 3; the live functions accept only 5: they must be replaced first
    live = side("a", (3, 5), 5)
    live = replace(live, objects_accept=Range(5, 5))
    target = replace(side("a", (3, 5), 3), objects="fn-new")
    order = plan_order(live, target, {"schema", "dbobjects"})
    assert order.steps == ("dbobjects", "schema", "alias") and order.safe is True


def test_an_incompatible_pair_is_refused_naming_the_failing_boundaries():
    live, target = local("v1.5.0"), local("v1.3.0")
    with pytest.raises(OrderRefused) as err:
        plan_order(live, target, changing(live, target))
    text = str(err.value)
    assert "alias first: after alias, dpl_v130 (v1.3.0, accepts schema 1..3) would serve schema 5" in text
    assert "database first: after dbobjects, dpl_v150 (v1.5.0, accepts schema 5..5)" not in text
    assert "database first: after schema, dpl_v150 (v1.5.0, accepts schema 5..5) would serve schema 1" in text
    assert "--maintenance" in text


def test_maintenance_serves_while_the_database_changes():
    live, target = local("v1.5.0"), local("v1.3.0")
    order = plan_order(live, target, changing(live, target), maintenance_id="dpl_maint")
    assert order.maintenance and order.steps == (MAINTENANCE, *RELEASE_ORDER) and order.safe is True
    assert [(b.after, b.serving, b.holds) for b in order.boundaries] == [
        ("start", "dpl_v150", True), (MAINTENANCE, "dpl_maint", True), ("schema", "dpl_maint", True),
        ("dbobjects", "dpl_maint", True), ("alias", "dpl_v130", True)]
    assert sequence(order, ALL, changing(live, target)) == ["jobs", MAINTENANCE, "snapshot", "schema", "dbobjects",
                                                           "alias", "health"]


def test_a_compatible_pair_never_uses_the_maintenance_window():
    live, target = local("v1.5.0"), local("v1.4.2")
    assert not plan_order(live, target, changing(live, target), maintenance_id="dpl_maint").maintenance


def test_versions_without_requires_schema_keep_todays_order_unproven():
    live, target = side("a", None, 5, objects=None), side("b", (3, 5), 3, objects=None)
    order = plan_order(live, target, changing(live, target))
    # the target app accepts 5, so moving users first is provable without the live app's range
    assert order.safe is True and order.steps[0] == "alias"
    live = side("a", None, 5)  # ... but not while the live app's functions (no range either) still run
    assert plan_order(live, target, changing(live, target)).safe is None
    live, target = side("a", None, 5), side("b", None, 3)
    order = plan_order(live, target, changing(live, target))
    assert order.safe is None and order.steps == RELEASE_ORDER and "a, b declare no app.requires_schema" in order.note
    live = side("a", (5, 5), 5)  # today's order would provably serve a on schema 3: the unproven one that is not
    order = plan_order(live, target, changing(live, target))
    assert order.safe is None and order.steps[0] == "alias" and "b declares no" in order.note
    assert plan_order(None, target, {"alias"}).safe is None


def test_an_inconsistent_target_is_refused_even_with_maintenance():
    live, target = side("a", (5, 5), 5), replace(side("a", (5, 5), 1), objects="fn-a")
    with pytest.raises(OrderRefused, match="target is inconsistent: after schema, dpl_a"):
        plan_order(live, target, {"schema"}, maintenance_id="dpl_maint")


def test_changing_steps_compares_the_deployed_and_target_releases():
    record = rollback_stacks.load("local")
    v150, v142 = (load_target(record, record.find(x)) for x in ("v1.5.0", "v1.4.2"))
    assert changing_steps(v150, v142, ALL) == {"alias", "schema", "dbobjects"}
    assert changing_steps(v150, v150, ALL) == set()
    assert changing_steps(v150, v142, ["alias", "health"]) == {"alias"}
    assert changing_steps(None, v142, ALL) == {"alias", "schema", "dbobjects"}
