"""Release under Pulumi mocks: every dependency edge, parent and input of each step, incl. aws/vercel/postgresql."""

from __future__ import annotations

import dataclasses

import pulumi
import pytest

import rollback_stacks
from components.release import Release, ReleaseArgs
from components.target import ReleaseTarget, load_target
from tests.components.mocking import RecordingMonitor, use_mocks

DYN = "pulumi-python:dynamic/rollback:"


@pytest.fixture(scope="module")
def target() -> ReleaseTarget:
    record = rollback_stacks.load("local")
    return load_target(record, record.resolve("v1.4.2"))


def build(args: ReleaseArgs) -> tuple[RecordingMonitor, Release]:
    monitor = use_mocks()
    holder: list[Release] = []

    @pulumi.runtime.test
    def program():
        holder.append(Release("release", args))
        return holder[0].jobs_frozen

    program()
    return monitor, holder[0]


def test_full_release_dependency_edges(target):
    m, release = build(ReleaseArgs(target=target))
    steps = [(r.type, r.name) for r in m.registered if r.custom]
    assert steps == [
        (f"{DYN}JobFreeze", "release-jobs-freeze"),
        (f"{DYN}PgDumpSnapshot", "release-snapshot-pgdump"),
        (f"{DYN}SchemaMigration", "release-schema-migrate"),
        (f"{DYN}DbFunctions", "release-dbobjects-functions"),
        (f"{DYN}TriggerStates", "release-dbobjects-triggers"),
        (f"{DYN}AliasAssignment", "release-alias-app.example.test"),
        (f"{DYN}HealthGate", "release-health-checks"),
        (f"{DYN}JobRelease", "release-jobs-release"),
    ]
    freeze = "release-jobs-freeze"
    assert m.deps(freeze) == set()
    assert m.deps("release-snapshot-pgdump") == {freeze}
    assert m.deps("release-schema-migrate") == {freeze, "release-snapshot-pgdump"}
    assert m.deps("release-dbobjects-functions") == {freeze, "release-schema-migrate"}
    assert m.deps("release-dbobjects-triggers") == {freeze, "release-schema-migrate", "release-dbobjects-functions"}
    assert m.deps("release-alias-app.example.test") == {freeze, "release-dbobjects-functions",
                                                        "release-dbobjects-triggers"}
    assert m.deps("release-health-checks") == {freeze, "release-alias-app.example.test"}
    assert m.deps("release-jobs-release") == {freeze, "release-health-checks"}
    # the frozen_by input is a data dependency on the freeze step for every step between freeze and release
    for name in ["release-snapshot-pgdump", "release-schema-migrate", "release-alias-app.example.test"]:
        assert m.by_name(name).property_dependencies["jobs_frozen_by"] == [m.by_name(freeze).urn]


def test_components_and_parents(target):
    m, _ = build(ReleaseArgs(target=target))
    components = {r.name: r for r in m.registered if not r.custom}
    assert {r.type for r in components.values()} == {f"rollback:components:{n}" for n in [
        "Release", "JobControl", "DatabaseSnapshot", "SchemaVersion", "DatabaseObjects", "DeploymentAlias",
        "HealthGate"]}
    release_urn = components["release"].urn
    assert all(c.parent == release_urn for n, c in components.items() if n != "release")
    parent_of = {r.name: r.parent for r in m.registered if r.custom}
    assert parent_of["release-jobs-freeze"] == parent_of["release-jobs-release"] == components["release-jobs"].urn
    assert parent_of["release-schema-migrate"] == components["release-schema"].urn
    assert parent_of["release-alias-app.example.test"] == components["release-alias"].urn


def test_step_inputs(target):
    m, release = build(ReleaseArgs(target=target, allow_data_loss=True, health_budget_seconds=7))
    rollout = release.rollout_id
    assert rollout.startswith("ro-") and rollout == target.rollout_id(ReleaseArgs(target=target).components)
    freeze = m.by_name("release-jobs-freeze").inputs
    assert (freeze["queue"]["backend"], freeze["rollout_id"]) == ("postgres", rollout)
    snap = m.by_name("release-snapshot-pgdump").inputs
    assert snap["db_rollout"] == target.db_rollout() and snap["destination"] == "s3" and snap["prefix"] == "local"
    schema = m.by_name("release-schema-migrate").inputs
    assert schema["target_version"] == 3 and schema["allow_data_loss"] is True
    assert set(schema["sql"]) == {f"{n:04d}_{s}.{d}.sql" for n, s in [
        (1, "init"), (2, "claim_and_feed_indexes"), (3, "notifications_idempotency"), (4, "worker_jobs_retry"),
        (5, "notification_digests")] for d in ("up", "down")}
    assert schema["checksums"]["0005_notification_digests.down.sql"] == target.checksums[
        "0005_notification_digests.down.sql"]
    fns = m.by_name("release-dbobjects-functions").inputs["functions"]
    assert {k: v["file"] for k, v in fns.items()} == {"worker_fail_job": "functions/worker_fail_job.simple.sql",
                                                       "notif_send": "functions/notif_send.idempotent.sql"}
    assert "CREATE OR REPLACE FUNCTION public.notif_send" in fns["notif_send"]["sql"]
    assert m.by_name("release-dbobjects-triggers").inputs["triggers"]["earnings_events_to_ledger"] == {
        "table": "earnings_events", "enabled": True}
    alias = m.by_name("release-alias-app.example.test").inputs
    assert (alias["alias"], alias["deployment_id"]) == ("app.example.test", "dpl_v142")
    gate = m.by_name("release-health-checks").inputs
    assert gate["budget_seconds"] == 7 and gate["rollout_id"] == rollout
    assert [c["name"] for c in gate["metrics"]] == ["error_rate", "latency_p95_ms", "availability"]
    assert gate["http"][0]["url"] == "${VERCEL_API_URL}/_standin/app/app.example.test/health"
    release_step = m.by_name("release-jobs-release").inputs
    assert release_step["flags"]["feature_feed_fusion"] is True and release_step["rollout_id"] == rollout


def test_no_credentials_in_any_input(target, sandbox):
    m, _ = build(ReleaseArgs(target=target))
    blob = repr([r.inputs for r in m.registered])
    for secret in sandbox.secret_values():
        assert secret not in blob
    assert "DATABASE_URL" not in blob and "postgresql://" not in blob


def test_provider_backed_variants(target):
    t = dataclasses.replace(target, jobs_backend="ssm", snapshot_backend="rds")
    m, _ = build(ReleaseArgs(target=t, rds_instance_identifier="shop-db", alias_variant="vercel",
                             dbobjects_variant="postgresql", vercel_team_id="team_1"))
    types = [(r.type, r.name) for r in m.registered if r.custom]
    assert types[:2] == [("aws:ssm/parameter:Parameter", "release-jobs-freeze"),
                         ("aws:rds/snapshot:Snapshot", "release-snapshot-rds")]
    freeze = m.by_name("release-jobs-freeze").inputs
    assert freeze == {**freeze, "name": "/rollback/local/jobs/rollout", "type": "String", "overwrite": True,
                      "value": t.rollout_id(ReleaseArgs(target=t).components)}
    rds = m.by_name("release-snapshot-rds")
    assert rds.inputs["dbInstanceIdentifier"] == "shop-db"
    assert rds.inputs["dbSnapshotIdentifier"] == f"local-{t.db_rollout()}"
    assert rds.retain_on_delete is True and rds.delete_before_replace is False
    assert m.deps("release-snapshot-rds") == {"release-jobs-freeze"}

    fn = m.by_name("release-dbobjects-notif_send")
    assert fn.type == "postgresql:index/function:Function"
    assert fn.inputs["name"] == "notif_send" and fn.inputs["schema"] == "public"
    assert fn.inputs["returns"] == "uuid" and fn.inputs["language"] == "plpgsql"
    assert fn.inputs["securityDefiner"] is True
    assert [a["name"] for a in fn.inputs["args"]] == ["p_user_id", "p_channel", "p_kind", "p_title", "p_body",
                                                      "p_data", "p_idempotency_key"]
    assert fn.inputs["args"][4] == {"name": "p_body", "type": "text", "default": "NULL"}
    assert m.deps("release-dbobjects-notif_send") == {"release-schema-migrate"}
    assert m.deps("release-dbobjects-worker_fail_job") == {"release-schema-migrate"}
    assert m.deps("release-dbobjects-triggers") == {"release-jobs-freeze", "release-schema-migrate",
                                                    "release-dbobjects-notif_send", "release-dbobjects-worker_fail_job"}

    alias = m.by_name("release-alias-app.example.test")
    assert alias.type == "vercel:index/alias:Alias"
    assert alias.inputs == {"alias": "app.example.test", "deploymentId": "dpl_v142", "teamId": "team_1"}
    assert alias.retain_on_delete is True and alias.delete_before_replace is False  # in-place move, no delete
    assert m.deps("release-alias-app.example.test") == {"release-dbobjects-notif_send",
                                                        "release-dbobjects-worker_fail_job",
                                                        "release-dbobjects-triggers"}
    flags = [r for r in m.registered if r.name.startswith("release-jobs-flag-")]
    assert {r.inputs["name"]: r.inputs["value"] for r in flags}["/rollback/local/flags/notif_frequency_cap"] == "5"
    assert all(m.deps(r.name) == {"release-jobs-freeze", "release-health-checks"} for r in flags)
    marker = m.by_name("release-jobs-release")
    assert marker.inputs["name"] == "/rollback/local/jobs/released"
    assert m.deps("release-jobs-release") == {"release-jobs-freeze", "release-health-checks", *(r.name for r in flags)}


def test_vercel_env_jobs_backend(target):
    t = dataclasses.replace(target, jobs_backend="vercel-env")
    m, _ = build(ReleaseArgs(target=t, vercel_team_id="team_1"))
    freeze = m.by_name("release-jobs-freeze")
    assert freeze.type == "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable"
    assert {k: freeze.inputs[k] for k in ("projectId", "teamId", "key", "targets", "sensitive")} == {
        "projectId": "shop-web", "teamId": "team_1", "key": "ROLLBACK_ROLLOUT", "targets": ["production"],
        "sensitive": False}
    flag = m.by_name("release-jobs-flag-feature_feed_fusion")
    assert (flag.inputs["key"], flag.inputs["value"]) == ("FLAG_FEATURE_FEED_FUSION", "true")
    assert m.by_name("release-jobs-release").inputs["key"] == "ROLLBACK_RELEASED"


def test_enabled_components_only(target):
    m, release = build(ReleaseArgs(target=target, components=["alias", "health"]))
    assert [r.name for r in m.registered if r.custom] == ["release-alias-app.example.test", "release-health-checks"]
    assert m.deps("release-alias-app.example.test") == set()
    assert m.deps("release-health-checks") == {"release-alias-app.example.test"}
    assert m.by_name("release-alias-app.example.test").inputs.get("jobs_frozen_by") is None


def test_unknown_component_is_refused(target):
    with pytest.raises(ValueError, match="unknown component"):
        build(ReleaseArgs(target=target, components=["jobs", "dns"]))


def test_rollout_ids_follow_what_changes(target):
    record = rollback_stacks.load("local")
    v1 = load_target(record, record.resolve("v1.3.0"))
    all_on = ["jobs", "snapshot", "schema", "dbobjects", "alias", "health"]
    assert v1.rollout_id(all_on) != target.rollout_id(all_on)
    assert v1.rollout_id(all_on) == v1.rollout_id(list(reversed(all_on)))
    relabeled = dataclasses.replace(v1, label="v9", version=9, health={})
    assert relabeled.rollout_id(all_on) == v1.rollout_id(all_on)  # same desired state: nothing to freeze for
    assert dataclasses.replace(v1, deployment_id="dpl_x").db_rollout() == v1.db_rollout()
    assert dataclasses.replace(v1, deployment_id="dpl_x").rollout_id(all_on) != v1.rollout_id(all_on)


@pytest.mark.parametrize(("mode", "backend", "step"), [
    (None, "pgdump", (f"{DYN}PgDumpSnapshot", "release-snapshot-pgdump")),
    (None, "rds", ("aws:rds/snapshot:Snapshot", "release-snapshot-rds")),
    ("full", "rds", (f"{DYN}PgDumpSnapshot", "release-snapshot-pgdump")),
    ("storage", "pgdump", ("aws:rds/snapshot:Snapshot", "release-snapshot-rds")),
    ("kept", "pgdump", None),
])
def test_rollback_snapshot_chooses_what_protects_the_rollout(target, mode, backend, step):
    """rollback:snapshot: full (pg_dump), storage (an RDS snapshot, the bridged resource), kept (no snapshot step:
    the schema step keeps what it destroys); unset, the version's backend. The Release says which in `protection`."""
    t = dataclasses.replace(target, snapshot_backend=backend)
    m, release = build(ReleaseArgs(target=t, snapshot=mode, rds_instance_identifier="shop-db"))
    custom = [(r.type, r.name) for r in m.registered if r.custom]
    snaps = [c for c in custom if "snapshot" in c[1]]
    assert snaps == ([step] if step else [])
    expected = mode or {"pgdump": "full", "rds": "storage"}[backend]
    assert release.protection["snapshot"] == expected and expected in release.protection["note"]
    deps = m.deps("release-schema-migrate")
    assert deps == {"release-jobs-freeze", *([step[1]] if step else [])}
    if expected == "storage":
        rds = m.by_name("release-snapshot-rds")
        assert rds.inputs["dbInstanceIdentifier"] == "shop-db" and rds.retain_on_delete is True
    if expected == "kept":
        assert "no whole-database dump" in release.protection["note"]


def test_rollback_snapshot_storage_without_an_rds_instance_is_refused_naming_the_fix(target):
    from rollback_stacks.settings import SettingError

    with pytest.raises(SettingError, match=r"Pulumi.local.yaml: rollback:snapshot storage .* rollback:rdsInstance"):
        build(ReleaseArgs(target=target, snapshot="storage"))
