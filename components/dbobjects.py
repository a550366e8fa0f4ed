"""DatabaseObjects: the target's function bodies and trigger states, after the schema is at the target."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_postgresql as postgresql

from components.base import TYPE_PREFIX, child_opts, component_deps
from components.function_sql import parse_function
from components.lock_settings import LockSettings
from components.providers.dbobjects import DbFunctions, TriggerStates

VARIANTS = ("dynamic", "postgresql")


@dataclass(frozen=True)
class DatabaseObjectsArgs:
    """functions: name -> {file, sha256, sql}; triggers: name -> {table, enabled}.

    variant "dynamic" (default) runs each file's exact SQL in one transaction; "postgresql" declares
    pulumi_postgresql.Function resources (needs the postgresql provider plugin; it cannot express
    `SET search_path` clauses, one reason the dynamic variant is the default).
    """

    functions: dict[str, dict[str, str]] = field(default_factory=dict)
    triggers: dict[str, dict[str, Any]] = field(default_factory=dict)
    variant: str = "dynamic"
    database: str | None = None
    locks: LockSettings = field(default_factory=LockSettings)
    frozen_by: pulumi.Input[str] | None = None


class DatabaseObjects(pulumi.ComponentResource):
    """Function bodies first, then trigger states (a trigger may call a function)."""

    def __init__(self, name: str, args: DatabaseObjectsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}DatabaseObjects", name, None, opts)
        if args.variant not in VARIANTS:
            raise ValueError(f"dbobjects variant {args.variant!r} is not one of {', '.join(VARIANTS)}")
        deps = component_deps(opts)
        self.function_steps: list[pulumi.Resource] = []
        if args.functions and args.variant == "dynamic":
            self.function_steps = [DbFunctions(f"{name}-functions", {"functions": args.functions,
                                                                     "locks": args.locks.props(),
                                                                     "jobs_frozen_by": args.frozen_by},
                                               child_opts(self, deps))]
        elif args.functions:
            self.function_steps = [self._pg_function(name, fn_name, fn, args.database, deps)
                                   for fn_name, fn in sorted(args.functions.items())]
        self.trigger_steps: list[pulumi.Resource] = []
        if args.triggers:
            self.trigger_steps = [TriggerStates(f"{name}-triggers", {"triggers": args.triggers,
                                                                     "locks": args.locks.props(),
                                                                     "jobs_frozen_by": args.frozen_by},
                                                child_opts(self, [*deps, *self.function_steps]))]
        self.register_outputs({"functions": sorted(args.functions), "triggers": sorted(args.triggers)})

    def _pg_function(self, name: str, fn_name: str, fn: dict[str, str], database: str | None,
                     deps: list[pulumi.Resource]) -> pulumi.Resource:
        spec = parse_function(fn["sql"])
        args = [postgresql.FunctionArgArgs(type=a["type"], name=a.get("name"), mode=a.get("mode"),
                                           default=a.get("default")) for a in spec.args]
        return postgresql.Function(f"{name}-{fn_name}", name=spec.name, schema=spec.schema, args=args,
                                   returns=spec.returns, language=spec.language, body=spec.body,
                                   security_definer=spec.security_definer, strict=spec.strict,
                                   volatility=spec.volatility, database=database, opts=child_opts(self, deps))
