"""Secret redaction: env secrets, URL passwords, explicit values, nested data."""

from __future__ import annotations

from rollback.redact import Redactor, redact, secrets_from_env, url_password


def test_url_userinfo_password_is_masked_even_when_unknown():
    r = Redactor(env={})
    assert r.text("dsn=postgresql://app:pw123@db:5432/x ok") == "dsn=postgresql://app:***@db:5432/x ok"
    assert r.text("s3://bucket/key and https://host/path") == "s3://bucket/key and https://host/path"


def test_env_secrets_known_names_suffixes_and_url_passwords():
    env = {"DATABASE_URL": "postgresql://u:p%40ss-word@h/db", "VERCEL_TOKEN": "tok-123", "HOME": "/root",
           "MY_API_TOKEN": "abc-999", "SMTP_PASSWORD": "mailpw", "AWS_ACCESS_KEY_ID": "AKIA1"}
    assert secrets_from_env(env) == {"p@ss-word", "tok-123", "abc-999", "mailpw", "AKIA1"}
    r = Redactor(env=env)
    text = "p@ss-word p%40ss-word tok-123 abc-999 mailpw AKIA1 /root"
    assert r.text(text) == "*** *** *** *** *** *** /root"


def test_explicit_secrets_and_nested_data():
    r = Redactor(["hunter22"], env={})
    r.add("late-secret")
    data = {"a": ["x hunter22 y", {"hunter22": 1, "b": "late-secret"}], "n": 3, "ok": True}
    assert r.data(data) == {"a": ["x *** y", {"***": 1, "b": "***"}], "n": 3, "ok": True}
    assert redact("value hunter22", ["hunter22"]) == "value ***"


def test_longest_secret_first_and_tiny_values_ignored():
    r = Redactor(["abcdef", "abc", "x"], env={})
    assert r.text("abcdefg abc x") == "***g *** x"


def test_url_password_helper():
    assert url_password("postgresql://u:p%21w@h/db") == "p!w"
    assert url_password("postgresql://u@h/db") is None
    assert url_password("not a url") is None
