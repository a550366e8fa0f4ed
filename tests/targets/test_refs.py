"""Every ref rule, table-driven, including refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rollback_stacks import TargetError, Version, refs

BASE = datetime(2026, 1, 1, tzinfo=UTC)
# version, label, status: 1..6 with a bad and a candidate in between.
SERIES = [(1, "v1.0.0", "known-good"), (2, "v1.1.0", "known-good"), (3, "v1.2.0", "bad"),
          (4, "v1.3.0", "known-good"), (5, "v1.4.0", "known-good"), (6, "v1.5.0", "candidate")]


def _version(number: int, label: str, status: str) -> Version:
    return Version(version=number, label=label, created_at=BASE + timedelta(days=10 * number), git_sha="abcdef1",
                   status=status)


VERSIONS = [_version(*row) for row in SERIES]

RESOLVES = [
    ("1", None, 1), ("4", None, 4), ("v1.1.0", None, 2), (" v1.3.0 ", None, 4), ("last-good", None, 5),
    ("last-good", 2, 5), ("previous", 5, 4), ("previous", 4, 2), ("previous", 6, 5), ("previous", 3, 2),
    ("-1", None, 4), ("-2", None, 2), ("-3", None, 1), ("-1", 5, 4), ("-2", 5, 2), ("-1", 6, 5), ("-2", 6, 4),
    ("before:2026-02-15T00:00:00Z", None, 4), ("before:2026-02-10T00:00:00Z", None, 2),
    ("before:2026-02-10T01:00:00+02:00", None, 2), ("before:2026-02-10T00:00:01+00:00", None, 4),
    ("before:2026-01-25", None, 2), ("before:2030-01-01T00:00:00Z", None, 5), ("before:2026-01-11T00:00:01Z", None, 1),
    ("6", 5, 6), ("v1.5.0", 4, 6),  # a candidate newer than the deployed version is a release
]


@pytest.mark.parametrize(("ref", "deployed", "expected"), RESOLVES)
def test_resolve(ref: str, deployed: int | None, expected: int) -> None:
    assert refs.resolve(VERSIONS, ref, deployed=deployed).version == expected


REFUSALS = [
    ("3", None, "marked bad"), ("v1.2.0", None, "marked bad"), ("3", 1, "marked bad"),
    ("6", None, "candidate"), ("v1.5.0", None, "candidate"), ("6", 6, "candidate"),
    ("7", None, "matches no version"), ("v9.9.9", None, "matches no version"), ("", None, "empty ref"),
    ("latest", None, "matches no version"), ("previous", None, "needs the deployed version"),
    ("previous", 1, "only 0 known-good"), ("-0", None, "N >= 1"), ("-4", None, "only 3 known-good"),
    ("-5", 5, "only 3 known-good"), ("before:yesterday", None, "ISO 8601"),
    ("before:2026-01-01T00:00:00Z", None, "no known-good version was created before"),
    ("last-good", 42, "deployed version 42 is not in this stack's record"), ("-x", None, "matches no version"),
]


@pytest.mark.parametrize(("ref", "deployed", "why"), REFUSALS)
def test_refusals_list_valid_choices(ref: str, deployed: int | None, why: str) -> None:
    with pytest.raises(TargetError) as err:
        refs.resolve(VERSIONS, ref, deployed=deployed)
    assert why in str(err.value)
    assert "valid choices: last-good, previous, -N, before:<ISO time>, or a known-good version: 1 (v1.0.0), " \
           "2 (v1.1.0), 4 (v1.3.0), 5 (v1.4.0)" in str(err.value)


def test_allow_candidate_but_never_bad() -> None:
    assert refs.resolve(VERSIONS, "6", allow_candidate=True).version == 6
    with pytest.raises(TargetError, match="marked bad"):
        refs.resolve(VERSIONS, "3", allow_candidate=True)


def test_no_known_good_at_all() -> None:
    only = [_version(1, "v1", "candidate")]
    with pytest.raises(TargetError, match="no known-good version recorded; valid choices: .* none recorded"):
        refs.resolve(only, "last-good")
    with pytest.raises(TargetError, match="no known-good version to step back from"):
        refs.resolve(only, "-1")


@pytest.mark.parametrize(("ref", "expected"), [("3", 3), ("v1.5.0", 6), ("last-good", 5), ("1", 1)])
def test_find_any_status(ref: str, expected: int) -> None:
    assert refs.find(VERSIONS, ref).version == expected


def test_find_refuses_unknown_listing_everything() -> None:
    with pytest.raises(TargetError, match=r"recorded: 1 \(v1.0.0, known-good\), .* 6 \(v1.5.0, candidate\)"):
        refs.find(VERSIONS, "v0")


@pytest.mark.parametrize("label", ["7", "last-good", "previous"])
def test_labels_cannot_read_as_refs(label: str) -> None:
    with pytest.raises(ValueError, match="would read as a ref"):
        _version(1, label, "known-good")
