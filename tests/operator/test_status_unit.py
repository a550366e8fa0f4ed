"""Status helpers that read the checkpoint: frozen jobs, drift, engine error summaries."""

from __future__ import annotations

import pytest

from rollback.command import jobs_frozen
from rollback.engine import summarize_engine_error

FREEZE = "pulumi-python:dynamic/rollback:JobFreeze"
RELEASE = "pulumi-python:dynamic/rollback:JobRelease"


@pytest.mark.parametrize("resources,expected", [
    ([], None),
    ([{"type": FREEZE, "outputs": {"freeze_token": "a"}}], True),
    ([{"type": FREEZE, "outputs": {"freeze_token": "a"}}, {"type": RELEASE, "outputs": {"jobs_frozen_by": "a"}}],
     False),
    ([{"type": FREEZE, "outputs": {"freeze_token": "b"}}, {"type": RELEASE, "outputs": {"jobs_frozen_by": "a"}}],
     True),
])
def test_jobs_frozen_compares_freeze_and_release_tokens(resources, expected):
    assert jobs_frozen(resources) is expected


def test_engine_error_summary_keeps_the_provider_message_only():
    text = ("\n code: 255\n stdout: Updating (local)\nDiagnostics:\n  pulumi-python:dynamic/rollback:HealthGate:\n"
            "    error: Exception calling application: health gate failed: metric check 'error_rate': 0.2 is above"
            " the maximum 0.05\n  pulumi:pulumi:Stack (rollback-as-code-local):\n    error: update failed\n")
    assert summarize_engine_error(text) == ("health gate failed: metric check 'error_rate': 0.2 is above the "
                                            "maximum 0.05")


def test_engine_error_summary_of_a_program_exception():
    text = ("Diagnostics:\n  pulumi:pulumi:Stack (x):\n    error: Program failed with an unhandled exception:\n"
            "    Traceback (most recent call last):\n      File \"p.py\", line 1\n"
            "    ValueError: partial rollout refused: schema 1\n")
    assert summarize_engine_error(text) == "partial rollout refused: schema 1"


def test_engine_error_summary_of_a_cli_failure_drops_the_stream_labels():
    text = "\n code: 255\n stdout: \n stderr: error: could not validate 'Pulumi.yaml': expected project\n"
    assert summarize_engine_error(text) == "could not validate 'Pulumi.yaml': expected project"


def test_engine_error_summary_of_a_torn_checkpoint_says_how_it_is_repaired():
    text = "\n code: 255\n stdout: \n stderr: error: failed to load checkpoint: EOF\n"
    assert summarize_engine_error(text).startswith("failed to load checkpoint: EOF (an update killed while writing")
    assert "the next `rollback apply` removes it" in summarize_engine_error(text)
