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
NAMES = ["preview.yml", "rollback.yml", "auto-rollback.yml", "watch.yml"]
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


def test_the_four_workflows_exist():
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
    assert "gh api --method PATCH" in run  # the stack's comment, edited in place


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


def test_the_watch_runs_after_a_rollout_and_its_failure_starts_the_auto_rollback():
    from rollback.watch_checks import EXIT_INTERRUPTED

    doc, auto = load("watch.yml"), load("auto-rollback.yml")
    assert doc["name"] in auto["on"]["workflow_run"]["workflows"]  # a failed watch is a failed validation
    assert doc["on"]["workflow_run"]["workflows"] == [load("rollback.yml")["name"]]
    assert "success" in doc["jobs"]["watch"]["if"]
    run = scripts(doc)
    assert '.venv/bin/rollback watch "${args[@]}"' in run and f"{EXIT_INTERRUPTED}) echo" in run
    uploads = {s["with"]["name"]: s for s in doc["jobs"]["watch"]["steps"]
               if s.get("uses", "").startswith("actions/upload-artifact@")}
    assert uploads["validation-result"]["with"]["path"] == "validation/" and uploads["validation-result"]["if"] == \
        "always()"
    downloads = [s for s in auto["jobs"]["decide"]["steps"] if s.get("uses", "").startswith("actions/download-")]
    assert downloads[0]["with"]["name"] == "validation-result"


def test_decide_exit_codes_in_workflow_match_the_cli():
    from rollback.decide import EXIT_CODES

    run = scripts(load("auto-rollback.yml"))
    for action, code in EXIT_CODES.items():
        assert f"{code}) action={action.value} ;;" in run


def go_mod_pulumi_version() -> str:
    """The Pulumi version the offline engine builds (tools/pulumi-engine/go.mod), which the SDK pins too."""
    found = re.search(r"github.com/pulumi/pulumi/pkg/v3 v(\S+)", (REPO / "tools/pulumi-engine/go.mod").read_text())
    assert found
    return found.group(1)


@pytest.mark.parametrize("name", NAMES)
def test_workflows_install_the_official_cli_and_build_nothing(name):
    doc = load(name)
    text = (WORKFLOWS / name).read_text()
    for banned in ("setup-go", "make prereqs", "make engine", "make migrate-cli", "make node-oracles", "go build",
                   "go install"):
        assert banned not in text, banned
    for job in doc["jobs"].values():
        uses = [s.get("uses", "") for s in job["steps"]]
        runs = [s.get("run", "") for s in job["steps"]]
        engine = [i for i, r in enumerate(runs) if re.search(r"rollback (apply|plan|watch) ", r)]
        if not engine:  # `rollback decide` needs no engine
            continue
        install = [s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
        assert [s["uses"] for s in install] == ["pulumi/actions@v6"], uses
        assert install[0]["with"] == {"pulumi-version": go_mod_pulumi_version()}  # install only, no command
        assert uses.index("pulumi/actions@v6") < engine[0]


FAKE_GH = r'''#!/usr/bin/env python3
"""`gh api` as far as the comment step uses it, over a JSON file of issue comments."""
import json, os, subprocess, sys
args, state = sys.argv[1:], os.environ["FAKE_GH_STATE"]
comments = json.load(open(state))
assert args[0] == "api", args
method, jq, body, path = "GET", None, None, None
i = 1
while i < len(args):
    a = args[i]
    if a == "--method": method = args[i + 1]; i += 2
    elif a == "--jq": jq = args[i + 1]; i += 2
    elif a == "-F": key, _, value = args[i + 1].partition("="); assert key == "body" and value[0] == "@"; \
        body = open(value[1:]).read(); i += 2
    elif a == "--paginate": i += 1
    else: path = a; i += 1
with open(state + ".log", "a") as log:
    log.write(f"{method} {path}\n")
if method == "GET":
    assert path == "repos/acme/shop/issues/7/comments", path
    out = json.dumps(comments)
    print(subprocess.run(["jq", "-r", jq], input=out, capture_output=True, text=True, check=True).stdout, end="")
elif method == "POST":
    assert path == "repos/acme/shop/issues/7/comments", path
    comments.append({"id": max([c["id"] for c in comments] + [100]) + 1, "body": body})
elif method == "PATCH":
    cid = int(path.rsplit("/", 1)[1])
    assert path == f"repos/acme/shop/issues/comments/{cid}", path
    next(c for c in comments if c["id"] == cid)["body"] = body
json.dump(comments, open(state, "w"))
'''


def test_preview_keeps_one_comment_per_stack_and_updates_it_in_place(tmp_path):
    """The comment step runs as written, against `gh api` over a list of comments: one per stack, edited after."""
    assert shutil.which("jq"), "jq is missing: apt-get install jq (GitHub's runners have it)"
    step = next(s for s in steps(load("preview.yml")) if s.get("name") == "One comment per stack, updated in place")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(FAKE_GH)
    (bin_dir / "gh").chmod(0o755)
    state = tmp_path / "comments.json"
    state.write_text(json.dumps([{"id": 50, "body": "LGTM"},
                                 {"id": 51, "body": "<!-- rollback-preview:prod-eu -->\nanother stack"}]))
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE_GH_STATE": str(state), "REPO": "acme/shop", "PR": "7",
           "GH_TOKEN": "t"}

    def run(plans: dict[str, str]) -> list[dict[str, Any]]:
        for old in tmp_path.glob("comment-*.md"):
            old.unlink()
        for stack, body in plans.items():
            (tmp_path / f"comment-{stack}.md").write_text(f"<!-- rollback-preview:{stack} -->\n{body}\n")
        proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True,
                              text=True)
        assert proc.returncode == 0, proc.stderr
        return json.loads(state.read_text())

    first = run({"prod": "3 to update", "staging": "1 to update"})
    assert [c["body"] for c in first] == ["LGTM", "<!-- rollback-preview:prod-eu -->\nanother stack",
                                          "<!-- rollback-preview:prod -->\n3 to update\n",
                                          "<!-- rollback-preview:staging -->\n1 to update\n"]
    second = run({"prod": "2 to update, 1 data-loss step"})
    assert [c["id"] for c in second] == [c["id"] for c in first]  # edited, none added
    assert second[2]["body"] == "<!-- rollback-preview:prod -->\n2 to update, 1 data-loss step\n"
    assert second[1]["body"] == first[1]["body"] and second[3]["body"] == first[3]["body"]
    log = (tmp_path / "comments.json.log").read_text().splitlines()
    assert log.count(f"PATCH repos/acme/shop/issues/comments/{first[2]['id']}") == 1
    assert log.count("POST repos/acme/shop/issues/7/comments") == 2
