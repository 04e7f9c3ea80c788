"""One resolution under v1, v2 and v2.1 side by side: where the algorithms disagree.

Room versions fix the algorithm (v1 for room version 1, v2 for 2-11, v2.1 for
12), but the same state sets can be replayed under each to see what an
algorithm changes: MSC4297 (v2.1) exists because v2 resets state in rooms like
its "problem A" and "problem B". The auth rules stay those of the room version;
only the resolution algorithm changes (``resolve_state(..., algorithm=)``).

Spec: https://spec.matrix.org/v1.16/rooms/v1/#state-resolution,
https://spec.matrix.org/v1.16/rooms/v2/#state-resolution,
https://spec.matrix.org/v1.16/rooms/v12/#state-resolution. Pure: no Qt, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.core.errors import RoomscopeError
from app.core.events import PDU, StateKey
from app.core.stateres import EventSource, KeyExplanation, resolve_state
from app.core.stateres.trace import Comparison, Trace
from app.core.versions import RoomVersion

__all__ = ["ALGORITHMS", "AlgorithmComparison", "AlgorithmResult", "compare_algorithms"]

ALGORITHMS: tuple[str, ...] = ("v1", "v2", "v2.1")


@dataclass(frozen=True, slots=True)
class AlgorithmResult:
    """The resolution under one algorithm, or why it could not be made."""

    algorithm: str
    state: Mapping[StateKey, str]
    trace: Trace | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class AlgorithmComparison:
    """The same state sets resolved under several algorithms."""

    #: The room version's own algorithm ("v2.1" for room version 12).
    native: str
    results: tuple[AlgorithmResult, ...]
    #: Every key any algorithm resolved, sorted.
    keys: tuple[StateKey, ...]
    #: The keys on which the algorithms (that succeeded) do not all agree.
    differing: tuple[StateKey, ...]

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(r.algorithm for r in self.results)

    def result(self, algorithm: str) -> AlgorithmResult:
        for r in self.results:
            if r.algorithm == algorithm:
                return r
        raise KeyError(algorithm)

    def value(self, algorithm: str, key: StateKey) -> str | None:
        return self.result(algorithm).state.get(key)

    def explanation(self, algorithm: str, key: StateKey) -> KeyExplanation | None:
        """Why ``key`` resolved as it did under ``algorithm`` (:meth:`Trace.why`)."""
        trace = self.result(algorithm).trace
        return trace.why(key) if trace is not None else None

    def pair(self, algorithm: str, other: str) -> Comparison | None:
        """The trace's own comparison of two algorithms (:meth:`Trace.compare`)."""
        mine, theirs = self.result(algorithm).trace, self.result(other).trace
        if mine is None or theirs is None:
            return None
        return mine.compare(theirs)

    def differs_between(self, algorithm: str, other: str) -> tuple[StateKey, ...]:
        a, b = self.result(algorithm), self.result(other)
        if a.error or b.error:
            return ()
        return tuple(k for k in self.keys if a.state.get(k) != b.state.get(k))


def compare_algorithms(
    version: RoomVersion,
    state_sets: Sequence[Mapping[StateKey, str]],
    events: EventSource | Mapping[str, PDU],
    *,
    algorithms: Sequence[str] = ALGORITHMS,
) -> AlgorithmComparison:
    """Resolve ``state_sets`` under each of ``algorithms`` (traced) and mark the differences.

    An algorithm that cannot run on these events (a :class:`RoomscopeError` or a
    malformed event) is reported in its :attr:`AlgorithmResult.error`, one line,
    rather than failing the comparison.
    """
    results: list[AlgorithmResult] = []
    for algorithm in algorithms:
        try:
            resolution = resolve_state(version, state_sets, events, trace=True, algorithm=algorithm)
        except (RoomscopeError, ValueError, KeyError, TypeError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            results.append(AlgorithmResult(algorithm, {}, None, message))
            continue
        results.append(AlgorithmResult(algorithm, dict(resolution.state), resolution.trace))
    ok = [r for r in results if r.error is None]
    keys = sorted({k for r in ok for k in r.state})
    differing = [k for k in keys if len({r.state.get(k) for r in ok}) > 1]
    return AlgorithmComparison(
        version.state_res_name, tuple(results), tuple(keys), tuple(differing)
    )
