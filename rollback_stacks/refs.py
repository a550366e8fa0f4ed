"""The version graph and refs: which version a ref (number, label, last-good, previous, -N, before:TIME) names.

Rollback targets must be known-good. A candidate is accepted only as a release: when it is newer than the
deployed version, or when the caller passes allow_candidate. A bad version is never a target.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from rollback_stacks.errors import TargetError
from rollback_stacks.model import Version

REF_FORMS = "a version number, a label, last-good, previous, -N, or before:<ISO time>"
_STEPS = re.compile(r"^-(\d{1,6})$")


def known_good(versions: Sequence[Version], watched: bool = False) -> list[Version]:
    """Known-good versions, oldest first (watched: only those that passed a watch, `rollback:watch.requireWatched`)."""
    return sorted((v for v in versions if v.status == "known-good" and (v.watches or not watched)),
                  key=lambda v: v.version)


def last_good(versions: Sequence[Version], watched: bool = False) -> Version | None:
    """The highest known-good version (that passed a watch, when watched), if any."""
    good = known_good(versions, watched)
    return good[-1] if good else None


def choices(versions: Sequence[Version], watched: bool = False) -> str:
    """The valid choices, for refusal messages."""
    good = ", ".join(f"{v.version} ({v.label})" for v in known_good(versions, watched)) or "none recorded"
    what = "a known-good version that passed a watch (rollback:watch.requireWatched)" if watched else \
        "a known-good version"
    return f"valid choices: last-good, previous, -N, before:<ISO time>, or {what}: {good}"


def _refuse(ref: str, why: str, versions: Sequence[Version], watched: bool = False) -> TargetError:
    return TargetError(f"ref {ref!r}: {why}; {choices(versions, watched)}")


def _by_number_or_label(versions: Sequence[Version], ref: str) -> Version | None:
    if ref.isdigit():
        return next((v for v in versions if v.version == int(ref)), None)
    return next((v for v in versions if v.label == ref), None)


def _deployed(versions: Sequence[Version], ref: str, deployed: int | None) -> Version | None:
    if deployed is None:
        return None
    found = next((v for v in versions if v.version == deployed), None)
    if found is None:
        raise _refuse(ref, f"the deployed version {deployed} is not in this stack's record", versions)
    return found


def _steps_back(versions: Sequence[Version], ref: str, steps: int, base: Version | None,
                watched: bool = False) -> Version:
    if steps < 1:
        raise _refuse(ref, "-N needs N >= 1", versions, watched)
    if base is None:
        raise _refuse(ref, "no known-good version to step back from", versions, watched)
    older = [v for v in known_good(versions, watched) if v.version < base.version]
    if steps > len(older):
        raise _refuse(ref, f"only {len(older)} known-good version(s) before version {base.version} ({base.label})",
                      versions, watched)
    return older[-steps]


def _before(versions: Sequence[Version], ref: str, text: str, watched: bool = False) -> Version:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise _refuse(ref, "before: needs an ISO 8601 time such as 2026-06-01T00:00:00Z", versions) from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    older = [v for v in known_good(versions, watched) if v.created_at < when]
    if not older:
        raise _refuse(ref, f"no known-good version was created before {when.isoformat()}", versions, watched)
    return older[-1]


def find(versions: Sequence[Version], ref: str) -> Version:
    """The version a number, label or last-good names, whatever its status (for show and mark)."""
    ref = ref.strip()
    found = last_good(versions) if ref == "last-good" else _by_number_or_label(versions, ref)
    if found is None:
        every = ", ".join(f"{v.version} ({v.label}, {v.status})" for v in versions) or "none recorded"
        raise TargetError(f"ref {ref!r} matches no version; expected a version number, a label or last-good; "
                          f"recorded: {every}")
    return found


def resolve(versions: Sequence[Version], ref: str, *, deployed: int | None = None,
            allow_candidate: bool = False, watched: bool = False) -> Version:
    """The version a ref selects as a target; refuses unknown refs and bad (or, for rollbacks, candidate) ones.
    watched: the relative refs (last-good, previous, -N, before:) count only versions that passed a watch."""
    ref = ref.strip()
    current = _deployed(versions, ref, deployed)
    if not ref:
        raise _refuse(ref, f"empty ref; expected {REF_FORMS}", versions)
    if ref == "last-good":
        found = last_good(versions, watched)
        if found is None:
            why = "no known-good version that passed a watch" if watched else "no known-good version recorded"
            raise _refuse(ref, why, versions, watched)
        return found
    if ref == "previous":
        if current is None:
            raise _refuse(ref, "previous needs the deployed version (none is deployed)", versions)
        return _steps_back(versions, ref, 1, current, watched)
    steps = _STEPS.match(ref)
    if steps:
        return _steps_back(versions, ref, int(steps.group(1)), current or last_good(versions, watched), watched)
    if ref.startswith("before:"):
        return _before(versions, ref, ref.removeprefix("before:"), watched)
    found = _by_number_or_label(versions, ref)
    if found is None:
        raise _refuse(ref, f"matches no version; expected {REF_FORMS}", versions)
    if found.status == "bad":
        raise _refuse(ref, f"version {found.version} ({found.label}) is marked bad", versions)
    is_release = current is not None and found.version > current.version
    if found.status == "candidate" and not (allow_candidate or is_release):
        raise _refuse(ref, f"version {found.version} ({found.label}) is a candidate, not known-good "
                           "(a candidate is only a target as a release newer than the deployed version)", versions)
    return found
