"""Every rollback:* setting written with the real `pulumi config set` (not a hand-edited file) takes effect, read
alike by our verbs (the file) and by the program (the values the engine hands it); an unusable value is refused
naming the key, and setting one key leaves the others as they were."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from components import jobs_settings, lock_settings, retry_settings, vercel_settings
from rollback.decide import Thresholds
from rollback.engine import REPO_ROOT
from rollback.stacks import stack_settings
from rollback_stacks import settings, watch_settings

STACK = "local"

# setting → the `pulumi config set` argument lists that write it, and the typed value both readings must give
CASES: dict[str, tuple[list[list[str]], Any]] = {
    "target": ([["rollback:target", "v1.4.2"]], "v1.4.2"),
    "components": ([["--path", "rollback:components[0]", "schema"], ["--path", "rollback:components[1]", "alias"]],
                   ["schema", "alias"]),
    "allowDataLoss": ([["rollback:allowDataLoss", "true"]], True),
    "dataLoss": ([["--path", "rollback:dataLoss.dynamicSql", "allow"]], {"dynamicSql": "allow"}),
    "allowedDomains": ([["--path", "rollback:allowedDomains[0]", "shop.example.org"]], ["shop.example.org"]),
    "retain": ([["rollback:retain", "20"]], 20),
    "migrationsDir": ([["rollback:migrationsDir", "db/migrate"]], "db/migrate"),
    "migrationsFormat": ([["rollback:migrationsFormat", "prisma"]], "prisma"),
    "vercelProject": ([["rollback:vercelProject", "storefront"]], "storefront"),
    "snapshotDestination": ([["rollback:snapshotDestination", "dir:/var/backups/pg"]], "dir:/var/backups/pg"),
    "snapshot": ([["rollback:snapshot", "kept"]], "kept"),
    "rdsInstance": ([["rollback:rdsInstance", "orders-db"]], "orders-db"),
    "healthBudgetSeconds": ([["rollback:healthBudgetSeconds", "90.5"]], 90.5),
    "maintenanceDeployment": ([["rollback:maintenanceDeployment", "dpl_down4maint"]], "dpl_down4maint"),
    "jobs": ([["--path", "rollback:jobs.backend", "sql"], ["--path", "rollback:jobs.pause", "UPDATE q SET p = true"],
                ["--path", "rollback:jobs.resume", "UPDATE q SET p = false"],
                ["--path", "rollback:jobs.running", "SELECT count(*) FROM q"],
                ["--path", "rollback:jobs.drainSeconds", "0.5"]],
             {"backend": "sql", "pause": "UPDATE q SET p = true", "resume": "UPDATE q SET p = false",
              "running": "SELECT count(*) FROM q", "drainSeconds": "0.5"}),
    "vercel": ([["--path", "rollback:vercel.teamId", "team_k3x9"]], {"teamId": "team_k3x9"}),
    "locks": ([["--path", "rollback:locks.timeout", "500ms"], ["--path", "rollback:locks.budget", "45"]],
              {"timeout": "500ms", "budget": 45}),
    "retries": ([["--path", "rollback:retries.budget", "90s"]], {"budget": "90s"}),
    "thresholds": ([["--path", "rollback:thresholds.errorRate", "0.02"],
                    ["--path", "rollback:thresholds.criticalErrors[0]", "PAYMENTS_DOWN"]],
                   {"errorRate": "0.02", "criticalErrors": ["PAYMENTS_DOWN"]}),
    "deployed": ([["rollback:deployed", "3"]], 3),
    "allowCandidate": ([["rollback:allowCandidate", "false"]], False),
    "partial": ([["--path", "rollback:partial[0]", "schema"]], ["schema"]),
    "deployedPartial": ([["--path", "rollback:deployedPartial.version", "3"]], {"version": 3}),
    "maintenance": ([["rollback:maintenance", "true"]], True),
    "cancelBlockers": ([["rollback:cancelBlockers", "true"]], True),
    "watch": ([["--path", "rollback:watch.window", "2m"], ["--path", "rollback:watch.interval", "5s"],
               ["--path", "rollback:watch.requireWatched", "true"]],
              {"window": "2m", "interval": "5s", "requireWatched": True}),
}

# what each mapping's own reader makes of the CLI's strings: the step actually gets these values
NESTED = {
    "jobs": lambda raw: jobs_settings.parse(raw, stack=STACK).drain_seconds == 0.5,
    "vercel": lambda raw: vercel_settings.parse(raw, stack=STACK).team_id == "team_k3x9",
    "locks": lambda raw: lock_settings.parse(raw, stack=STACK) == lock_settings.LockSettings(timeout=0.5, budget=45),
    "thresholds": lambda raw: Thresholds.model_validate(raw).error_rate == 0.02,
    "retries": lambda raw: retry_settings.parse(raw, stack=STACK) == retry_settings.RetrySettings(budget=90),
    "watch": lambda raw: watch_settings.parse(raw, stack=STACK) == watch_settings.WatchSettings(120, 5, True),
}

REFUSED = [  # (argument list, the key the refusal names, what it expected)
    (["rollback:retain", "twenty"], "rollback:retain", "a whole number ≥ 1"),
    (["rollback:allowDataLoss", "yes"], "rollback:allowDataLoss", "true or false"),
    (["rollback:healthBudgetSeconds", "soon"], "rollback:healthBudgetSeconds", "a number of seconds > 0"),
    (["rollback:snapshotDestination", "tape"], "rollback:snapshotDestination", "s3 or dir:/path"),
    (["rollback:snapshot", "dump"], "rollback:snapshot", "full, kept or storage"),
    (["rollback:components", '["jobs",'], "rollback:components", "a list of component names"),
    (["rollback:locks", "2s"], "rollback:locks", "a mapping"),
    (["rollback:retries", "2m"], "rollback:retries", "a mapping (README: Retry budget)"),
    (["--path", "rollback:dataLoss.dynamicSql", "sometimes"], "rollback:dataLoss", "a mapping {dynamicSql: refuse"),
    (["rollback:retian", "20"], "rollback:retian", "a known rollback setting"),
    (["--path", "rollback:watch.window", "soon"], "rollback:watch.window", "a duration from 1s to 24h"),
    (["--path", "rollback:watch.interval", "0"], "rollback:watch.interval", "a duration from 0.1s to 1h"),
    (["--path", "rollback:watch.requireWatched", "maybe"], "rollback:watch.requireWatched", "true or false"),
    (["--path", "rollback:watch.windw", "15m"], "rollback:watch.windw", "one of its fields"),
]


class Project:
    """A copy of the repository's stack files with a stack in a private file:// backend, driven by the CLI."""

    def __init__(self, root: Path, engine_dir: Path) -> None:
        self.root = root
        (root / "state").mkdir()
        for name in ("Pulumi.yaml", f"Pulumi.{STACK}.yaml"):
            shutil.copy(REPO_ROOT / name, root / name)
        shutil.copytree(REPO_ROOT / "rollback_stacks" / STACK, root / "rollback_stacks" / STACK)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "ROLLBACK_"))} | {
            "PATH": f"{engine_dir}{os.pathsep}{os.environ['PATH']}", "PULUMI_BACKEND_URL": f"file://{root / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": "config-set-test", "PULUMI_SKIP_UPDATE_CHECK": "true",
            "ROLLBACK_PROJECT_DIR": str(root)}
        self.pulumi("stack", "init", STACK)

    def pulumi(self, *args: str) -> str:
        proc = subprocess.run(["pulumi", *args], cwd=self.root, env=self.env, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, f"pulumi {' '.join(args)}: {proc.stdout}{proc.stderr}"
        return proc.stdout

    def config_set(self, args: list[str]) -> None:
        self.pulumi("config", "set", "--stack", STACK, *args)

    def engine_config(self) -> dict[str, str]:
        """The rollback:* values as the engine hands them to the program: strings (objects JSON-encoded)."""
        got = json.loads(self.pulumi("config", "--json", "--stack", STACK, "--show-secrets"))
        return {k.split(":", 1)[1]: v["value"] for k, v in got.items() if k.startswith("rollback:")}

    def rollback(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from rollback.cli import main; main()", *args], cwd=self.root,
                              env=self.env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def project(tmp_path: Path, engine_dir: Path) -> Project:
    return Project(tmp_path, engine_dir)


def test_every_setting_has_a_case() -> None:
    assert set(CASES) == set(settings.SETTINGS)


@pytest.mark.parametrize("key", sorted(CASES))
def test_a_setting_written_by_pulumi_config_set_is_read_alike_by_verbs_and_program(project: Project,
                                                                                   key: str) -> None:
    before = stack_settings(STACK, project.root)
    commands, expected = CASES[key]
    if key in before:
        project.pulumi("config", "rm", "--stack", STACK, f"rollback:{key}")
    for args in commands:
        project.config_set(args)

    verbs = stack_settings(STACK, project.root)
    program = settings.parse(project.engine_config(), stack=STACK)
    assert verbs[key] == program[key] == expected
    assert {k: v for k, v in verbs.items() if k != key} == {k: v for k, v in before.items() if k != key}
    if key in NESTED:
        assert NESTED[key](verbs[key])


@pytest.mark.parametrize(("args", "key", "expected"), REFUSED)
def test_an_unusable_value_set_by_the_cli_is_refused_naming_the_key(project: Project, args: list[str], key: str,
                                                                    expected: str) -> None:
    project.config_set(args)
    for reading in (lambda: stack_settings(STACK, project.root),
                    lambda: settings.parse(project.engine_config(), stack=STACK)):
        with pytest.raises(settings.SettingError) as err:
            reading()
        assert f"Pulumi.{STACK}.yaml: {key}: got " in str(err.value) and expected in str(err.value)


def test_a_nested_value_the_step_cannot_use_is_refused_naming_the_field(project: Project) -> None:
    project.config_set(["--path", "rollback:jobs.drainSeconds", "soon"])
    with pytest.raises(jobs_settings.JobsSettingError, match=r"rollback:jobs.drainSeconds must be a number"):
        jobs_settings.parse(stack_settings(STACK, project.root)["jobs"], stack=STACK)


def test_retain_set_by_the_cli_changes_what_prune_keeps(project: Project) -> None:
    def doomed() -> str:
        proc = project.rollback("targets", "prune", STACK, "--dry-run")
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.splitlines()[0]

    assert doomed() == "would prune 0 version(s)"
    project.config_set(["rollback:retain", "1"])  # stored as the string "1"
    assert doomed() != "would prune 0 version(s)"


def test_thresholds_set_by_the_cli_change_the_decision(project: Project) -> None:
    validation = project.root / "validation.json"
    validation.write_text(json.dumps({"failure_type": "application", "failing_checks": [{"name": "api"}],
                                      "metrics": {"error_rate": 0.03}}))
    assert project.rollback("decide", "--stack", STACK, "--validation", str(validation)).returncode == 4
    project.config_set(["--path", "rollback:thresholds.errorRate", "0.02"])  # stored as the string "0.02"
    decided = project.rollback("decide", "--stack", STACK, "--validation", str(validation))
    assert decided.returncode == 3, decided.stdout + decided.stderr


def test_a_retry_budget_the_steps_cannot_use_is_refused_before_any_engine_run(project: Project) -> None:
    project.config_set(["--path", "rollback:retries.budget", "forever"])
    proc = project.rollback("plan", STACK, "--to", "v1.4.2")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "Pulumi.local.yaml: rollback:retries.budget must be a duration from 0s to 30m" in proc.stderr
    assert "pulumi config set --stack local --path rollback:retries.budget 2m" in proc.stderr
