"""Shared dynamic-provider plumbing: diff by declared keys, and failure messages that say jobs stay frozen."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from components.providers.lifeline import watch_engine

if TYPE_CHECKING:
    import psycopg

FROZEN_BY = "jobs_frozen_by"
PROVIDER_KEY = "__provider"
watch_engine()  # every provider module imports this one: a provider process ends with its engine


class StepFailed(Exception):
    """A release step failed; the message names the step, the cause and the state jobs are left in."""


def frozen_note(props: dict[str, Any]) -> str:
    """The sentence appended to a failure when a freeze step ran before this step."""
    rollout = props.get(FROZEN_BY)
    if not isinstance(rollout, str) or not rollout:
        return ""
    return (f" Jobs stay frozen by rollout {rollout} (the safe state): fix the cause and run `up` again;"
            " the release step resumes them only after every step has passed.")


def scalar(cursor: psycopg.Cursor[tuple[Any, ...]]) -> Any:
    """The first column of a query that always returns a row (a function call, an aggregate, to_regclass)."""
    return cast("tuple[Any, ...]", cursor.fetchone())[0]


def normalize(value: Any) -> Any:
    """Undo the wire format's numbers-are-doubles: integral floats become ints again (recursively)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


def public(props: dict[str, Any]) -> dict[str, Any]:
    """props without the engine's serialized provider, numbers normalized."""
    return {k: normalize(v) for k, v in props.items() if k != PROVIDER_KEY}


class StepProvider(ResourceProvider):
    """create/update run `apply`; diff compares `keys` (changes in `replace_keys` replace, create-before-delete)."""

    step = "step"
    keys: tuple[str, ...] = ()
    replace_keys: tuple[str, ...] = ()

    def resource_id(self, props: dict[str, Any]) -> str:
        """The id a new resource gets."""
        return self.step

    def apply(self, news: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        """Make the service match news; returns the outputs."""
        raise NotImplementedError

    def run(self, news: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        """apply, turning any error into a StepFailed naming this step and the frozen jobs."""
        try:
            return self.apply(public(news), public(olds) if olds is not None else None)
        except StepFailed:
            raise
        except Exception as err:  # every failure must carry the step name and the jobs state
            raise StepFailed(f"{self.step} failed: {err}.{frozen_note(news)}") from err

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Create: apply with no previous state."""
        return CreateResult(id_=self.resource_id(props), outs=self.run(props, None))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Update in place: apply against the previous outputs."""
        return UpdateResult(outs=self.run(news, olds))

    def changed(self, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        """The declared keys whose value differs."""
        return [k for k in self.keys if normalize(olds.get(k)) != normalize(news.get(k))]

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Changes only on declared keys, so credentials or unrelated inputs never cause a diff."""
        changed = self.changed(olds, news)
        replaces = [k for k in changed if k in self.replace_keys]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)
