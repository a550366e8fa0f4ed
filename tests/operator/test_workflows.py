"""The CI workflows parse, match a minimal GitHub Actions schema, and call the CLI the way the issue asks."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
SCHEMA = json.loads((Path(__file__).parent / "github-workflow.schema.json").read_text())
NAMES = ["preview.yml", "rollback.yml", "auto-rollback.yml"]
EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def load(name: str) -> dict[str, Any]:
    """The workflow as data; PyYAML (YAML 1.1) reads the key `on` as True, GitHub reads it as "on"."""
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in doc["jobs"].values() for step in job["steps"]]


def scripts(doc: dict[str, Any]) -> str:
    return "\n".join(step["run"] for step in steps(doc) if "run" in step)


def test_the_three_workflows_exist():
    assert sorted(p.name for p in WORKFLOWS.glob("*.yml")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_schema(name):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(load(name), SCHEMA)


def test_schema_rejects_typos():
    bad = load("rollback.yml")
    bad["jobs"]["apply"]["steps"][0] = {"uses": "actions/checkout@v4", "wiht": {}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)
    bad["jobs"]["apply"]["steps"][0] = {"run": "x", "uses": "actions/checkout@v4"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)
    del bad["jobs"]["apply"]["runs-on"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)


@pytest.mark.parametrize("name", NAMES)
def test_run_scripts_never_interpolate_inputs(name):
    """Inputs and event fields reach scripts through env only (no script injection)."""
    for script in (s["run"] for s in steps(load(name)) if "run" in s):
        assert not EXPR.search(script), script


@pytest.mark.parametrize("name", NAMES)
def test_run_scripts_are_valid_bash(name):
    bash = shutil.which("bash")
    for script in (s["run"] for s in steps(load(name)) if "run" in s):
        proc = subprocess.run([bash, "-n", "-c", script], capture_output=True, text=True)
        assert proc.returncode == 0, (script, proc.stderr)


@pytest.mark.parametrize("name", NAMES)
def test_expressions_are_balanced(name):
    text = (WORKFLOWS / name).read_text()
    assert text.count("${{") == text.count("}}") == len(EXPR.findall(text))


def test_preview_on_pull_requests_touching_stacks_posts_markdown_plan():
    doc = load("preview.yml")
    assert set(doc["on"]) == {"pull_request"}
    assert doc["on"]["pull_request"]["paths"] == ["Pulumi.*.yaml", "rollback_stacks/**"]
    assert doc["permissions"]["pull-requests"] == "write"
    run = scripts(doc)
    assert 'rollback plan "$stack" --to "$target" --format markdown' in run
    assert '"rollback:target"' in run  # the target comes from Pulumi.<stack>.yaml
    assert "gh pr comment" in run


def test_manual_rollback_dispatch():
    doc = load("rollback.yml")
    inputs = doc["on"]["workflow_dispatch"]["inputs"]
    assert {"stack", "target", "reason"} <= set(inputs)
    assert inputs["reason"]["required"] is True
    assert "rollback apply" in scripts(doc) and "--yes" in scripts(doc) and '--reason "$REASON"' in scripts(doc)
    uploads = [s for s in steps(doc) if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert uploads and uploads[0]["with"]["path"] == "reports/" and uploads[0]["if"] == "always()"
    assert doc["concurrency"]["group"] == "rollback-${{ inputs.stack }}"


def test_auto_rollback_decides_then_applies_last_good_and_records_override():
    doc = load("auto-rollback.yml")
    assert doc["on"]["workflow_run"]["types"] == ["completed"]
    assert "failure" in doc["jobs"]["decide"]["if"]
    inputs = doc["on"]["workflow_dispatch"]["inputs"]
    assert {"emergency_override", "override_reason", "override_approver"} <= set(inputs)
    decide_run = scripts({"jobs": {"d": doc["jobs"]["decide"]}})
    assert "rollback decide" in decide_run and "--override-reason" in decide_run and "--approver" in decide_run
    assert "3) action=rollback" in decide_run
    job = doc["jobs"]["rollback"]
    assert job["needs"] == "decide" and job["if"] == "needs.decide.outputs.action == 'rollback'"
    assert job["concurrency"]["group"] == "rollback-${{ needs.decide.outputs.stack }}"  # same group as manual
    apply_run = scripts({"jobs": {"r": job}})
    assert 'rollback apply "$STACK" --to last-good --yes --reason "$REASON"' in apply_run
    assert any(s.get("uses", "").startswith("actions/upload-artifact@") and s["with"]["path"] == "reports/"
               for s in job["steps"])


def test_decide_exit_codes_in_workflow_match_the_cli():
    from rollback.decide import EXIT_CODES

    run = scripts(load("auto-rollback.yml"))
    for action, code in EXIT_CODES.items():
        assert f"{code}) action={action.value} ;;" in run
