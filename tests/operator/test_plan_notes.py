"""The plan says what a production-domain step does to the Vercel project beyond its diff."""

from __future__ import annotations

from rollback import plan_format
from rollback.plan import Plan, Step, production_notes


def _plan(*steps: Step) -> Plan:
    return Plan(stack="prod", target="last-good", current={"version": 3}, desired={"version": 2}, steps=list(steps))


def test_a_rollback_says_new_production_deployments_will_not_take_the_domains():
    inputs = {"via": "rollback", "project_id": "prj_1", "deployment_id": "dpl_2"}
    notes = production_notes("update", inputs)
    assert notes == ["production domains of Vercel project prj_1: Instant Rollback to dpl_2; the project stays "
                     "rolled back, so a new production deployment does not take them until a roll forward (promote)"]
    plan = _plan(*(Step(index=i, op="update", component="DeploymentAlias", name=f"d{i}", type="t", notes=notes)
                   for i in (1, 2)))
    assert plan.notes == notes  # once, however many of the project's domains
    assert plan_format.to_text(plan).plain.endswith("\nnote: " + notes[0])
    assert "> [!NOTE]\n> " + notes[0] in plan_format.to_markdown(plan)
    assert plan.to_dict()["notes"] == notes


def test_promote_and_in_place_moves():
    assert "auto-assignment on" in production_notes("update", {"via": "promote", "project_id": "p"})[0]
    assert production_notes("update", {"via": "alias", "project_id": "p"}) == []
    assert production_notes("delete", {"via": "rollback", "project_id": "p"}) == []
    assert "notes" not in _plan(Step(index=1, op="update", component="c", name="n", type="t")).to_dict()


def test_sessions_in_the_way_are_warnings_in_every_format_and_cancel_blockers_a_note():
    from rollback.plan import CANCEL_NOTE, blocker_warnings, lock_notes

    blocker = {"pid": 4242, "application_name": "metabase", "state": "idle in transaction", "seconds": 75.2,
               "query": "SELECT * FROM public.orders WHERE id = $1"}
    inputs = {"plan": {"files": ["0004_x.down.sql"], "blockers": [blocker]},
              "locks": {"timeout_ms": 1000, "budget_ms": 30000, "cancel_blockers": True}}
    warnings = blocker_warnings("release-schema-migrate", inputs)
    assert warnings == ["release-schema-migrate would wait for its locks (lock_timeout 1000ms): pid 4242 "
                        "('metabase', idle in transaction for 75s: SELECT * FROM public.orders WHERE id = $1)"]
    plan = _plan(Step(index=1, op="update", component="SchemaVersion", name="m", type="t", warnings=warnings,
                      notes=lock_notes("update", inputs)))
    assert warnings[0] in plan_format.to_text(plan).plain and warnings[0] in plan_format.to_markdown(plan)
    assert plan.to_dict()["warnings"] == warnings and plan.to_dict()["notes"] == [CANCEL_NOTE]
    assert lock_notes("update", {"locks": {"cancel_blockers": False}}) == []
    assert blocker_warnings("m", {"plan": {"files": []}}) == []


def test_refused_target_markdown_leads_with_the_refusal():
    from rollback.plan_format import refused_markdown

    md = refused_markdown("prod", "v9", "ref 'v9': matches no version; expected N, label, last-good")
    first, _, rest = md.partition("\n")
    assert first == "### Rollback plan: `prod` → `v9`: **refused**"
    assert rest.lstrip().startswith("> [!CAUTION]\n> ref 'v9': matches no version")
