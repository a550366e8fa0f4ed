"""Pulumi entry point (`pulumi preview` / `pulumi up`): declares the stack's selected rollback target."""

import sys

import pulumi

from components.program import pulumi_program

USER_ERROR_EXIT = 32  # the Python runner's "error already shown to the user" exit: the engine adds no second line

try:
    pulumi_program(from_cli=True)
except pulumi.RunError as err:
    pulumi.log.error(str(err))
    sys.exit(USER_ERROR_EXIT)
