"""Rollback components: the release as a dependency-ordered DAG of real resources (type rollback:components:*)."""
