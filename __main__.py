"""Pulumi entry point: declares the stack's selected rollback target."""

from components.program import pulumi_program

pulumi_program()
