"""Safe file references: relative paths staying inside the stack directory (no absolute, no .., no symlinks out)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from rollback_stacks.errors import TargetError, problem


def safe_path(base: Path, rel: str, *, where: str = "", field: str = "", line: int | None = None) -> Path:
    """base/rel, refused unless rel is a plain relative path that resolves inside base."""
    pure = PurePosixPath(rel)
    escapes = (not rel or "\\" in rel or "\0" in rel or pure.is_absolute() or ".." in pure.parts
               or not (base / pure).resolve().is_relative_to(base.resolve()))
    if escapes:
        raise TargetError(problem(where or base, field or "file reference", f"a relative path inside {base.name}/ "
                                  "(no absolute paths, no .., no symlinks leading out)",
                                  "reference a file under the stack directory, e.g. functions/<name>.<variant>.sql",
                                  line=line, got=repr(rel)))
    return base / pure
