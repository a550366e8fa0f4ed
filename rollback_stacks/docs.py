"""Reading and writing YAML documents safely: size cap, safe_load semantics, no aliases, no duplicate keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import yaml

from rollback_stacks.errors import TargetError, problem

MAX_BYTES = 1024 * 1024
SCHEMA_HEADER = "# yaml-language-server: $schema=../../schema/version.schema.json\n"


MAX_DEPTH = 64
_OPENS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSES = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


class _Loader(yaml.CSafeLoader):
    """libyaml's safe loader that refuses duplicate mapping keys (anchors and depth are checked by _screen)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Construct a mapping, refusing a key given twice."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list | dict) or key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} given twice (or not a plain scalar)",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class Document:
    """A parsed YAML document with its node tree, for line numbers of fields."""

    def __init__(self, path: Path, data: Any, root: yaml.Node | None) -> None:
        self.path, self.data, self.root = path, data, root

    def line(self, loc: Sequence[str | int]) -> int | None:
        """1-based line of the deepest field along loc (field names and list indexes); a key's own line."""
        node, line = self.root, (self.root.start_mark.line + 1 if self.root else None)
        for part in loc:
            found = _child(node, part)
            if found is None:
                break
            node, line = found[1], found[0].start_mark.line + 1
        return line


def _child(node: yaml.Node | None, part: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    """(node whose line names the child, the child's value node)."""
    if isinstance(node, yaml.MappingNode):
        return next(((k, v) for k, v in node.value if k.value == str(part)), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part], node.value[part]
    return None


def read(path: Path, shown: str | None = None) -> Document:
    """Parse a YAML file safely (refusing files over 1 MiB before reading, aliases, tags, duplicate keys)."""
    name = shown or str(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise TargetError(problem(name, "", "a readable file", "restore the file or fix the path",
                                  got=err.strerror)) from None
    if size > MAX_BYTES:
        raise TargetError(problem(name, "", f"a file of at most {MAX_BYTES} bytes",
                                  "a version document is small; check the file is the right one", got=f"{size} bytes"))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise TargetError(problem(name, "", "UTF-8 text", "save the file as UTF-8")) from None
    return parse(text, name, path)


def parse(text: str, name: str, path: Path | None = None) -> Document:
    """Parse YAML text (see read)."""
    try:
        yaml.reader.Reader(text)  # refuses control characters before any parsing
    except yaml.YAMLError as err:
        raise TargetError(problem(name, "", "printable YAML text", "remove control characters (NUL, ESC, ...)",
                                  got=str(err).splitlines()[0])) from None
    loader = _Loader(text)
    try:
        _screen(text)
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        reason = " ".join(x for x in (err.context, err.problem) if x)
        raise TargetError(problem(name, "", "valid YAML with plain values only (no tags like !!python/...)",
                                  "correct the YAML syntax at that line", line=mark.line + 1 if mark else None,
                                  got=reason)) from None
    except yaml.YAMLError as err:
        raise TargetError(problem(name, "", "valid YAML", "correct the YAML syntax", got=str(err))) from None
    except (ValueError, OverflowError) as err:  # e.g. a timestamp like 2026-13-45T99:00:00Z
        raise TargetError(problem(name, "", "valid values (dates must exist)", "correct the value",
                                  got=str(err))) from None
    except RecursionError:
        raise TargetError(problem(name, "", "a shallow YAML document", "flatten the nesting",
                                  got="nesting too deep")) from None
    finally:
        loader.dispose()
    return Document(path or Path(name), data, root)


def _mark(mark: object) -> yaml.Mark:
    """A parsed event's position: libyaml's C Mark has yaml.Mark's fields (the stubs type it apart, and optional)."""
    return cast(yaml.Mark, mark)


def _screen(text: str) -> None:
    """Refuse anchors, aliases (no billion-laughs, no shared values), deep nesting and tabs outside quoted or block
    values, streaming libyaml's events (iterative: its C composer recurses per level, so depth is bounded first)."""
    depth = 0
    quoted: list[tuple[int, int]] = []  # spans where a tab is a value's content
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(None, None, "an anchor or alias (&x / *x), which is not allowed",
                                              _mark(event.start_mark))
        if isinstance(event, yaml.ScalarEvent) and event.style:
            quoted.append((_mark(event.start_mark).index, _mark(event.end_mark).index))
        elif isinstance(event, _OPENS):
            depth += 1
            if depth > MAX_DEPTH:
                raise RecursionError
        elif isinstance(event, _CLOSES):
            depth -= 1
    tab = text.find("\t")
    while tab >= 0:
        if not any(start <= tab < end for start, end in quoted):
            line = text.count("\n", 0, tab)
            # no buffer, so no snippet: the pointer (0) is never read
            mark = yaml.Mark("<document>", tab, line, tab - text.rfind("\n", 0, tab) - 1, None, 0)
            raise yaml.composer.ComposerError(None, None, "a tab outside a quoted value (YAML layout takes spaces; "
                                              "quote a value that really holds a tab)", mark)
        tab = text.find("\t", tab + 1)


class _Dumper(yaml.SafeDumper):
    """SafeDumper writing datetimes as ISO 8601 with `T` and `Z`."""


def _datetime(dumper: yaml.SafeDumper, value: datetime) -> yaml.ScalarNode:
    text = value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value.tzinfo else value.isoformat()
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", text)


_Dumper.add_representer(datetime, _datetime)


def dump_version(data: dict[str, Any]) -> str:
    """A version document's file text: the schema header line, then the YAML."""
    return SCHEMA_HEADER + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096)
