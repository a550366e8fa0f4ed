"""The README's loop has the watch, with the exit codes the CLI uses."""

from __future__ import annotations

import re

from rollback.validation_result import EXIT_CODES
from rollback.watch_checks import EXIT_INTERRUPTED, EXIT_PASSED
from tests.targets.conftest import REPO


def test_the_readme_loop_watches_and_lists_the_watch_exit_codes():
    text = (REPO / "README.md").read_text()
    loop = text.split("## The loop", 1)[1].split("## Two commands", 1)[0]
    assert "rollback watch local --for 15m" in loop and "rollback apply … --watch 30m" in loop
    codes = dict(re.findall(r"^   \| ([0-9, ]+?)(?: \(as decided\))? \| (\w+) \|", loop, re.MULTILINE))
    assert codes == {str(EXIT_PASSED): "passed", "3, 4, 5, 6": "failed", "5": "inconclusive",
                     str(EXIT_INTERRUPTED): "interrupted", "1": "error"}, codes
    failed = {int(c) for c in "3, 4, 5, 6".split(", ")}
    assert failed == {code for code in EXIT_CODES.values() if code}  # every decision but "nothing to do"
