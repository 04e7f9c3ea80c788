"""Unit tests of state resolution v2/v2.1's pieces, with expectations from published tests.

* auth difference: Synapse ``tests/state/test_v2.py`` ``AuthChainDifferenceTestCase``
  (its chains A <- B <- C ... and expected differences; Synapse's chains include
  the state events themselves, as ours do);
* conflicted state subgraph and full auth chains: gomatrixserverlib
  ``stateresolutionv2_test.go`` ``TestCalculateFullAuthChainAndConflictedSubgraph``
  (Apache-2.0, The Matrix.org Foundation) and the example in Synapse's
  ``_get_auth_chain_difference_using_cover_index_txn`` comment;
* the sender's power level: Synapse ``test_get_power_level_for_sender``;
* the v12 creator-sorts-first case: MSC4289 (creators have infinite power),
  checked against Synapse 1.163's resolver as an oracle.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from app.core.builder import build_event, room_id_for
from app.core.events import PDU
from app.core.stateres import MappingSource, chain_index_for, resolve_state
from app.core.stateres.common import (
    AuthChainIndex,
    auth_event_ids,
    split_conflicted_state_set,
)
from app.core.stateres.v2 import (
    CREATOR_POWER_LEVEL,
    auth_difference,
    conflicted_state_subgraph,
    is_power_event,
    reverse_topological_power_ordering,
    sender_power_level,
)
from app.core.versions import RoomVersion, room_version

ALICE = "@alice:example.com"
BOB = "@bob:example.com"
CHARLIE = "@charlie:example.com"


def bare_event(event_id: str, auth_events: Sequence[str], etype: str = "x") -> PDU:
    """A room v1 PDU with a readable ID that only carries ``auth_events`` (which may
    name itself, or events not built yet: a cycle)."""
    return build_event(
        room_version("1"),
        type=etype,
        state_key="",
        sender=ALICE,
        content={},
        event_id=event_id,
        auth_events=list(auth_events),
    )


def auth_graph(graph: Mapping[str, Sequence[str]]) -> dict[str, PDU]:
    """PDUs (room v1, readable IDs) that only carry the given auth events."""
    out: dict[str, PDU] = {}
    pending = list(graph)
    while pending:
        name = pending.pop(0)
        if any(a not in out for a in graph[name]):
            pending.append(name)
            continue
        out[name] = bare_event(name, graph[name], "m.room.member")
    return out


def index_of(events: Mapping[str, PDU]) -> AuthChainIndex:
    return AuthChainIndex(MappingSource(events))


@pytest.mark.parametrize(
    ("first", "second", "unconflicted", "conflicted"),
    [
        # The same value in both: unconflicted; different values: both conflicted.
        ({"a": "1", "b": "2"}, {"a": "1", "b": "3"}, {"a": "1"}, {"b": {"2", "3"}}),
        # A key missing from one set is conflicted, whichever set lacks it.
        ({"a": "1", "b": "2"}, {"a": "1"}, {"a": "1"}, {"b": {"2"}}),
        ({"a": "1"}, {"a": "1", "c": "4"}, {"a": "1"}, {"c": {"4"}}),
        # As many keys in each, but not the same keys.
        ({"a": "1", "b": "2"}, {"a": "1", "c": "4"}, {"a": "1"}, {"b": {"2"}, "c": {"4"}}),
        ({"a": "1", "b": "2"}, {"b": "3", "c": "4"}, {}, {"a": {"1"}, "b": {"2", "3"}, "c": {"4"}}),
        # Identical sets: nothing conflicted.
        ({"a": "1", "b": "2"}, {"b": "2", "a": "1"}, {"a": "1", "b": "2"}, {}),
    ],
)
def test_split_into_unconflicted_map_and_conflicted_set(
    first: dict[str, str],
    second: dict[str, str],
    unconflicted: dict[str, str],
    conflicted: dict[str, set[str]],
) -> None:
    """Spec (v2): "If a given key K is present in every Si with the same value V in
    each state map, then the pair (K, V) belongs to the unconflicted state map.
    Otherwise, V belongs to the conflicted state set." (A key missing from some set
    is not present in every one, so its values are conflicted.)"""

    def keyed(state: Mapping[str, str]) -> dict[tuple[str, str], str]:
        return {("m.room.member", key): value for key, value in state.items()}

    for sets in ([first, second], [second, first], [first, second, first]):
        got_unconflicted, got_conflicted = split_conflicted_state_set([keyed(s) for s in sets])
        assert got_unconflicted == keyed(unconflicted)
        assert got_conflicted == {
            ("m.room.member", key): frozenset(values) for key, values in conflicted.items()
        }


@pytest.mark.parametrize(
    ("graph", "sets", "published"),
    [
        # test_simple: C -> B -> A; sets {A, B} and {C}
        ({"A": [], "B": ["A"], "C": ["B"]}, [["A", "B"], ["C"]], {"C"}),
        # test_multiple_unpersisted_chain: D -> C -> B -> A; sets {A, B} and {C, D}
        ({"A": [], "B": ["A"], "C": ["B"], "D": ["C"]}, [["A", "B"], ["C", "D"]], {"C", "D"}),
        # test_unpersisted_events_different_sets: E -> C, B; sets {A, B, E} and {C, D}
        (
            {"A": [], "B": ["A"], "C": ["B"], "D": ["C"], "E": ["C", "B"]},
            [["A", "B", "E"], ["C", "D"]],
            {"D", "E"},
        ),
    ],
)
def test_auth_difference_published(
    graph: Mapping[str, Sequence[str]], sets: list[list[str]], published: set[str]
) -> None:
    index = index_of(auth_graph(graph))
    chains = [index.chain_of_all(s) for s in sets]
    assert set(index.ids_of(auth_difference(chains))) == published


# gomatrixserverlib TestCalculateFullAuthChainAndConflictedSubgraph:
#             .- D < D2 -.
# A < B < C <-+          +-- F < G
#             `- E < E2 -`
GMSL_GRAPH = {
    "A": [],
    "B": ["A"],
    "C": ["B"],
    "D": ["C"],
    "E": ["C"],
    "D2": ["D"],
    "E2": ["E"],
    "F": ["D2", "E2"],
    "G": ["F"],
}


@pytest.mark.parametrize(
    ("starts", "conflicted", "want_chain", "want_subgraph"),
    [
        (["B", "D"], ["B", "D"], {"A", "B", "C"}, {"B", "C", "D"}),
        (
            ["F", "B"],
            ["F", "B"],
            {"A", "B", "C", "D", "D2", "E", "E2"},
            {"F", "E2", "E", "D2", "D", "C", "B"},
        ),
        (
            ["G", "F", "C", "A"],
            ["C", "A"],
            {"A", "B", "C", "D", "D2", "E", "E2", "F"},
            {"C", "B", "A"},
        ),
    ],
)
def test_conflicted_subgraph_gomatrixserverlib(
    starts: list[str], conflicted: list[str], want_chain: set[str], want_subgraph: set[str]
) -> None:
    index = index_of(auth_graph(GMSL_GRAPH))
    # Their full auth chain counts what the start events reach, not the events themselves.
    chain = 0
    for s in starts:
        chain |= index.chain(s) & ~index.bit(s)
    assert set(index.ids_of(chain)) == want_chain
    assert set(index.ids_of(conflicted_state_subgraph(index, conflicted))) == want_subgraph


def test_conflicted_subgraph_synapse_comment_example() -> None:
    # A <- B <- C <- D <- E with B and D conflicted: {B, C, D} (Synapse's
    # _get_auth_chain_difference_using_cover_index_txn).
    index = index_of(auth_graph({"A": [], "B": ["A"], "C": ["B"], "D": ["C"], "E": ["D"]}))
    assert set(index.ids_of(conflicted_state_subgraph(index, ["B", "D"]))) == {"B", "C", "D"}


def test_auth_chains_survive_deep_graphs_and_cycles() -> None:
    # 5,000 events deep (five times the recursion limit): no recursion. And a
    # hand-made cycle does not hang.
    graph: dict[str, list[str]] = {"e0": []}
    for i in range(1, 5_000):
        graph[f"e{i}"] = [f"e{i - 1}"]
    events = {name: bare_event(name, auth, "m.room.member") for name, auth in graph.items()}
    index = index_of(events)
    assert index.chain("e4999").bit_count() == 5_000
    cyclic = auth_graph({"A": []})
    cyclic["B"] = bare_event("B", ["C"])
    cyclic["C"] = bare_event("C", ["B", "A"])
    index = index_of(cyclic)
    assert set(index.ids_of(index.chain("C"))) == {"A", "B", "C"}


def test_an_event_listing_itself_keeps_its_other_auth_events_chains() -> None:
    # A hand-made v1 event may name itself among its auth events: that edge closes
    # a cycle and is cut, and nothing else (its auth chain is still everything its
    # other auth events reach).
    events = auth_graph({"A": [], "B": ["A"]})
    events["S"] = bare_event("S", ["B", "S"])
    index = index_of(events)
    assert set(index.ids_of(index.chain("S"))) == {"A", "B", "S"}
    assert index.index_of("B") < index.index_of("S")


def test_chain_index_is_memoised_per_source_and_rebuilt_when_missing_events_appear() -> None:
    events = auth_graph({"A": [], "B": ["A"]})
    partial = {"B": events["B"]}
    index = chain_index_for(MappingSource(partial), key=partial)
    assert set(index.ids_of(index.chain("B"))) == {"A", "B"}
    assert chain_index_for(MappingSource(partial), key=partial) is index
    partial["A"] = events["A"]  # the missing event arrives
    assert chain_index_for(MappingSource(partial), key=partial) is not index


class _PlainSource:
    """An event source that is not a MappingSource (as RoomStates is not)."""

    def __init__(self, events: Mapping[str, PDU]) -> None:
        self.events = events

    def get(self, event_id: str) -> PDU | None:
        return self.events.get(event_id)

    def is_rejected(self, event_id: str) -> bool:
        return False


@pytest.mark.parametrize("make_source", [MappingSource, _PlainSource])
def test_chain_index_is_memoised_only_while_its_source_lives(make_source: Any) -> None:
    """The memo must not keep a source alive: every source ever resolved stayed in
    memory when the registry's index held its (weakly keyed) source strongly."""
    events = auth_graph({"A": [], "B": ["A"]})
    source = make_source(events)
    index = chain_index_for(source)
    assert set(index.ids_of(index.chain("B"))) == {"A", "B"}
    assert chain_index_for(source) is index
    resolve_state(room_version("10"), [{("m.room.member", ""): "A"}, {}], source)
    gone = weakref.ref(source)
    del source, index
    gc.collect()
    assert gone() is None


def _make(
    version_id: str,
    sender: str,
    etype: str,
    state_key: str | None,
    content: dict,
    auth: Sequence[PDU] = (),
    room_id: str | None = None,
) -> PDU:
    return build_event(
        room_version(version_id),
        type=etype,
        sender=sender,
        state_key=state_key,
        content=content,
        room_id=room_id or "!room:example.com",
        auth_events=[a.event_id for a in auth],
    )


@pytest.mark.parametrize("version_id", ["10", "11"])
def test_sender_power_level_published(version_id: str) -> None:
    # Synapse test_get_power_level_for_sender.
    extra: dict[str, Any] = {} if version_id == "11" else {"creator": ALICE}
    create = _make(version_id, ALICE, "m.room.create", "", {"room_version": version_id, **extra})
    member = _make(version_id, ALICE, "m.room.member", ALICE, {"membership": "join"}, [create])
    pl = _make(
        version_id,
        ALICE,
        "m.room.power_levels",
        "",
        {"users": {ALICE: 100, BOB: 50}, "users_default": 10},
        [create, member],
    )
    events = {e.event_id: e for e in (create, member, pl)}
    for user, want in {ALICE: 100, BOB: 50, CHARLIE: 10}.items():
        topic = _make(version_id, user, "m.room.topic", "", {"topic": "Test"}, [create, member, pl])
        assert sender_power_level(topic, MappingSource({**events, topic.event_id: topic})) == want
    # Without the power levels event: the creator 100, everyone else 0.
    for user, want in {ALICE: 100, BOB: 0, CHARLIE: 0}.items():
        topic = _make(version_id, user, "m.room.topic", "", {"topic": "Test"}, [create, member, pl])
        source = MappingSource({create.event_id: create, topic.event_id: topic})
        assert sender_power_level(topic, source) == want


def test_create_event_is_a_power_event_as_in_synapse() -> None:
    create = _make("10", ALICE, "m.room.create", "", {"creator": ALICE})
    kick = _make("10", ALICE, "m.room.member", BOB, {"membership": "leave"})
    leave = _make("10", BOB, "m.room.member", BOB, {"membership": "leave"})
    topic = _make("10", ALICE, "m.room.topic", "", {})
    assert is_power_event(create) and is_power_event(kick)
    assert not is_power_event(leave) and not is_power_event(topic)


def test_power_ordering_breaks_ties_by_timestamp_then_event_id_at_any_timestamp() -> None:
    # Spec: among the events whose auth events are all taken, the greatest sender
    # power level first, then the smallest origin_server_ts, then the smallest event
    # ID. Siblings with equal levels and timestamps, and timestamps far beyond 64
    # bits (JSON integers in rooms before v6 are unbounded), in both directions.
    base = [_make("10", ALICE, "m.room.create", "", {"creator": ALICE})]
    base.append(_make("10", ALICE, "m.room.member", ALICE, {"membership": "join"}, base))
    base.append(
        _make("10", ALICE, "m.room.power_levels", "", {"users": {ALICE: 100, BOB: 50}}, base)
    )
    base.append(_make("10", BOB, "m.room.member", BOB, {"membership": "join"}, base[:1]))
    level = {ALICE: 100, BOB: 50}
    timestamps = [10, 10, 10, 2**70, 2**70, 2**70 + 1, -(2**70), -(2**70), 10, 2**65, 2**65]
    siblings = [
        build_event(
            room_version("10"),
            type="m.room.join_rules",
            sender=ALICE if i % 3 else BOB,
            state_key="",
            content={"join_rule": "public" if i % 2 else "invite", "n": i},
            room_id="!room:example.com",
            auth_events=[e.event_id for e in base],
            origin_server_ts=ts,
        )
        for i, ts in enumerate(timestamps)
    ]
    # One more that must wait for a sibling (its auth event) however small its key.
    waiting = build_event(
        room_version("10"),
        type="m.room.join_rules",
        sender=ALICE,
        state_key="",
        content={"join_rule": "public"},
        room_id="!room:example.com",
        auth_events=[*(e.event_id for e in base), siblings[0].event_id],
        origin_server_ts=-(2**80),
    )
    events = {e.event_id: e for e in [*base, *siblings, waiting]}
    index = AuthChainIndex(MappingSource(events))
    ids = [e.event_id for e in [waiting, *reversed(siblings)]]
    order, keys = reverse_topological_power_ordering(ids, frozenset(ids), index)

    def spec_key(e: PDU) -> tuple[int, int, str]:
        return (-level[e.sender], e.origin_server_ts, e.event_id)

    free = sorted(siblings, key=spec_key)
    expected = [e.event_id for e in free]
    # ``waiting`` is the least of all once free, so it follows its auth event at once.
    expected.insert(expected.index(siblings[0].event_id) + 1, waiting.event_id)
    assert order == expected
    assert len(set(timestamps)) < len(timestamps)  # ties do occur
    for e in [*siblings, waiting]:
        assert keys[e.event_id] == (level[e.sender], e.origin_server_ts, e.event_id)


def _named_events(
    n: dict[str, PDU], version: RoomVersion, room_id: str, listed: Sequence[str] = ()
) -> Callable[..., None]:
    """``add(name, sender, type, state_key, content, auth[, ts])``: build an event of
    ``room_id`` into ``n`` under ``name``, its auth events ``listed`` and ``auth``
    (names in ``n``)."""

    def add(
        name: str,
        sender: str,
        etype: str,
        key: str,
        content: dict[str, Any],
        auth: list[str],
        ts: int = 0,
    ) -> None:
        n[name] = build_event(
            version,
            type=etype,
            state_key=key,
            sender=sender,
            content=content,
            room_id=room_id,
            auth_events=[n[a].event_id for a in [*listed, *auth]],
            origin_server_ts=ts,
        )

    return add


def _v12_room() -> tuple[dict[str, PDU], dict[str, PDU]]:
    v = room_version("12")
    create = build_event(
        v,
        type="m.room.create",
        state_key="",
        sender=ALICE,
        content={"room_version": "12"},
        origin_server_ts=0,
    )
    n: dict[str, PDU] = {"create": create}
    add = _named_events(n, v, room_id_for(create))
    add("ma", ALICE, "m.room.member", ALICE, {"membership": "join"}, [], 1)
    add("pl", ALICE, "m.room.power_levels", "", {"users": {BOB: 100}}, ["ma"], 2)
    add("jr", ALICE, "m.room.join_rules", "", {"join_rule": "public"}, ["ma", "pl"], 3)
    add("mb", BOB, "m.room.member", BOB, {"membership": "join"}, ["pl", "jr"], 4)
    # Concurrent join rules changes: Bob (power 100) early, Alice (creator) later.
    add("jr_bob", BOB, "m.room.join_rules", "", {"join_rule": "invite"}, ["mb", "pl"], 10)
    add("jr_alice", ALICE, "m.room.join_rules", "", {"join_rule": "knock"}, ["ma", "pl"], 20)
    return n, {e.event_id: e for e in n.values()}


def _v12_join_rules_fork(n: Mapping[str, PDU]) -> list[dict[tuple[str, str], str]]:
    """The two state sets of :func:`_v12_room`: the same room, each with one of the
    concurrent join rules changes."""
    base = {("m.room.create", ""): n["create"].event_id}
    for k in ("ma", "pl", "mb"):
        pdu = n[k]
        assert pdu.state_key is not None
        base[(pdu.type, pdu.state_key)] = pdu.event_id
    return [
        {**base, ("m.room.join_rules", ""): n["jr_bob"].event_id},
        {**base, ("m.room.join_rules", ""): n["jr_alice"].event_id},
    ]


@pytest.mark.synapse
def test_v12_creator_sorts_first() -> None:
    """MSC4289: creators sort before any power level, so a creator's power event is
    applied first and a concurrent admin's (applied after) wins despite its earlier
    origin_server_ts."""
    from tests.oracle.synapse_state import SynapseRoom

    n, events = _v12_room()
    sets = _v12_join_rules_fork(n)
    got = resolve_state(room_version("12"), sets, events, trace=True)
    assert got.state[("m.room.join_rules", "")] == n["jr_bob"].event_id
    assert got.trace is not None
    order = got.trace.orderings[0]
    assert order.entries[0].event_id == n["jr_alice"].event_id
    assert order.entries[0].key[0] == CREATOR_POWER_LEVEL
    oracle = SynapseRoom(room_version("12"), n.values())
    assert oracle.resolve(sets) == dict(got.state)


def test_v12_auth_events_include_the_create_event_implicitly() -> None:
    n, _ = _v12_room()
    assert auth_event_ids(n["mb"])[-1] == n["create"].event_id
    assert n["create"].event_id not in n["mb"].auth_events


class _GrowingSource:
    """An event source whose events appear and get rejected as a test goes on."""

    def __init__(self, events: Sequence[PDU]) -> None:
        self.events = {e.event_id: e for e in events}
        self.rejected: set[str] = set()

    def get(self, event_id: str) -> PDU | None:
        return self.events.get(event_id)

    def is_rejected(self, event_id: str) -> bool:
        return event_id in self.rejected


def _bob_joins_a_public_room(
    *, bob_cites_rules: bool
) -> tuple[PDU, PDU, PDU, PDU, PDU, dict[tuple[str, str], str]]:
    """A v10 room (create, Alice's join, power levels, public join rules) and Bob's
    join, citing the join rules or not; and the state before the join rules."""
    create = _make("10", ALICE, "m.room.create", "", {"creator": ALICE, "room_version": "10"})
    alice = _make("10", ALICE, "m.room.member", ALICE, {"membership": "join"}, [create])
    pl = _make("10", ALICE, "m.room.power_levels", "", {"users": {ALICE: 100}}, [create, alice])
    rules = _make(
        "10", ALICE, "m.room.join_rules", "", {"join_rule": "public"}, [create, alice, pl]
    )
    cited = [create, pl, rules] if bob_cites_rules else [create, pl]
    bob = _make("10", BOB, "m.room.member", BOB, {"membership": "join"}, cited)
    base = {
        ("m.room.create", ""): create.event_id,
        ("m.room.member", ALICE): alice.event_id,
        ("m.room.power_levels", ""): pl.event_id,
    }
    return create, alice, pl, rules, bob, base


def test_memoised_checks_forget_what_they_read_when_an_event_appears_or_is_rejected() -> None:
    """The iterative auth checks' memos (each event's own auth events, the verdicts
    without a trace) are dropped when an event they read appears or is rejected.

    Bob's join cites the public m.room.join_rules event, which the partial state
    does not hold. Spec (v1.16 authorization rules, m.room.member, join): a join
    is allowed "if the join_rule is public"; with no join rules event in the auth
    state the rule is not public and the join is rejected ("Otherwise, reject").
    Auth events that are missing or rejected are left out of the auth state
    (Synapse 1.163 ``_iterative_auth_checks``), so the verdict changes as the
    join rules event appears, then is rejected.
    """
    from app.core.stateres.v2 import iterative_auth_checks

    v = room_version("10")
    create, alice, pl, rules, bob, base = _bob_joins_a_public_room(bob_cites_rules=True)
    source = _GrowingSource([create, alice, pl, bob])  # the join rules event: not yet
    index = AuthChainIndex(source)
    bob_key = ("m.room.member", BOB)

    def joined() -> bool:
        changes = iterative_auth_checks(
            v, [bob.event_id], base, source, phase="t", steps=None, index=index
        )
        return changes.get(bob_key) == bob.event_id

    assert not joined()
    assert not joined()  # from the memos
    source.events[rules.event_id] = rules  # the join rules event arrives
    index.forget_parts_using(rules.event_id)
    assert joined()
    assert joined()  # from the memos
    source.rejected.add(rules.event_id)  # ... and is rejected
    index.forget_parts_using(rules.event_id)
    assert not joined()
    # The trace (no verdict memo) agrees with the memoised checks at each point.
    steps: list[Any] = []
    iterative_auth_checks(v, [bob.event_id], base, source, phase="t", steps=steps, index=index)
    assert steps[-1].outcome == "rejected"


def test_memoised_iterative_auth_checks_start_from_the_changes_given() -> None:
    """The partial state is ``base`` overlaid with the ``changes`` passed in: the join
    rules given as a change let Bob join, with or without the index's memos."""
    from app.core.stateres.v2 import iterative_auth_checks

    v = room_version("10")
    create, alice, pl, rules, bob, base = _bob_joins_a_public_room(bob_cites_rules=False)
    source = MappingSource({e.event_id: e for e in (create, alice, pl, rules, bob)})
    bob_key = ("m.room.member", BOB)
    for index in (None, AuthChainIndex(source)):
        without = iterative_auth_checks(
            v, [bob.event_id], base, source, phase="t", steps=None, index=index
        )
        assert bob_key not in without  # no join rules: invite only
        given = {("m.room.join_rules", ""): rules.event_id}
        changes = iterative_auth_checks(
            v, [bob.event_id], base, source, phase="t", steps=None, changes=given, index=index
        )
        assert changes[bob_key] == bob.event_id
        assert changes[("m.room.join_rules", "")] == rules.event_id


@pytest.mark.synapse
def test_a_one_off_resolution_builds_no_check_memos_and_a_reused_index_does() -> None:
    """The memoised iterative auth checks pay only when an index is reused: the first
    untraced resolution over an index runs the plain checks and leaves no verdicts
    behind, the next one memoises; both give Synapse's answer."""
    from tests.oracle.synapse_state import SynapseRoom

    n, events = _v12_room()
    sets = _v12_join_rules_fork(n)
    expected = SynapseRoom(room_version("12"), n.values()).resolve(sets)
    source = MappingSource(events)
    index = chain_index_for(source)
    v12 = room_version("12")
    assert dict(resolve_state(v12, sets, source).state) == expected
    assert not any(index.check_info_memo(v12.identifier))
    assert dict(resolve_state(v12, sets, source).state) == expected
    assert any(index.check_info_memo(v12.identifier))


def _own_auth_events_room(version_id: str) -> dict[str, PDU]:
    """Events whose verdicts depend on which own auth event the auth state keeps:
    the last known, not rejected one at each key (Synapse 1.163's
    ``_iterative_auth_checks`` adds them in order into a dict)."""
    v = room_version(version_id)
    create = build_event(
        v,
        type="m.room.create",
        state_key="",
        sender=ALICE,
        content={"room_version": version_id} if version_id == "12" else {"creator": ALICE},
        room_id=None if version_id == "12" else "!own:example.com",
    )
    rid = room_id_for(create) if version_id == "12" else "!own:example.com"
    n: dict[str, PDU] = {"create": create}
    # v12 names the create event by the room ID: it is never listed.
    add = _named_events(n, v, rid, listed=() if version_id == "12" else ("create",))

    add("ma", ALICE, "m.room.member", ALICE, {"membership": "join"}, [])
    pl_content = {"users": {ALICE: 100, BOB: 50}, "state_default": 50}
    add("pl", ALICE, "m.room.power_levels", "", pl_content, ["ma"])
    add("mb_join", BOB, "m.room.member", BOB, {"membership": "join"}, ["pl"])
    add("mb_leave", BOB, "m.room.member", BOB, {"membership": "leave"}, ["pl", "mb_join"])
    add("pl_x", ALICE, "m.room.power_levels", "x", {"users": {}}, ["pl", "ma"])
    # Bob's membership twice among the own auth events: the later (join) counts.
    add("topic_later", BOB, "m.room.topic", "", {"topic": "a"}, ["pl", "mb_leave", "mb_join"])
    # ... and the earlier (leave) when the later is rejected.
    add("topic_rejected", BOB, "m.room.topic", "", {"topic": "b"}, ["pl", "mb_join", "mb_leave"])
    # A power levels event under another state_key reads the previous one there
    # (from its own auth events), which forbids raising Bob above his level.
    add(
        "pl_x_new",
        BOB,
        "m.room.power_levels",
        "x",
        {"users": {BOB: 100}},
        ["pl", "pl_x", "mb_join"],
    )
    add("pl_y_new", BOB, "m.room.power_levels", "y", {"users": {BOB: 100}}, ["pl", "mb_join"])
    return n


@pytest.mark.parametrize("version_id", ["10", "12"])
@pytest.mark.parametrize("base_keys", ["none", "some", "all"])
def test_one_off_checks_keep_the_auth_state_a_trace_shows(version_id: str, base_keys: str) -> None:
    """The untraced one-off checks build each auth state from the partial state at
    the auth types and the own auth events only where it lacks a key; their
    verdicts must be those of the traced checks (which keep every own auth event,
    and which the Synapse comparisons check): the last of two own auth events at a
    key wins, a rejected one is left out, and a power levels event with a
    state_key other than "" reads the previous one under it."""
    from app.core.stateres.v2 import _plain_checks, iterative_auth_checks

    n = _own_auth_events_room(version_id)
    v = room_version(version_id)
    events = {e.event_id: e for e in n.values()}
    checked = ["topic_later", "topic_rejected", "pl_x_new", "pl_y_new"]
    for rejected in (set(), {n["mb_join"].event_id}, {n["mb_leave"].event_id}):
        source = MappingSource(events, rejected)
        # "some": the base lacks Bob's membership (read from the own auth events);
        # "all": it has every key the auth types name, so only the power levels
        # rule's previous event under "x" can come from the own auth events.
        base: dict[tuple[str, str], str] = {}
        if base_keys != "none":
            base = {
                ("m.room.create", ""): n["create"].event_id,
                ("m.room.power_levels", ""): n["pl"].event_id,
                ("m.room.member", ALICE): n["ma"].event_id,
            }
        if base_keys == "all":
            base[("m.room.member", BOB)] = n["mb_join"].event_id
        ids = [n[k].event_id for k in checked]
        steps: list[Any] = []
        traced = iterative_auth_checks(v, ids, base, source, phase="t", steps=steps)
        plain = _plain_checks(v, ids, base, source, {}, chain_index_for(source))
        assert plain == traced
        outcome = {s.event_id: s.outcome for s in steps}
        if not rejected and base_keys != "all":
            # Bob joined (the later of his two memberships) may set the topic once.
            assert outcome[n["topic_later"].event_id] == "allowed"
            assert outcome[n["pl_x_new"].event_id] == "rejected"  # raises Bob above 50
            assert outcome[n["pl_y_new"].event_id] == "allowed"  # nothing under "y"
