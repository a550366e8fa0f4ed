"""components.program under Pulumi mocks: config in, one Release out, stack outputs; and the function SQL parser."""

from __future__ import annotations

import json

import pulumi
import pytest

import rollback_stacks
from components.function_sql import parse_function
from components.program import pulumi_program
from tests.components.mocking import use_mocks


def run_program(config: dict[str, str]):
    monitor = use_mocks(stack="local")
    pulumi.runtime.set_all_config({f"rollback:{k}": v for k, v in config.items()})

    @pulumi.runtime.test
    def program():
        pulumi_program()
        return pulumi.runtime.get_root_resource().outputs["jobs_frozen"]  # type: ignore[union-attr]

    try:
        program()
        outputs = {k: v for k, v in pulumi.runtime.get_root_resource().outputs.items()}  # type: ignore[union-attr]
    finally:
        pulumi.runtime.set_all_config({})
    return monitor, outputs


def test_program_declares_one_release_of_the_resolved_target():
    monitor, outputs = run_program({"target": "v1.4.2", "components": json.dumps(["alias", "health"]),
                                    "allowedDomains": json.dumps(["app.example.test"])})
    releases = [r for r in monitor.registered if r.type == "rollback:components:Release"]
    assert len(releases) == 1
    assert monitor.by_name("release-alias-app.example.test").inputs["deployment_id"] == "dpl_v142"
    assert set(outputs) == {"version", "label", "deployment_id", "schema_version", "snapshot_reference",
                            "rollout_id", "jobs_frozen", "components", "partial"}


def test_program_refuses_domains_outside_allowed_and_unknown_refs():
    with pytest.raises(Exception, match="not in rollback:allowedDomains"):
        run_program({"target": "last-good", "allowedDomains": json.dumps(["shop.example.com"])})
    with pytest.raises(pulumi.RunError, match="is a candidate"):  # one error line under the CLI, no traceback
        run_program({"target": "v1.5.0"})


def test_parse_function_files_of_the_local_stack():
    record = rollback_stacks.load("local")
    spec = parse_function(record.file("functions/worker_fail_job.simple.sql").read_text())
    assert (spec.schema, spec.name, spec.returns, spec.language) == ("public", "worker_fail_job", "void", "plpgsql")
    assert spec.args == [{"name": "p_job_id", "type": "uuid"}, {"name": "p_error", "type": "text"}]
    assert spec.security_definer and spec.settings == ["search_path = public"]
    assert "UPDATE public.worker_jobs" in spec.body
    with pytest.raises(ValueError, match="not a CREATE FUNCTION"):
        parse_function("SELECT 1;")


def test_partial_takes_only_the_selected_components_from_the_target():
    monitor, outputs = run_program({"target": "v1.4.2", "deployed": "3", "partial": json.dumps(["jobs"]),
                                    "allowCandidate": "true"})
    assert monitor.by_name("release-alias-app.example.test").inputs["deployment_id"] == "dpl_v150"
    assert monitor.by_name("release-schema-migrate").inputs["target_version"] == 5
    assert monitor.by_name("release-jobs-release").inputs["flags"]["notif_frequency_cap"] == 5
    assert outputs["label"] == "v1.5.0"


def test_partial_refuses_a_schema_outside_the_apps_range():
    with pytest.raises(Exception, match=r"inconsistent: after schema, dpl_v150 \(v1.5.0, accepts schema 5..5\) "
                                          r"would serve schema 1"):
        run_program({"target": "v1.3.0", "deployed": "3", "partial": json.dumps(["schema"]),
                     "allowCandidate": "true"})


def test_after_a_partial_rollout_the_order_starts_from_what_serves_now():
    # v1.5.0 deployed, then only its alias rolled back to v1.4.2: dpl_v142 serves schema 5 with v1.5.0's functions
    monitor, _ = run_program({"target": "v1.4.2", "deployed": "3",
                              "deployedPartial": json.dumps({"version": 2, "components": ["alias"]})})
    deps = monitor.deps("release-schema-migrate")
    assert any(d.endswith("release-dbobjects-functions") for d in deps), deps  # functions first: v1.5.0's need 5
    assert not any("release-alias" in d for d in monitor.deps("release-snapshot-pgdump"))  # the alias stays
    monitor, _ = run_program({"target": "v1.4.2", "deployed": "3"})
    assert any(d.endswith("release-health-checks") for d in monitor.deps("release-snapshot-pgdump"))  # alias first
