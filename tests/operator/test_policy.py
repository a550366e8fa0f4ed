"""The rollback policy as data: the shipped default, a stack's override changing decisions, `decide --explain`,
`rollback policy validate|show`, hostile documents refused with file:line, and no seed numbers in the product."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from rollback.decide import decide
from rollback.policy import default, effective
from rollback.policy import schema as policy_schema
from rollback.policy.load import DEFAULT_FILE, DEFAULT_SHOWN, merge, read
from rollback.validation_result import ValidationResult

REPO = Path(__file__).resolve().parents[2]
ROLLBACK = [sys.executable, "-c", "from rollback.cli import main; main()"]
PARTIAL = {"failure_type": "application", "failing_checks": [{"name": "api"}],
           "signals": {"partial_degradation": True}}


def project(tmp_path: Path, policy: str | bytes | None = None, stack: str = "prod") -> Path:
    """A project directory with Pulumi.<stack>.yaml and (optionally) rollback_stacks/<stack>/policy.yaml."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / f"Pulumi.{stack}.yaml").write_text("config:\n  rollback:target: last-good\n")
    stack_dir = tmp_path / "rollback_stacks" / stack
    (stack_dir / "versions").mkdir(parents=True)
    if policy is not None:
        path = stack_dir / "policy.yaml"
        path.write_bytes(policy) if isinstance(policy, bytes) else path.write_text(policy)
    return tmp_path


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ROLLBACK_PROJECT_DIR": str(root)}
    return subprocess.run([*ROLLBACK, *args], cwd=root, env=env, capture_output=True, text=True, timeout=60)


def validation(root: Path, doc: dict[str, object]) -> str:
    path = root / "validation.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_default_policy_is_schema_valid_and_the_schema_file_is_current():
    assert policy_schema.main(["--check"]) == 0
    schema = json.loads(policy_schema.SCHEMA_PATH.read_text())
    jsonschema.validate(yaml.safe_load(DEFAULT_FILE.read_text()), schema)
    policy = default()
    assert policy.sources == (DEFAULT_SHOWN,)
    for rule in (*policy.severity_rules, *policy.action_rules):
        assert re.fullmatch(r"[a-z][a-z0-9_]*", rule.id) and rule.description and "\n" not in rule.description
        assert re.fullmatch(r"rollback/policy/default\.yaml:\d+", rule.origin)


def test_stack_override_changes_one_rule_and_the_decision_through_the_cli(tmp_path):
    root = project(tmp_path)
    before = cli(root, "decide", "--validation", validation(root, PARTIAL), "--stack", "prod", "--format", "json")
    assert before.returncode == 3, before.stderr
    assert json.loads(before.stdout)["severity"] == "P1"
    (root / "rollback_stacks/prod/policy.yaml").write_text(
        "version: 1\nseverity_rules:\n  - id: partial_degradation\n    severity: P2\n")
    after = cli(root, "decide", "--validation", validation(root, PARTIAL), "--stack", "prod", "--format", "json")
    assert after.returncode == 4, after.stderr  # P2 partial degradation: fix forward instead of rollback
    doc = json.loads(after.stdout)
    assert (doc["action"], doc["severity"]) == ("fix_forward", "P2")
    assert doc["reasons"][0] == {"rule": "partial_degradation", "text": "the service is partially degraded",
                                 "severity": "P2", "source": "rollback_stacks/prod/policy.yaml:3"}
    assert doc["policy"] == ["rollback/policy/default.yaml", "rollback_stacks/prod/policy.yaml"]
    other = cli(project(tmp_path / "other", stack="staging"), "decide", "--validation", validation(root, PARTIAL),
                "--stack", "staging")
    assert other.returncode == 3  # another stack keeps the default


def test_stack_override_threshold_and_new_rule(tmp_path):
    root = project(tmp_path, """version: 1
thresholds:
  error_rate: {value: 0.01}
critical_errors: [PAYMENTS_DOWN]
severity_rules:
  - id: slow_baseline
    description: the baseline itself is slow
    severity: P1
    before: p95
    when: [{metric: baseline_p95_ms, above: 2000}]
""")
    policy = effective("prod", root)
    assert policy.value("error_rate") == 0.01 and policy.thresholds["error_rate"].origin.endswith("policy.yaml:3")
    assert [r.id for r in policy.severity_rules].index("slow_baseline") == \
        [r.id for r in policy.severity_rules].index("p95") - 1
    result = ValidationResult.model_validate({"failure_type": "application", "failing_checks": [{"name": "a"}],
                                              "metrics": {"error_rate": 0.02}})
    assert decide(result).action.value == "fix_forward"
    assert decide(result, policy=policy).action.value == "rollback"
    slow = result.model_copy(update={"metrics": result.metrics.model_copy(
        update={"error_rate": 0.0, "baseline_p95_ms": 2500})})
    assert decide(slow, policy=policy).reasons[0].rule == "slow_baseline"
    assert decide(ValidationResult(critical_errors=["AUTH_SERVICE_DOWN"]), policy=policy).severity is None


def test_rollback_thresholds_setting_layers_onto_the_stack_policy(tmp_path):
    root = project(tmp_path, "version: 1\nthresholds:\n  p95_ms: {value: 800}\n")
    (root / "Pulumi.prod.yaml").write_text("config:\n  rollback:thresholds:\n    errorRate: 0.02\n")
    policy = effective("prod", root)
    assert (policy.value("p95_ms"), policy.value("error_rate")) == (800, 0.02)
    assert policy.thresholds["error_rate"].origin == "Pulumi.prod.yaml rollback:thresholds"
    assert policy.sources[-1] == "Pulumi.prod.yaml rollback:thresholds"


def test_explain_prints_every_rule_matched_or_not_and_why(tmp_path):
    root = project(tmp_path)
    doc = {"failure_type": "application", "failing_checks": [{"name": "api"}],
           "metrics": {"error_rate": 0.12, "p95_ms": 3400}, "critical_errors": ["SOMETHING"]}
    proc = cli(root, "decide", "--validation", validation(root, doc), "--stack", "prod", "--explain")
    assert proc.returncode == 3, proc.stderr
    out = proc.stdout
    for rule in default().severity_rules + default().action_rules:
        assert f"] {rule.id} (" in out, rule.id
    assert re.search(r"\[x\] error_rate_high \(P1\): .* — matches  \[rollback/policy/default\.yaml:\d+\]", out)
    assert "yes: error rate 12 % > 10 % (high_error_rate)" in out
    assert re.search(r"\[ \] error_rate \(P1\): .* — no match", out)
    assert "no : rule error_rate_high matched" in out  # why the 5 % rule did not count
    assert "yes: p95 response time 3400 ms > 3000 ms (p95_ms)" in out
    assert "no : availability: no value" in out
    assert "no : no critical error seen (seen, not critical: SOMETHING)" in out
    assert re.search(r"\[x\] rollback_error_rate \(rollback\): .* — DECIDES", out)
    assert "thresholds_exceeded (rollback): " in out and "matches, but rollback_error_rate decided first" in out
    assert "  high_error_rate = 10 %  [rollback/policy/default.yaml:" in out
    assert out.rstrip().splitlines()[-1] == "policy: rollback/policy/default.yaml"
    plain = cli(root, "decide", "--validation", validation(root, doc), "--stack", "prod")
    assert "DECIDES" not in plain.stdout and plain.stdout in out  # --explain adds, the decision stays the same
    as_json = json.loads(cli(root, "decide", "--validation", validation(root, doc), "--explain", "--format",
                             "json").stdout)
    decided = [t["rule"] for t in as_json["explain"] if t["decided"]]
    assert decided == ["rollback_error_rate"]


def test_decision_text_cites_rule_description_and_file(tmp_path):
    root = project(tmp_path)
    proc = cli(root, "decide", "--validation", validation(root, {"signals": {"data_corruption": True}}))
    assert proc.returncode == 3
    assert re.search(r"  - data corruption or loss detected \[P0\] \(rule data_corruption, "
                     r"rollback/policy/default\.yaml:\d+\)", proc.stdout)
    assert "note: stop all writes first" in proc.stdout and "seed" not in proc.stdout


def test_policy_validate_and_show(tmp_path):
    root = project(tmp_path, "version: 1\nseverity_rules:\n  - id: partial_degradation\n    severity: P2\n")
    ok = cli(root, "policy", "validate", "prod")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("policy of stack prod is valid: 19 severity rules, 15 action rules")
    shown = cli(root, "policy", "show", "prod")
    assert shown.returncode == 0, shown.stderr
    assert "  # rollback_stacks/prod/policy.yaml:3\n  - id: partial_degradation\n" in shown.stdout
    doc = yaml.safe_load(shown.stdout)
    assert next(r for r in doc["severity_rules"] if r["id"] == "partial_degradation")["severity"] == "P2"
    again = tmp_path / "effective.yaml"  # the output is itself a complete policy document, equal in effect
    again.write_text(shown.stdout)
    reread = read(again, "effective.yaml")
    assert reread.parsed.model_dump() == read(again, "x").parsed.model_dump()
    from rollback.policy.show import document

    assert document(merge([reread])) | {"description": ""} == document(effective("prod", root)) | {"description": ""}
    as_json = json.loads(cli(root, "policy", "show", "prod", "--format", "json").stdout)
    assert as_json["origins"]["severity_rules.partial_degradation"] == "rollback_stacks/prod/policy.yaml:3"
    assert cli(root, "policy", "show").returncode == 0  # the default alone
    unknown = cli(root, "policy", "validate", "nope")
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: unknown stack 'nope'")
    file = cli(root, "policy", "validate", "--file", str(again))
    assert file.returncode == 0, file.stderr


HOSTILE = [
    ("", ":1: (document): got an empty file"),
    ("a: &a [1, 2]\nb: *a\n", ":1: got an anchor or alias"),
    ("x: &x [&y [1], *y]\n" * 3, "anchor or alias"),
    ("!!python/object/apply:os.system [echo hi]\n", "tag:yaml.org,2002:python/object/apply:os.system"),
    ("version: 1\nversion: 1\n", ":2: got key 'version' given twice"),
    ("- 1\n- 2\n", ":1: (document): got list"),
    ("version: 2\n", ":1: version: got 2; expected 1"),
    ("version: 1\nbogus: true\n", ":2: bogus: got an unknown field"),
    ("version: 1\nthresholds:\n  error_rate: {value: high}\n", ":3: thresholds.error_rate.value"),
    ("version: 1\nthresholds:\n  error_rate: {value: 1e999}\n", "expected a finite number"),
    ("version: 1\nthresholds:\n  error_rate: {value: " + "9" * 400 + "}\n", ":3: thresholds.error_rate.value"),
    ("version: 1\nthresholds:\n  error_rate: {value: 5}\n", ":3: thresholds.error_rate.value: got 5; expected a "
     "number from 0 to 1 (fraction)"),
    ("version: 1\nthresholds:\n  new_one: {value: 5}\n", ":3: thresholds.new_one: got nothing; expected unit, "
     "description for a new threshold"),
    ("version: 1\nseverity_rules:\n  - {id: x, description: a, severity: P1, when: [{signal: nope}]}\n"
     "  - {id: x, description: b, severity: P2, when: [{signal: service_down}]}\n", ":3: severity_rules.0.when.0."
     "signal: got 'nope'"),
    ("version: 1\nseverity_rules:\n  - {id: x, description: a, severity: P1, when: [{signal: service_down}]}\n"
     "  - {id: x, description: b, severity: P2, when: [{signal: service_down}]}\n", ":4: severity_rules[1].id: got x;"
     " expected an id used once"),
    ("version: 1\nseverity_rules:\n  - id: x\n    severity: P1\n", ":3: rule x: got nothing; expected "
     "description, when (a new rule needs all of them)"),
    ("version: 1\nseverity_rules:\n  - id: x\n    description: a\n    severity: P1\n"
     "    when: [{metric: error_rate, above: p95_ms}]\n", ":6: severity_rules.x.when[0].above: got p95_ms (ms); "
     "expected a threshold in fraction"),
    ("version: 1\naction_rules:\n  - id: y\n    description: a\n    action: rollback\n"
     "    when: [{matched: [no_such_rule]}]\n", ":6: action_rules.y.when[0].matched: got no_such_rule"),
    ("version: 1\nseverity_rules:\n  - id: x\n    description: a\n    severity: P1\n"
     "    when: [{metric: error_rate, above: 5%}]\n", ":6: severity_rules.0.when.0: got"),
    ("version: 1\nseverity_rules:\n  - {id: service_down, enabled: false}\n  - {id: gone, enabled: false}\n",
     ":4: severity_rules.gone: got no such rule"),
    ("version: 1\ndescription: \"two\\nlines\"\n", ":2: description"),
    ("version: 1\n\tbad: tab\n", "tab"),
    (b"version: 1\n\xff\xfe\n", "expected UTF-8 text"),
    ("version: 1\nnotes: {explode: x}\n", ":2: notes.explode"),
    ("version: 1\nx: " + "[" * 100 + "]" * 100 + "\n", "got nesting too deep"),
]


@pytest.mark.parametrize(("content", "expected"), HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_hostile_policy_documents_are_refused_with_file_and_line(tmp_path, content, expected):
    root = project(tmp_path, content)
    for args in (("policy", "validate", "prod"), ("decide", "--validation", validation(root, PARTIAL), "--stack",
                                                 "prod")):
        proc = cli(root, *args)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr and not proc.stdout
        first = proc.stderr.splitlines()[0]
        assert first.startswith(("error: rollback_stacks/prod/policy.yaml", "error: 2 problems:")), proc.stderr
        assert expected in proc.stderr, proc.stderr
        assert "fix: " in proc.stderr


def test_a_huge_policy_file_is_refused_before_reading(tmp_path):
    root = project(tmp_path, "version: 1\n" + "#" * (2 * 1024 * 1024))
    proc = cli(root, "policy", "validate", "prod")
    assert proc.returncode == 1 and "expected a file of at most 1048576 bytes" in proc.stderr


def test_a_symlinked_policy_file_is_refused(tmp_path):
    root = project(tmp_path)
    (root / "rollback_stacks/prod/policy.yaml").symlink_to("/dev/zero")
    proc = cli(root, "policy", "validate", "prod")
    assert proc.returncode == 1 and "expected a regular file" in proc.stderr


def test_a_stack_name_cannot_reach_outside_the_stacks(tmp_path):
    root = project(tmp_path, "version: 1\nbogus: 1\n")
    doc = {**PARTIAL, "stack": "../rollback_stacks/prod"}
    proc = cli(root, "decide", "--validation", validation(root, doc))
    assert proc.returncode == 3, proc.stderr  # no such stack: the default policy


def test_no_seed_numbers_in_the_product():
    found = subprocess.run(["grep", "-rni", "seed 0", "components", "rollback", "rollback_stacks", "--include=*.py"],
                           cwd=REPO, capture_output=True, text=True)
    assert found.returncode == 1 and not found.stdout, found.stdout
    text = DEFAULT_FILE.read_text().lower()
    assert "seed" not in text
