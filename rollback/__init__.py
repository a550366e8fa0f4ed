"""Operator tool: preview, apply, record and report rollbacks through the Pulumi engine."""
