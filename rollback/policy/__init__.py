"""The rollback policy: a declarative, schema-validated YAML document that `rollback decide` evaluates.

Public API: effective(stack, project_dir) -> Policy; default(); load() (without rollback:thresholds); PolicyError.
The shipped policy is rollback/policy/default.yaml; its schema rollback/policy/policy.schema.json.
"""

from rollback.policy.load import PolicyError, default, effective, load
from rollback.policy.rules import Policy

__all__ = ["Policy", "PolicyError", "default", "effective", "load"]
