"""The targets tests' fixtures: a scratch copy of the example stacks (root) and the in-process CLI (cli)."""

from tests.targets.conftest import cli, root

__all__ = ["cli", "root"]
