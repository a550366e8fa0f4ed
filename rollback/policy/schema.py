"""The policy document's JSON Schema, generated from the pydantic model.

Regenerate with `python -m rollback.policy.schema` (or check it is current with `--check`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rollback.policy.model import PolicyDocument

SCHEMA_PATH = Path(__file__).parent / "policy.schema.json"


def generate() -> str:
    """The schema file's text for the current model."""
    return json.dumps(PolicyDocument.model_json_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    """Write the schema file (or, with --check, exit 1 if it is out of date)."""
    if "--check" in argv:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
        if current != generate():
            print(f"{SCHEMA_PATH} is out of date; run: python -m rollback.policy.schema", file=sys.stderr)
            return 1
        return 0
    SCHEMA_PATH.write_text(generate(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
