"""rollback:* settings: what YAML writes and what `pulumi config set` stores read alike; unusable values refused."""

from __future__ import annotations

import pytest

from rollback_stacks import settings


def test_strings_as_pulumi_config_stores_them_read_as_typed_values() -> None:
    got = settings.parse({"retain": "20", "allowDataLoss": "true", "components": '["jobs","schema"]',
                          "allowedDomains": "a.test,b.test", "healthBudgetSeconds": "90",
                          "locks": '{"timeout": "2s"}', "target": "v1.4.2"}, stack="prod")
    assert got == {"retain": 20, "allowDataLoss": True, "components": ["jobs", "schema"],
                   "allowedDomains": ["a.test", "b.test"], "healthBudgetSeconds": 90.0,
                   "locks": {"timeout": "2s"}, "target": "v1.4.2"}


def test_yaml_values_read_the_same() -> None:
    assert settings.parse({"retain": 20, "allowDataLoss": False, "components": ["jobs"]}, stack="prod") == {
        "retain": 20, "allowDataLoss": False, "components": ["jobs"]}


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("retain", "twenty", "a whole number ≥ 1"),
    ("retain", 0, "a whole number ≥ 1"),
    ("allowDataLoss", "yes", "true or false"),
    ("components", '["jobs",', "a list of component names"),
    ("healthBudgetSeconds", "-1", "a number of seconds > 0"),
    ("snapshotDestination", "ftp", "s3 or dir:/path"),
    ("snapshot", "dump", "full, kept or storage"),
    ("locks", "2s", "a mapping"),
    ("dataLoss", '{"dynamicSql": "sometimes"}', "a mapping {dynamicSql: refuse or allow}"),
    ("dataLoss", {"dynamicSQL": "allow"}, "a mapping {dynamicSql: refuse or allow}"),
])
def test_an_unusable_value_is_refused_naming_file_key_and_fix(key: str, value: object, expected: str) -> None:
    with pytest.raises(settings.SettingError) as err:
        settings.parse({key: value}, stack="prod")
    text = str(err.value)
    assert text.startswith(f"Pulumi.prod.yaml: rollback:{key}: got ")
    assert expected in text and "fix: pulumi config set --stack prod" in text


def test_rollback_snapshot_reads_each_mode() -> None:
    assert [settings.parse({"snapshot": m}, stack="prod")["snapshot"] for m in ("full", "kept", "storage")] == [
        "full", "kept", "storage"]


def test_the_data_loss_policy_reads_as_yaml_and_as_pulumi_config_set_stores_it() -> None:
    assert settings.parse({"dataLoss": {"dynamicSql": "allow"}}, stack="prod") == {"dataLoss": {"dynamicSql": "allow"}}
    assert settings.parse({"dataLoss": '{"dynamicSql": "refuse"}'}, stack="prod") == {
        "dataLoss": {"dynamicSql": "refuse"}}


def test_an_unknown_key_is_refused_with_the_nearest_known_one() -> None:
    with pytest.raises(settings.SettingError, match=r"rollback:retian: got an unknown key; .*did you mean "
                                                    r"rollback:retain\?"):
        settings.parse({"retian": 20}, stack="prod")


def test_config_values_round_trip_through_parse() -> None:
    typed = {"retain": 20, "components": ["jobs"], "allowDataLoss": True, "locks": {"timeout": "2s"}, "target": "3"}
    strings = settings.config_values(typed)
    assert all(isinstance(v, str) for v in strings.values())
    assert settings.parse({k.split(":", 1)[1]: v for k, v in strings.items()}, stack="s") == typed
