"""Splits a `CREATE OR REPLACE FUNCTION` file into pulumi_postgresql.Function arguments."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HEADER = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+([\w.\"]+)\s*\(", re.I)
BODY = re.compile(r"\bAS\s+(\$[A-Za-z_]*\$)(.*?)\1", re.S | re.I)
COMMENTS = re.compile(r"--[^\n]*")
MODES = ("IN", "OUT", "INOUT", "VARIADIC")


@dataclass
class FunctionSpec:
    """The parts of a function definition pulumi_postgresql.Function models."""

    schema: str
    name: str
    args: list[dict[str, str]] = field(default_factory=list)
    returns: str = "void"
    language: str = "plpgsql"
    body: str = ""
    security_definer: bool = False
    strict: bool = False
    volatility: str = "VOLATILE"
    settings: list[str] = field(default_factory=list)


def _split_top(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [p.strip() for p in [*parts, cur] if p.strip()]


def _arg(text: str) -> dict[str, str]:
    default = None
    m = re.search(r"\s+(?:DEFAULT|=)\s+(.*)$", text, re.I | re.S)
    if m:
        default, text = m.group(1).strip(), text[: m.start()]
    words = text.split()
    out: dict[str, str] = {}
    if words and words[0].upper() in MODES:
        out["mode"] = words.pop(0).upper()
    if len(words) > 1:
        out["name"] = words.pop(0)
    out["type"] = " ".join(words)
    if default is not None:
        out["default"] = default
    return out


def parse_function(sql: str) -> FunctionSpec:
    """Parse one function definition; raises ValueError when the file is not a single function."""
    body_m = BODY.search(sql)
    head_m = HEADER.search(COMMENTS.sub("", sql))
    if not body_m or not head_m:
        raise ValueError("not a CREATE FUNCTION … AS $$ … $$ definition")
    text = COMMENTS.sub("", sql[: body_m.start()]) + " " + COMMENTS.sub("", sql[body_m.end():])
    head = HEADER.search(text)
    assert head is not None
    depth, i = 1, head.end()
    while depth and i < len(text):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        i += 1
    args_text, rest = text[head.end(): i - 1], text[i:]
    schema, _, name = head.group(1).replace('"', "").rpartition(".")
    spec = FunctionSpec(schema=schema or "public", name=name, args=[_arg(a) for a in _split_top(args_text)],
                        body=body_m.group(2))
    returns = re.search(r"\bRETURNS\s+(.+?)(?=\s+(?:LANGUAGE|SECURITY|SET|STRICT|IMMUTABLE|STABLE|VOLATILE|AS)\b|;|$)",
                        rest, re.I | re.S)
    spec.returns = returns.group(1).strip() if returns else "void"
    lang = re.search(r"\bLANGUAGE\s+(\w+)", rest, re.I)
    spec.language = lang.group(1).lower() if lang else "plpgsql"
    spec.security_definer = bool(re.search(r"\bSECURITY\s+DEFINER\b", rest, re.I))
    spec.strict = bool(re.search(r"\bSTRICT\b|RETURNS\s+NULL\s+ON\s+NULL\s+INPUT", rest, re.I))
    vol = re.search(r"\b(IMMUTABLE|STABLE|VOLATILE)\b", rest, re.I)
    spec.volatility = vol.group(1).upper() if vol else "VOLATILE"
    spec.settings = [s.strip() for s in re.findall(r"\bSET\s+(\w+\s*(?:=|TO)\s*[^\s;]+)", rest, re.I)]
    return spec
