"""The policy document's JSON Schema, generated from the pydantic model.

Regenerate with `python -m rollback.policy.schema` (or check it is current with `--check`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from rollback.policy.model import PolicyDocument
from rollback_stacks.schema import generate_for, write_or_check

SCHEMA_PATH = Path(__file__).parent / "policy.schema.json"


def generate() -> str:
    """The schema file's text for the current model."""
    return generate_for(PolicyDocument)


def main(argv: list[str]) -> int:
    """Write the schema file (or, with --check, exit 1 if it is out of date)."""
    return write_or_check(argv, PolicyDocument, SCHEMA_PATH, "rollback.policy.schema")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
