"""roomscope's state resolution against Synapse 1.163's own, on generated forked rooms.

Synapse runs in-process (``tests.oracle.synapse_state``): its
``resolve_events_with_store`` (v1, v2, v2.1) over an in-memory store, and the auth
checks it applies to a received PDU. For every room of every version 1-12 made by
``tests.generators.forked_rooms`` we compare:

* at every merge (an event with several ``prev_events``): roomscope's
  ``resolve_state`` of the states after the prev events with Synapse's;
* at the forward extremities: the state a new event naming them all would see;
* when ``app.core.roomstate`` is there: roomscope's state before and after every
  event and its rejections, event by event, against Synapse's.

The expected values are Synapse's, never roomscope's own output.

CI runs a fixed sample (``FIXED_SEEDS`` per version) plus one fresh random seed per
version, printed in the log (``-rA`` or ``-s`` shows it; a failure names it). The big
run: ``ROOMSCOPE_STATERES_FUZZ_ROOMS=2000 pytest tests/core/test_stateres_vs_synapse.py
-k fuzz -s`` (``ROOMSCOPE_STATERES_FUZZ_SEED`` fixes its first seed), or
``python -m tests.core.test_stateres_vs_synapse 2000 [FIRST_SEED [small|medium|mixed]]``
with progress lines.

Regression cases found by the fuzzer are at the end of the file, minimised, each
with the reason Synapse and the spec give.
"""

from __future__ import annotations

import os
import random
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

pytest.importorskip("synapse.event_auth")  # (importing synapse.state first is circular)

from app.core.events import PDU, StateKey
from app.core.versions import KNOWN_ROOM_VERSIONS, RoomVersion
from tests.generators.forked_rooms import (
    MEDIUM,
    SMALL,
    WIDE,
    GeneratedRoom,
    RoomShape,
    generate_room,
)
from tests.oracle.synapse_state import (
    RoomStates,
    StateTracker,
    compute_room_states,
    state_at_extremities,
)

pytestmark = pytest.mark.synapse

VERSIONS: list[RoomVersion] = sorted(KNOWN_ROOM_VERSIONS.values(), key=lambda v: int(v.identifier))
VERSION_IDS = [v.identifier for v in VERSIONS]

#: Seeds every CI run checks, per room version.
FIXED_SEEDS = range(8)

StateMap = Mapping[StateKey, str]
Resolver = Callable[[RoomVersion, Sequence[StateMap], Any], StateMap]


def _roomscope_resolver() -> Resolver:
    """roomscope's ``resolve_state`` (helper H4's), or skip while it has not landed."""
    try:
        from app.core.stateres import MappingSource, resolve_state  # type: ignore[attr-defined]
    except ImportError as exc:
        pytest.skip(f"app.core.stateres.resolve_state is not there yet ({exc})")

    def resolve(version: RoomVersion, sets: Sequence[StateMap], source: Any) -> StateMap:
        return dict(resolve_state(version, sets, source).state)

    resolve.source_factory = MappingSource  # type: ignore[attr-defined]
    return resolve


# -- one room, compared --------------------------------------------------------------


@dataclass
class Disagreement:
    version: str
    seed: int
    shape: str
    tracked: bool
    where: str  # "merge $id", "extremities", "state before $id", "rejection $id"
    detail: str

    def __str__(self) -> str:
        return (
            f"v{self.version} seed={self.seed} shape={self.shape} tracked={self.tracked} "
            f"{self.where}: {self.detail}"
        )


@dataclass
class Summary:
    rooms: int = 0
    events: int = 0
    merges: int = 0
    conflicted_merges: int = 0
    #: Resolutions of the states after random pairs/triples of events, some with a
    #: key swapped for another event of that key (rejected ones included).
    synthetic: int = 0
    per_event_rooms: int = 0
    versions: set[str] = field(default_factory=set)
    disagreements: list[Disagreement] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"rooms={self.rooms} versions={','.join(sorted(self.versions, key=int))} "
            f"events={self.events} merges compared={self.merges} "
            f"(with conflicts: {self.conflicted_merges}) synthetic={self.synthetic} "
            f"per-event rooms={self.per_event_rooms} "
            f"disagreements={len(self.disagreements)} in {self.seconds:.1f}s"
        )


def _diff(ours: StateMap, theirs: StateMap, by_id: Mapping[str, PDU]) -> str:
    keys = sorted(set(ours) | set(theirs))
    parts = []
    for k in keys:
        a, b = ours.get(k), theirs.get(k)
        if a != b:
            parts.append(f"{k}: roomscope={a} synapse={b}")
    return "; ".join(parts[:6]) + (f" (+{len(parts) - 6} more)" if len(parts) > 6 else "")


def make_room(
    version: RoomVersion, seed: int, shape: RoomShape, tracked: bool
) -> tuple[GeneratedRoom, RoomStates]:
    """A generated room and Synapse's verdict on every event of it."""
    if tracked:
        tracker = StateTracker(version)
        room = generate_room(version, seed, shape, tracker=tracker)
        return room, tracker.states
    room = generate_room(version, seed, shape)
    return room, compute_room_states(version, room.events)


def compare_room(
    version: RoomVersion,
    seed: int,
    shape: RoomShape,
    tracked: bool,
    resolve: Resolver,
    summary: Summary,
    *,
    per_event: Callable[[GeneratedRoom, RoomStates], list[tuple[str, str]]] | None = None,
    synthetic: int = 6,
) -> None:
    room, states = make_room(version, seed, shape, tracked)
    by_id = room.by_id
    source = resolve.source_factory(by_id, states.rejected)  # type: ignore[attr-defined]
    shape_name = {id(MEDIUM): "medium", id(WIDE): "wide"}.get(id(shape), "small")
    summary.rooms += 1
    summary.events += len(room.events)
    summary.versions.add(version.identifier)

    def disagree(where: str, detail: str) -> None:
        summary.disagreements.append(
            Disagreement(version.identifier, seed, shape_name, tracked, where, detail)
        )

    for event_id, sets in states.merge_inputs.items():
        summary.merges += 1
        expected = states.state_before[event_id]
        if any(s != sets[0] for s in sets[1:]):
            summary.conflicted_merges += 1
        try:
            ours = resolve(version, sets, source)
        except Exception as exc:  # a crash is a disagreement too
            disagree(f"merge {event_id}", f"roomscope raised {exc!r}")
            continue
        if dict(ours) != dict(expected):
            disagree(f"merge {event_id}", _diff(ours, expected, by_id))

    extremities = room.extremities
    expected = state_at_extremities(states, extremities)
    sets = [states.state_after[e] for e in extremities]
    try:
        ours = resolve(version, sets, source) if len(sets) > 1 else dict(sets[0])
    except Exception as exc:
        disagree("extremities", f"roomscope raised {exc!r}")
    else:
        if dict(ours) != dict(expected):
            disagree("extremities", _diff(ours, expected, by_id))

    rng = random.Random(f"synthetic/{version.identifier}/{seed}")
    for sets in synthetic_state_sets(room, states, rng, synthetic):
        summary.synthetic += 1
        try:
            expected = states.room.resolve(sets)
        except Exception as exc:  # Synapse cannot: not a comparison
            print(f"synapse cannot resolve a synthetic input ({exc!r}); skipped")
            continue
        try:
            ours = resolve(version, sets, source)
        except Exception as exc:
            disagree("synthetic", f"roomscope raised {exc!r} on {sets}")
            continue
        if dict(ours) != dict(expected):
            disagree("synthetic", f"{_diff(ours, expected, by_id)} on {_sets_text(sets)}")

    if per_event is not None:
        summary.per_event_rooms += 1
        for where, detail in per_event(room, states):
            disagree(where, detail)


def _sets_text(sets: Sequence[StateMap]) -> str:
    return " | ".join(
        "{" + ", ".join(f"{k[0]}/{k[1]}={v}" for k, v in sorted(s.items())) + "}" for s in sets
    )


def synthetic_state_sets(
    room: GeneratedRoom, states: RoomStates, rng: random.Random, count: int
) -> Iterator[list[StateMap]]:
    """State sets a server could be asked to resolve, beyond the room's own merges.

    A merge of the room with a rejected event put in every state set; the states
    after two or three random events (any events: siblings, ancestors, rejected
    ones), and, one time in three, one set with a key swapped for another
    event of the same key (possibly a rejected event, possibly one that is not
    an ancestor): the inputs of ``roomscope resolve --state-set`` and of servers
    whose view of the room differs.
    """
    ids = states.order
    if len(ids) < 3:
        return
    by_key: dict[StateKey, list[str]] = {}
    for e in room.events:
        if e.state_tuple is not None:
            by_key.setdefault(e.state_tuple, []).append(e.event_id)
    rejected_state = [
        e for e in room.events if e.event_id in states.rejected and e.state_tuple is not None
    ]
    if rejected_state and states.merge_inputs:
        # A rejected event in every state set (unconflicted, yet never admitted by an
        # auth check) at one of the room's own merges.
        x = rng.choice(rejected_state)
        assert x.state_tuple is not None
        merge_sets = states.merge_inputs[rng.choice(sorted(states.merge_inputs))]
        yield [{**s, x.state_tuple: x.event_id} for s in merge_sets]
    for _ in range(count):
        picks = rng.sample(ids, 3 if rng.random() < 0.25 else 2)
        sets = [dict(states.state_after[p]) for p in picks]
        if rng.random() < 1 / 3:
            target = rng.choice(sets)
            keys = [k for k in target if len(by_key.get(k, ())) > 1]
            if keys:
                key = rng.choice(sorted(keys))
                target[key] = rng.choice(by_key[key])
        yield sets


# -- the per-event comparison (app.core.roomstate) ----------------------------------


def _per_event_comparer() -> Callable[[GeneratedRoom, RoomStates], list[tuple[str, str]]] | None:
    """Compares roomscope's state at every event with Synapse's (``app.core.roomstate``)."""
    try:
        from app.core.graph import EventGraph
        from app.core.roomstate import compute_room_states as roomscope_room_states
    except ImportError:
        return None

    def compare(room: GeneratedRoom, states: RoomStates) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        graph = EventGraph.build(room.events, room_version=room.version, check_event_ids=False)
        ours = roomscope_room_states(graph)
        by_id = room.by_id
        for event_id in states.order:
            rejected_theirs = event_id in states.rejected
            rejected_ours = ours.is_rejected(event_id)
            if rejected_ours != rejected_theirs:
                out.append(
                    (
                        f"rejection {event_id}",
                        f"roomscope rejected={rejected_ours} ({ours.verdict(event_id).reason}) "
                        f"synapse rejected={rejected_theirs} ({states.rejected.get(event_id)})",
                    )
                )
            before = dict(ours.state_before(event_id))
            if before != states.state_before[event_id]:
                out.append(
                    (
                        f"state before {event_id}",
                        _diff(before, states.state_before[event_id], by_id),
                    )
                )
            after = dict(ours.state_after(event_id))
            if after != states.state_after[event_id]:
                out.append(
                    (f"state after {event_id}", _diff(after, states.state_after[event_id], by_id))
                )
            if len(out) > 5:
                break
        return out

    return compare


# -- the tests ---------------------------------------------------------------------


def _check(summary: Summary) -> None:
    print(f"\nstateres vs synapse: {summary.line()}")
    if summary.disagreements:
        lines = "\n".join(str(d) for d in summary.disagreements[:20])
        pytest.fail(f"{len(summary.disagreements)} disagreements with Synapse:\n{lines}")


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_fixed_sample_agrees_with_synapse(version: RoomVersion) -> None:
    """A fixed sample of small forked rooms (and a medium and a wide one) per room version."""
    resolve = _roomscope_resolver()
    per_event = _per_event_comparer()
    summary = Summary()
    start = time.perf_counter()
    for seed in FIXED_SEEDS:
        compare_room(version, seed, SMALL, seed % 3 != 2, resolve, summary, per_event=per_event)
    compare_room(version, 1000, MEDIUM, True, resolve, summary, per_event=per_event)
    compare_room(version, 2000, WIDE, False, resolve, summary, per_event=per_event)
    summary.seconds = time.perf_counter() - start
    assert summary.merges > 0, "the generator made no merges: nothing was compared"
    _check(summary)


_RANDOM_SEED = int(
    os.environ.get("ROOMSCOPE_STATERES_SEED", random.SystemRandom().randrange(10**9))
)


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_random_seed_agrees_with_synapse(version: RoomVersion) -> None:
    """A fresh seed every run (set ROOMSCOPE_STATERES_SEED to replay one)."""
    resolve = _roomscope_resolver()
    per_event = _per_event_comparer()
    summary = Summary()
    seed = _RANDOM_SEED
    note = f"stateres vs synapse: random seed {seed} (ROOMSCOPE_STATERES_SEED={seed} replays it)"
    print(f"\n{note}")
    if version.identifier == "1":
        # Shown in the warnings summary of every pytest run, so CI logs name the seed.
        warnings.warn(note, UserWarning, stacklevel=1)
    for offset, tracked in ((0, True), (1, False)):
        compare_room(version, seed + offset, SMALL, tracked, resolve, summary, per_event=per_event)
    _check(summary)


def fuzz_rooms(
    count: int, first_seed: int, shapes: str = "mixed"
) -> Iterator[tuple[RoomVersion, int, RoomShape, bool]]:
    """``count`` rooms spread evenly over versions 1-12: seeds ``first_seed`` upwards.

    ``shapes``: "mixed" (one medium room in 25, one wide room in 10, the rest small),
    "small", "medium" or "wide".
    """
    named = {"small": SMALL, "medium": MEDIUM, "wide": WIDE}
    for i in range(count):
        version = VERSIONS[i % len(VERSIONS)]
        seed = first_seed + i // len(VERSIONS)
        if shapes == "mixed":
            shape = MEDIUM if i % 25 == 24 else WIDE if i % 10 == 3 else SMALL
        else:
            shape = named[shapes]
        yield version, seed, shape, seed % 3 != 2


def run_fuzz(
    count: int, first_seed: int, *, progress: bool = False, shapes: str = "mixed"
) -> Summary:
    resolve = _roomscope_resolver()
    per_event = _per_event_comparer()
    summary = Summary()
    start = time.perf_counter()
    for n, (version, seed, shape, tracked) in enumerate(fuzz_rooms(count, first_seed, shapes), 1):
        compare_room(version, seed, shape, tracked, resolve, summary, per_event=per_event)
        if progress and n % 100 == 0:
            summary.seconds = time.perf_counter() - start
            print(f"[{n}/{count}] {summary.line()}", flush=True)
            for d in summary.disagreements[-3:]:
                print(f"    {d}", flush=True)
    summary.seconds = time.perf_counter() - start
    return summary


@pytest.mark.slow
@pytest.mark.skipif(
    "ROOMSCOPE_STATERES_FUZZ_ROOMS" not in os.environ,
    reason="the big run: set ROOMSCOPE_STATERES_FUZZ_ROOMS=2000",
)
def test_fuzz_agrees_with_synapse() -> None:
    count = int(os.environ["ROOMSCOPE_STATERES_FUZZ_ROOMS"])
    first = int(
        os.environ.get("ROOMSCOPE_STATERES_FUZZ_SEED", random.SystemRandom().randrange(10**6))
    )
    print(f"\nstateres fuzz: {count} rooms from seed {first}")
    _check(run_fuzz(count, first))


if (
    __name__ == "__main__"
):  # the big run with progress: python -m tests.core.test_stateres_vs_synapse N [SEED]
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    first = int(sys.argv[2]) if len(sys.argv) > 2 else random.SystemRandom().randrange(10**6)
    print(f"stateres fuzz: {n} rooms from seed {first}", flush=True)
    shapes = sys.argv[3] if len(sys.argv) > 3 else "mixed"
    result = run_fuzz(n, first, progress=True, shapes=shapes)
    print(f"DONE {result.line()}")
    for d in result.disagreements:
        print(f"  {d}")
    sys.exit(1 if result.disagreements else 0)


# -- the harness can fail ------------------------------------------------------------


def _naive_resolver() -> Resolver:
    """Takes every conflicted key from the first state set: wrong, on purpose."""

    def resolve(version: RoomVersion, sets: Sequence[StateMap], source: Any) -> StateMap:
        out: dict[StateKey, str] = {}
        for s in reversed(sets):
            out.update(s)
        return out

    resolve.source_factory = lambda events, rejected: None  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize("version_id", ["1", "6", "12"])
def test_harness_catches_a_wrong_resolver(version_id: str) -> None:
    """The generated rooms have conflicts whose resolution matters: a naive resolver fails."""
    summary = Summary()
    for seed in FIXED_SEEDS:
        compare_room(KNOWN_ROOM_VERSIONS[version_id], seed, SMALL, True, _naive_resolver(), summary)
    assert summary.conflicted_merges > 0
    assert summary.disagreements, "a resolver that ignores the algorithm went unnoticed"


# -- regression cases found by the fuzzer (minimised) --------------------------------


def _build_room(version: RoomVersion, specs: Sequence[dict[str, Any]]) -> dict[str, PDU]:
    """Build a hand-written room: each spec names its event and its prev/auth events by name."""
    from app.core.builder import build_event, generate_signing_key

    built: dict[str, PDU] = {}
    for n, spec in enumerate(specs, 1):
        sender = spec["sender"]
        server = sender.partition(":")[2]
        built[spec["name"]] = build_event(
            version,
            type=spec["type"],
            sender=sender,
            content=spec["content"],
            state_key=spec.get("state_key"),
            room_id="!regression:a.example",
            prev_events=[built[p].event_id for p in spec.get("prev", ())],
            auth_events=[built[a].event_id for a in spec.get("auth", ())],
            depth=n,
            origin_server_ts=spec["ts"],
            event_id=None if version.event_ids_derived else f"${spec['name']}:{server}",
            signing_key=generate_signing_key(server.encode()),
        )
    return built


@pytest.mark.parametrize("version_id", ["2", "6", "9"])
def test_regression_boolean_power_level_orders_power_events(version_id: str) -> None:
    """A power level of ``true`` counts as 1 when ordering power events (v2-v9).

    Found while probing Synapse's readings of odd power levels with the harness's
    oracle (a hand-made probe, then minimised to 8 events). In room
    versions 1-9 Synapse 1.163 accepts a power levels event whose ``users`` map
    holds ``true`` (its check is ``int(v)``, and ``int(True) == 1``; roomscope's
    auth rules read it the same way, ``auth_power.read_level``). The spec would
    reject that event ("values that are integers (or a string that is an
    integer)", https://spec.matrix.org/v1.16/rooms/v9/#authorization-rules), but
    roomscope agrees with Synapse there, so it must also agree when ordering:
    Synapse's ``_get_power_level_for_sender`` gives Bob ``int(True) == 1``, which
    sorts his join-rules change before Carol's (power 0, earlier timestamp), so
    Carol's is applied last and wins. roomscope's ``stateres.v2._level`` reads a
    bool as "no level" (0), orders by timestamp instead, and Bob's wins.
    """
    version = KNOWN_ROOM_VERSIONS[version_id]
    alice, bob, carol = "@alice:a.example", "@bob:a.example", "@carol:a.example"
    create_content: dict[str, Any] = {"creator": alice}
    base = ["create", "pl", "jr"]
    events = _build_room(
        version,
        [
            {"name": "create", "type": "m.room.create", "sender": alice, "state_key": "",
             "content": create_content, "ts": 1},
            {"name": "ja", "type": "m.room.member", "sender": alice, "state_key": alice,
             "content": {"membership": "join"}, "prev": ["create"], "auth": ["create"], "ts": 2},
            {"name": "pl", "type": "m.room.power_levels", "sender": alice, "state_key": "",
             "content": {"users": {alice: 100, bob: True}, "events": {"m.room.join_rules": 0}},
             "prev": ["ja"], "auth": ["create", "ja"], "ts": 3},
            {"name": "jr", "type": "m.room.join_rules", "sender": alice, "state_key": "",
             "content": {"join_rule": "public"}, "prev": ["pl"], "auth": ["create", "ja", "pl"],
             "ts": 4},
            {"name": "jb", "type": "m.room.member", "sender": bob, "state_key": bob,
             "content": {"membership": "join"}, "prev": ["jr"], "auth": base, "ts": 5},
            {"name": "jc", "type": "m.room.member", "sender": carol, "state_key": carol,
             "content": {"membership": "join"}, "prev": ["jb"], "auth": base, "ts": 6},
            # Concurrently: Bob (power True) at ts 20, Carol (power 0) at ts 10.
            {"name": "bob_invite_only", "type": "m.room.join_rules", "sender": bob,
             "state_key": "", "content": {"join_rule": "invite"}, "prev": ["jc"],
             "auth": ["create", "pl", "jb"], "ts": 20},
            {"name": "carol_public", "type": "m.room.join_rules", "sender": carol,
             "state_key": "", "content": {"join_rule": "public", "by": "carol"},
             "prev": ["jc"], "auth": ["create", "pl", "jc"], "ts": 10},
        ],
    )  # fmt: skip
    states = compute_room_states(version, events.values())
    assert not states.rejected, states.rejected  # Synapse accepts every event
    sets = [
        states.state_after[events["bob_invite_only"].event_id],
        states.state_after[events["carol_public"].event_id],
    ]
    synapse = states.room.resolve(sets)
    key = ("m.room.join_rules", "")
    assert synapse[key] == events["carol_public"].event_id  # what Synapse says, as explained

    resolve = _roomscope_resolver()
    source = resolve.source_factory({e.event_id: e for e in events.values()}, states.rejected)  # type: ignore[attr-defined]
    ours = resolve(version, sets, source)
    assert dict(ours) == dict(synapse), _diff(ours, synapse, {})
