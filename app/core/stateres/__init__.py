"""State resolution v1, v2 and v2.1, with an optional step trace.

The public entry point is :func:`resolve_state`::

    resolution = resolve_state(version, [state_a, state_b], events, trace=True)
    resolution.state          # Mapping[(type, state_key), event_id]
    resolution.trace.why(("m.room.power_levels", ""))

``events`` is an :class:`EventSource` (``get(event_id) -> PDU | None`` and
``is_rejected(event_id) -> bool``) or a plain ``Mapping[str, PDU]``. Auth
chains, senders' power levels, mainlines and iterative auth check verdicts are
memoised per event source (see :func:`chain_index_for`): pass the same source
object across calls to reuse them (:class:`MappingSource` wraps a mapping and a
set of rejected IDs). ``algorithm="v1"|"v2"|"v2.1"`` overrides the room
version's algorithm, to compare them.

The state before/after every event of a room is :class:`app.core.roomstate.RoomStates`
(built from an :class:`~app.core.graph.EventGraph`, or incrementally with
``add``), itself an :class:`EventSource`. Keep this API stable: the differential
harness (tests/core/test_stateres_vs_synapse.py) and benchmarks call it.

Spec: https://spec.matrix.org/v1.16/rooms/v1/#state-resolution,
https://spec.matrix.org/v1.16/rooms/v2/#state-resolution,
https://spec.matrix.org/v1.16/rooms/v12/#state-resolution.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from app.core.events import PDU, StateKey
from app.core.stateres.common import (
    AuthChainIndex,
    EventSource,
    MappingSource,
    as_event_source,
    auth_event_ids,
    chain_index_for,
    split_conflicted_state_set,
)
from app.core.stateres.trace import (
    FinalStep,
    InputStep,
    KeyExplanation,
    SplitStep,
    Step,
    Trace,
    state_tuple,
)
from app.core.stateres.v1 import resolve_v1
from app.core.stateres.v2 import resolve_conflicted, trace_split
from app.core.versions import RoomVersion, StateResAlgorithm

__all__ = [
    "AuthChainIndex",
    "EventSource",
    "KeyExplanation",
    "MappingSource",
    "Resolution",
    "Trace",
    "as_event_source",
    "auth_event_ids",
    "chain_index_for",
    "resolve_state",
    "split_conflicted_state_set",
]


@dataclass(frozen=True, slots=True)
class Resolution:
    """The resolved state and, when asked for, the trace of how it was reached."""

    state: Mapping[StateKey, str]
    trace: Trace | None = None


def resolve_state(
    version: RoomVersion,
    state_sets: Sequence[Mapping[StateKey, str]],
    events: EventSource | Mapping[str, PDU],
    *,
    trace: bool = False,
    algorithm: str | None = None,
) -> Resolution:
    """Resolve ``state_sets`` with the algorithm of room version ``version``.

    ``algorithm`` ("v1", "v2" or "v2.1") overrides the version's algorithm, to
    compare them on one room; the auth rules stay those of ``version``.
    """
    # graph.gc_paused(settle=False), without a generator's set-up on every call.
    if not gc.isenabled():
        return _resolve_state(version, state_sets, events, trace, algorithm)
    gc.disable()
    try:
        return _resolve_state(version, state_sets, events, trace, algorithm)
    finally:
        gc.enable()


def _resolve_state(
    version: RoomVersion,
    state_sets: Sequence[Mapping[StateKey, str]],
    events: EventSource | Mapping[str, PDU],
    trace: bool,
    algorithm: str | None,
) -> Resolution:
    source = as_event_source(events)
    version = _with_algorithm(version, algorithm)
    steps: list[Step] | None = [] if trace else None
    if steps is not None:
        steps.append(InputStep(tuple(state_tuple(s) for s in state_sets)))
    if version.state_res is StateResAlgorithm.V1:
        state: Mapping[StateKey, str] = resolve_v1(version, state_sets, source, steps=steps)
    else:
        unconflicted, conflicted = split_conflicted_state_set(state_sets)
        if steps is not None:
            steps.append(
                SplitStep(
                    state_tuple(unconflicted), trace_split(state_sets, unconflicted, conflicted)
                )
            )
        if not conflicted:
            state = unconflicted
        else:
            index = chain_index_for(source, key=events)
            changes = resolve_conflicted(
                version, state_sets, unconflicted, conflicted, index, steps=steps
            )
            changes.update(unconflicted)
            state = changes
    if steps is None:
        return Resolution(state)
    steps.append(FinalStep(state_tuple(state)))
    return Resolution(state, Trace(version.state_res_name, version.identifier, tuple(steps)))


#: algorithm name -> (family, begin empty, conflicted subgraph): v2.1 is two flags.
_ALGORITHM_FLAGS: dict[str, tuple[StateResAlgorithm, bool, bool]] = {
    "v1": (StateResAlgorithm.V1, False, False),
    "v2": (StateResAlgorithm.V2, False, False),
    "v2.1": (StateResAlgorithm.V2, True, True),
}


def _with_algorithm(version: RoomVersion, algorithm: str | None) -> RoomVersion:
    if algorithm is None or algorithm == version.state_res_name:
        return version
    flags = _ALGORITHM_FLAGS.get(algorithm)
    if flags is None:
        raise ValueError(f"unknown state resolution algorithm {algorithm!r} (v1, v2 or v2.1)")
    family, begin_empty, subgraph = flags
    return replace(
        version,
        state_res=family,
        state_res_begin_empty=begin_empty,
        state_res_conflicted_subgraph=subgraph,
    )
