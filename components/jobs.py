"""JobControl: the freeze step (first) and the release step (last) of a rollout, for the backends of jobs_settings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
import pulumi_aws as aws
import pulumiverse_vercel as vercel

from components.base import TYPE_PREFIX, child_opts, component_deps
from components.jobs_settings import JobsSettings
from components.lock_settings import LockSettings
from components.providers.jobs import JobFreeze, JobRelease
from components.retry_settings import RetrySettings

MARKER_BACKENDS = ("ssm", "vercel-env")  # provider-backed: workers read the markers


@dataclass(frozen=True)
class JobControlArgs:
    """How jobs are frozen and released, and the flag values the release step sets.

    Provider-backed backends (ssm, vercel-env) keep two markers: workers run only while `rollout` == `released`.
    """

    settings: JobsSettings
    rollout_id: str
    flags: dict[str, Any] = field(default_factory=dict)
    ssm_prefix: str = "/rollback"
    vercel_project_id: str | None = None
    vercel_team_id: str | None = None
    locks: LockSettings = field(default_factory=LockSettings)
    retries: RetrySettings = field(default_factory=RetrySettings)  # the stack's rollback:retries (http backend)


class JobControl(pulumi.ComponentResource):
    """Freezes jobs on construction; `release_after(steps)` declares the release step after the given steps."""

    frozen_by: pulumi.Output[str]
    jobs_frozen: pulumi.Output[bool]

    def __init__(self, name: str, args: JobControlArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}JobControl", name, None, opts)
        self._name, self.args = name, args
        self.backend = args.settings.backend
        self.release_steps: list[pulumi.Resource] = []
        deps = component_deps(opts)
        freeze: pulumi.Resource
        if self.backend not in MARKER_BACKENDS:
            job_freeze = JobFreeze(f"{name}-freeze", {"rollout_id": args.rollout_id, "queue": args.settings.props(),
                                   "locks": args.locks.props(), "retry_budget": args.retries.props()},
                                   child_opts(self, deps))
            self.frozen_by, freeze = job_freeze.freeze_token, job_freeze
        elif self.backend == "ssm":
            parameter = aws.ssm.Parameter(f"{name}-freeze", name=f"{args.ssm_prefix}/jobs/rollout", type="String",
                                          value=args.rollout_id, overwrite=True, opts=child_opts(self, deps))
            self.frozen_by, freeze = parameter.value, parameter
        else:
            variable = vercel.ProjectEnvironmentVariable(
                f"{name}-freeze", project_id=self._project(), team_id=args.vercel_team_id, key="ROLLBACK_ROLLOUT",
                value=args.rollout_id, targets=["production"], sensitive=False, opts=child_opts(self, deps))
            # The SDK types value as optional (it may be write-only); it is set to the rollout id just above.
            self.frozen_by, freeze = cast("pulumi.Output[str]", variable.value), variable
        self.freeze_step = freeze

    def _project(self) -> str:
        if not self.args.vercel_project_id:
            raise ValueError("the vercel-env jobs backend needs the app's Vercel project id")
        return self.args.vercel_project_id

    def release_after(self, steps: Sequence[pulumi.Resource]) -> list[pulumi.Resource]:
        """Declare the release step(s) depending on `steps` (plus the freeze), then register outputs."""
        args, name, after = self.args, self._name, [self.freeze_step, *steps]
        if self.backend not in MARKER_BACKENDS:
            release = JobRelease(f"{name}-release", {"rollout_id": args.rollout_id, "queue": args.settings.props(),
                                                     "flags": args.flags, "locks": args.locks.props(),
                                                     "retry_budget": args.retries.props(),
                                                     "jobs_frozen_by": self.frozen_by},
                                 child_opts(self, after))
            self.release_steps = [release]
            self.jobs_frozen = release.frozen
        else:
            self.release_steps = self._marker_release(after)
            # _marker_release ends with the `released` marker: an ssm Parameter or a vercel environment variable.
            marker = cast("aws.ssm.Parameter | vercel.ProjectEnvironmentVariable", self.release_steps[-1])
            self.jobs_frozen = pulumi.Output.all(self.frozen_by, marker.value).apply(
                lambda v: v[0] != v[1])
        self.register_outputs({"frozen_by": self.frozen_by, "jobs_frozen": self.jobs_frozen})
        return self.release_steps

    def _marker_release(self, after: list[pulumi.Resource]) -> list[pulumi.Resource]:
        """ssm / vercel-env: one value per flag, then the `released` marker last."""
        args, name = self.args, self._name
        flags: list[pulumi.Resource] = []
        for flag, value in sorted(args.flags.items()):
            text = json.dumps(value)
            if self.backend == "ssm":
                flags.append(aws.ssm.Parameter(f"{name}-flag-{flag}", name=f"{args.ssm_prefix}/flags/{flag}",
                                               type="String", value=text, overwrite=True,
                                               opts=child_opts(self, after)))
            else:
                flags.append(vercel.ProjectEnvironmentVariable(
                    f"{name}-flag-{flag}", project_id=self._project(), team_id=args.vercel_team_id,
                    key=f"FLAG_{flag.upper()}", value=text, targets=["production"], sensitive=False,
                    opts=child_opts(self, after)))
        if self.backend == "ssm":
            marker: pulumi.Resource = aws.ssm.Parameter(
                f"{name}-release", name=f"{args.ssm_prefix}/jobs/released", type="String", value=args.rollout_id,
                overwrite=True, opts=child_opts(self, [*after, *flags]))
        else:
            marker = vercel.ProjectEnvironmentVariable(
                f"{name}-release", project_id=self._project(), team_id=args.vercel_team_id, key="ROLLBACK_RELEASED",
                value=args.rollout_id, targets=["production"], sensitive=False,
                opts=child_opts(self, [*after, *flags]))
        return [*flags, marker]
