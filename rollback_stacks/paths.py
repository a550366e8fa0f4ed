"""Safe file references: relative paths staying inside the stack directory (no absolute, no .., no symlinks out)."""

from __future__ import annotations

import posixpath
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


def migrations_path(stack_dir: Path, rel: str, repo: Path, *, where: str = "", line: int | None = None) -> Path:
    """A version's migrations directory: inside the stack directory, or (`../../db/migrations`) anywhere else
    inside the repository, where stacks share one copy; never outside the repository."""
    normal = posixpath.normpath(rel) if rel else ""
    if not (normal == ".." or normal.startswith("../")):
        return safe_path(stack_dir, rel, where=where, field="database.migrations_dir", line=line)
    from_repo = posixpath.normpath(f"{stack_dir.parent.name}/{stack_dir.name}/{rel}")
    path = repo / from_repo
    if ("\\" in rel or "\0" in rel or from_repo == ".." or from_repo.startswith("../")
            or not path.resolve().is_relative_to(repo.resolve())):
        raise TargetError(problem(where or stack_dir, "database.migrations_dir", "a directory inside the stack "
                                  f"directory or elsewhere inside the repository {repo.name}/",
                                  "keep the migrations in the repository (`rollback init` copies them in)",
                                  line=line, got=repr(rel)))
    return path
