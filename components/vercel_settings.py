"""The stack's Vercel project (`rollback:vercel` in Pulumi.<stack>.yaml): team scope, project, production domains."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

VARIANTS = ("dynamic", "vercel")
FIELDS = ("projectId", "teamId", "aliasVariant", "productionDomains")
TEAM_ID = re.compile(r"^team_[A-Za-z0-9]{1,64}$")
PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")


class VercelSettingError(ValueError):
    """rollback:vercel is malformed: the message names the file, the field and the fix."""


@dataclass(frozen=True)
class VercelSettings:
    """Where the app lives on Vercel; production domains move by Instant Rollback / promote, never in place."""

    project_id: str | None = None
    team_id: str | None = None  # not a secret (the token, VERCEL_TOKEN, is); None: the token's personal account
    alias_variant: str = "dynamic"  # non-production aliases: our provider or pulumiverse_vercel's Alias
    production_domains: tuple[str, ...] = ()


def parse(raw: Any, *, stack: str) -> VercelSettings:
    """Validate rollback:vercel; absent, every alias domain moves in place in the token's own scope."""
    where = f"Pulumi.{stack}.yaml: rollback:vercel"
    if raw is None:
        return VercelSettings()
    if not isinstance(raw, dict):
        raise VercelSettingError(f"{where} must be a mapping, e.g. {{projectId: prj_…, teamId: team_…, "
                                 "productionDomains: [www.example.com]}} (README: Vercel)")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise VercelSettingError(f"{where}: unknown field(s) {', '.join(map(str, unknown))} "
                                 f"(its fields: {', '.join(FIELDS)})")
    project, team = raw.get("projectId"), raw.get("teamId")
    if project is not None and not (isinstance(project, str) and PROJECT.match(project)):
        raise VercelSettingError(f"{where}.projectId must be the project's id (prj_…) or name, not {project!r}")
    if team is not None and not (isinstance(team, str) and TEAM_ID.match(team)):
        raise VercelSettingError(f"{where}.teamId must be the team's id (team_…, in the team's Settings → General), "
                                 f"not {team!r}: a slug is not accepted; leave it out for a personal account")
    variant = raw.get("aliasVariant", "dynamic")
    if variant not in VARIANTS:
        raise VercelSettingError(f"{where}.aliasVariant {variant!r} is not one of {', '.join(VARIANTS)}")
    domains = raw.get("productionDomains", [])
    if not isinstance(domains, list) or not all(isinstance(d, str) and DOMAIN.match(d) for d in domains):
        raise VercelSettingError(f"{where}.productionDomains must be a list of domain names, e.g. "
                                 "[www.example.com, example.com]")
    if len(set(domains)) != len(domains):
        raise VercelSettingError(f"{where}.productionDomains names a domain twice")
    if domains and not project:
        raise VercelSettingError(f"{where}: productionDomains need projectId, the project whose production "
                                 "deployment is rolled back and promoted")
    return VercelSettings(project_id=project, team_id=team, alias_variant=variant, production_domains=tuple(domains))
