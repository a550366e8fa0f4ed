"""DeploymentAlias: points each alias domain at the target deployment: in place (one assign call), or for the
project's production domains through Vercel's Instant Rollback / promote, so a later production deployment cannot
undo a rollback.

Rolling back or forward (production domains): a target version lower than the deployed one (rollback:deployed,
which `rollback plan` and `apply` pass) is a rollback: Instant Rollback, after which the project stays rolled back
(new production deployments do not take the domains). Any other target rolls forward with promote, which assigns
the domains and turns auto-assignment back on. With no deployed version known (`via: production`), the step
compares with the version it last applied the same way; on its first apply it promotes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumiverse_vercel as vercel

from components.base import TYPE_PREFIX, child_opts, component_deps
from components.providers.alias import AliasAssignment, MaintenanceAssignment
from components.retry_settings import RetrySettings
from components.vercel_settings import VARIANTS


@dataclass(frozen=True)
class DeploymentAliasArgs:
    """Alias domains, the deployment they must point at, and which implementation moves them."""

    domains: list[str]
    deployment_id: str
    variant: str = "dynamic"
    team_id: str | None = None
    frozen_by: pulumi.Input[str] | None = None
    after_maintenance: pulumi.Input[str] | None = None  # a window's token: move back even when the id is unchanged
    production_domains: Sequence[str] = ()  # the project's: rolled back / promoted, never moved in place
    project_id: str | None = None
    production_via: str = "production"  # rollback | promote | production (decided by the step, see above)
    version: int | None = None  # the target version (the step's own rollback-or-forward fallback)
    retries: RetrySettings = RetrySettings()  # the stack's rollback:retries


def vercel_alias_options(parent: pulumi.Resource, deps: list[pulumi.Resource]) -> pulumi.ResourceOptions:
    """Options that turn the bridged vercel.Alias's forced replace into one in-place move.

    The Terraform-bridged Alias marks deployment_id as requires-replace. Delete-before-replace would leave
    the domain without an alias; plain create-before-delete would assign the alias to the new deployment
    (Vercel moves it in place: the one call we want) and then delete the *old* resource, whose delete is
    DELETE /v2/aliases/<domain> - removing the alias it just moved. So: create-before-delete
    (delete_before_replace=False) plus retain_on_delete=True, which makes the engine drop the replaced
    resource from state without calling delete. The only API call of a move is the assign.
    """
    return child_opts(parent, deps, delete_before_replace=False, retain_on_delete=True)


class DeploymentAlias(pulumi.ComponentResource):
    """One alias step per domain; a new deployment id is an in-place update, never a delete."""

    deployment_id: pulumi.Output[str]

    def __init__(self, name: str, args: DeploymentAliasArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}DeploymentAlias", name, None, opts)
        if args.variant not in VARIANTS:
            raise ValueError(f"alias variant {args.variant!r} is not one of {', '.join(VARIANTS)}")
        deps = component_deps(opts)
        self.steps: list[pulumi.Resource] = []
        production: pulumi.Resource | None = None
        scope = {"team_id": args.team_id} if args.team_id else {}
        for domain in args.domains:
            common = {"alias": domain, "deployment_id": args.deployment_id, "jobs_frozen_by": args.frozen_by,
                      "after_maintenance": args.after_maintenance, "retry_budget": args.retries.props(), **scope}
            if domain in args.production_domains:  # one after the other: the first request moves them all
                step: pulumi.Resource = AliasAssignment(f"{name}-{domain}", {
                    **common, "via": args.production_via, "project_id": args.project_id, "version": args.version},
                    child_opts(self, [*deps, *([production] if production else [])]))
                production = step
            elif args.variant == "dynamic":
                step = AliasAssignment(f"{name}-{domain}", {**common, "via": "alias"}, child_opts(self, deps))
            else:
                if args.after_maintenance is not None:
                    raise ValueError("a maintenance window needs the dynamic alias variant")
                step = vercel.Alias(f"{name}-{domain}", alias=domain, deployment_id=args.deployment_id,
                                    team_id=args.team_id, opts=vercel_alias_options(self, deps))
            self.steps.append(step)
        self.deployment_id = pulumi.Output.from_input(args.deployment_id)
        self.register_outputs({"domains": args.domains, "deployment_id": self.deployment_id})


@dataclass(frozen=True)
class MaintenanceWindowArgs:
    """The maintenance deployment that serves the alias domains while the database changes, when `active`."""

    domains: list[str]
    deployment_id: str
    active: bool
    rollout_id: str
    frozen_by: pulumi.Input[str] | None = None
    team_id: str | None = None
    retries: RetrySettings = RetrySettings()  # the stack's rollback:retries


class MaintenanceWindow(pulumi.ComponentResource):
    """Points the domains at the maintenance deployment when active; the alias step moves them back after."""

    opened: pulumi.Output[str]

    def __init__(self, name: str, args: MaintenanceWindowArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}MaintenanceWindow", name, None, opts)
        deps = component_deps(opts)
        self.steps = [MaintenanceAssignment(f"{name}-{domain}", {
            "alias": domain, "deployment_id": args.deployment_id, "active": args.active,
            "rollout_id": args.rollout_id, "jobs_frozen_by": args.frozen_by, "retry_budget": args.retries.props(),
            **({"team_id": args.team_id} if args.team_id else {})}, child_opts(self, deps))
            for domain in args.domains]
        self.opened = pulumi.Output.all(*[s.opened for s in self.steps]).apply(
            lambda tokens: ",".join(t for t in tokens if t))
        self.register_outputs({"domains": args.domains, "active": args.active, "opened": self.opened})
