"""Versioned rollback targets: the record of known-good desired states under rollback_stacks/<stack>/."""
