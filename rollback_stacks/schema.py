"""The version document's JSON Schema, generated from the pydantic model.

Regenerate with `python -m rollback_stacks.schema` (or check it is current with `--check`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from rollback_stacks.model import Version

SCHEMA_PATH = Path(__file__).parent / "schema" / "version.schema.json"


def generate_for(model: type[BaseModel]) -> str:
    """A schema file's text for a pydantic model."""
    return json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"


def write_or_check(argv: list[str], model: type[BaseModel], path: Path, module: str) -> int:
    """Write model's schema to path (or, with --check, exit 1 if it is out of date; module regenerates it)."""
    if "--check" in argv:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != generate_for(model):
            print(f"{path} is out of date; run: python -m {module}", file=sys.stderr)
            return 1
        return 0
    path.parent.mkdir(exist_ok=True)
    path.write_text(generate_for(model), encoding="utf-8")
    print(f"wrote {path}")
    return 0


def generate() -> str:
    """The schema file's text for the current model."""
    return generate_for(Version)


def main(argv: list[str]) -> int:
    """Write the schema file (or, with --check, exit 1 if it is out of date)."""
    return write_or_check(argv, Version, SCHEMA_PATH, "rollback_stacks.schema")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
