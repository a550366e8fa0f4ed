"""rollback:vercel: validated with the file, the field and the fix; reachable from Pulumi.<stack>.yaml."""

from __future__ import annotations

import pytest

from components.vercel_settings import VercelSettingError, VercelSettings, parse
from rollback.errors import RollbackError
from rollback.stacks import release_config
from rollback_stacks import load


def test_absent_means_every_domain_moves_in_place_in_the_personal_scope():
    assert parse(None, stack="prod") == VercelSettings()


def test_a_team_project_with_production_domains():
    got = parse({"projectId": "prj_abc123", "teamId": "team_nLlpyC6RE1qx", "aliasVariant": "vercel",
                 "productionDomains": ["www.example.com", "example.com"]}, stack="prod")
    assert got == VercelSettings(project_id="prj_abc123", team_id="team_nLlpyC6RE1qx", alias_variant="vercel",
                                 production_domains=("www.example.com", "example.com"))


@pytest.mark.parametrize(("raw", "message"), [
    ("prj_1", r"rollback:vercel must be a mapping"),
    ({"team": "team_1"}, r"rollback:vercel: unknown field\(s\) team \(its fields: projectId, teamId"),
    ({"teamId": "my-team"}, r"rollback:vercel.teamId must be the team's id \(team_….*a slug is not accepted"),
    ({"projectId": "a b"}, r"rollback:vercel.projectId must be the project's id"),
    ({"aliasVariant": "terraform"}, r"rollback:vercel.aliasVariant 'terraform' is not one of dynamic, vercel"),
    ({"projectId": "p", "productionDomains": "www.example.com"},
     r"rollback:vercel.productionDomains must be a list of domain"),
    ({"projectId": "p", "productionDomains": ["a.example.com", "a.example.com"]},
     r"rollback:vercel.productionDomains names a domain twice"),
    ({"productionDomains": ["www.example.com"]}, r"rollback:vercel: productionDomains need projectId"),
])
def test_malformed_settings_name_the_file_the_field_and_the_fix(raw, message):
    with pytest.raises(VercelSettingError, match=r"^Pulumi\.prod\.yaml: " + message):
        parse(raw, stack="prod")


def test_refused_before_the_engine_runs():
    with pytest.raises(RollbackError, match=r"^Pulumi\.local\.yaml: rollback:vercel.teamId must be"):
        release_config(load("local"), overrides={"vercel": {"teamId": "acme"}})
    config = release_config(load("local"), overrides={"vercel": {"projectId": "prj_1", "teamId": "team_1"}})
    assert config["rollback:vercel"] == '{"projectId": "prj_1", "teamId": "team_1"}'
