"""The curated sample rooms (sample_rooms/*.json, written by tools/make_samples.py).

Every sample loads cleanly, carries a title, a summary and a lesson whose events
exist, and verifies (event IDs, content hashes, signatures against the file's
server_keys). Every outcome is Synapse's: its in-process resolver and auth checks
(tests/oracle/synapse_state.py) give the state before every event, the rejected
events and the state at the extremities, and roomscope must agree; the rooms taken
from published scenarios also give the published result; and what each lesson
claims (who wins, what is rejected) is checked against Synapse, not against
roomscope.
"""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from app.commands import info
from app.core.events import PDU, StateKey
from app.core.room import Room
from app.core.roomstate import RoomStates
from app.core.stateres import resolve_state
from app.core.stepping import inputs_at, inputs_from_named_sets, step_through
from app.core.verify import verify_events
from app.sources.files import load_room
from tests.oracle.synapse_state import RoomStates as SynapseStates
from tests.oracle.synapse_state import StateTracker, state_at_extremities, topological_order

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_rooms"
RUMA_EXPECTED = ROOT / "tests" / "scenarios" / "data" / "ruma" / "expected.json"

CURATED = {
    "linear.json": "10",
    "fork-and-merge.json": "10",
    "ban-vs-power-levels.json": "10",
    "topic-reset.json": "10",
    "join-rule-evasion.json": "10",
    "msc4297-problem-a-v11.json": "11",
    "msc4297-problem-a-v12.json": "12",
    "msc4297-problem-b-v11.json": "11",
    "msc4297-problem-b-v12.json": "12",
    "v12-additional-creators.json": "12",
    "restricted-join.json": "10",
    "knock.json": "10",
    "room-v1.json": "1",
}

#: The events (by label) each lesson says the auth rules reject, with the words of
#: Synapse's reason for the rule the lesson names; Synapse must agree.
REJECTED = {
    "v12-additional-creators.json": {
        "charlie-kicks-bob": "You cannot kick user @bob:builders.example",
        "alice-lists-herself": "must not appear in content.users",
    },
    # Synapse's wording for "the authorising user's power is below the invite level".
    "restricted-join.json": {"charlie-via-bob": "Join event authorised by invalid server"},
    "knock.json": {"erin-knocks": "You don't have permission to knock"},
}

#: element-hq/synapse tests/state/test_v2.py: the published expected state at END.
SYNAPSE_PUBLISHED = {
    "ban-vs-power-levels.json": ["PA", "MA", "MB"],
    "topic-reset.json": ["T1", "MB", "PA"],
    "join-rule-evasion.json": ["JR"],
}

#: ruma-state-res snapshots (tests/scenarios/data/ruma/expected.json) per sample.
RUMA_PUBLISHED = {
    "msc4297-problem-a-v11.json": "msc4297_problem_a_state_res_v2_0",
    "msc4297-problem-a-v12.json": "msc4297_problem_a_state_res_v2_1",
    "msc4297-problem-b-v11.json": "msc4297_problem_b_state_res_v2_0",
    "msc4297-problem-b-v12.json": "msc4297_problem_b_state_res_v2_1",
}

#: MSC4297 rooms: the two events whose states are the published state sets.
BRANCH_ENDS = {
    "a": {
        "bob": "01-m-room-member-change-display-name-bob",
        "charlie": "01-m-room-member-change-display-name-charlie",
    },
    "b": {
        "eve": "01-m-room-member-change-display-name-eve",
        "zara": "00-m-room-member-join-zara",
    },
}

TOPIC: StateKey = ("m.room.topic", "")
JOIN_RULES: StateKey = ("m.room.join_rules", "")
POWER_LEVELS: StateKey = ("m.room.power_levels", "")


def sample_names() -> list[str]:
    return sorted(p.name for p in SAMPLES.glob("*.json"))


@functools.cache
def room(name: str) -> Room:
    return load_room(SAMPLES / name)


@functools.cache
def synapse(name: str) -> SynapseStates:
    """Synapse's state before/after and verdict of every event of sample ``name``."""
    r = room(name)
    tracker = StateTracker(r.room_version)
    for pdu in topological_order(r.events.values(), after_auth_events=True):
        tracker.add(pdu)
    return tracker.states


def ids(name: str) -> dict[str, str]:
    """label -> event ID."""
    labels = room(name).annotations["labels"]
    return {label: event_id for event_id, label in labels.items()}


def labels_of(name: str, event_ids: object) -> set[str]:
    labels = room(name).annotations["labels"]
    return {labels[e] for e in event_ids}  # type: ignore[attr-defined]


def state_of(r: Room, event_ids: list[str]) -> dict[StateKey, str]:
    out: dict[StateKey, str] = {}
    for event_id in event_ids:
        pdu = r.events[event_id]
        assert pdu.state_key is not None
        out[(pdu.type, pdu.state_key)] = event_id
    return out


def test_every_curated_room_is_there() -> None:
    assert set(CURATED) <= set(sample_names())


def test_the_default_room_is_the_fork_and_merge() -> None:
    # UI.md, "First minute": two branches visibly fork and merge.
    default = Path(info.default_sample())
    assert default == SAMPLES / "fork-and-merge.json"
    assert room(default.name).graph.merges


@pytest.mark.parametrize("name", sample_names())
def test_sample_loads_with_a_lesson(name: str) -> None:
    r = room(name)
    assert not r.findings, [f.message for f in r.findings]
    if name in CURATED:
        assert r.room_version.identifier == CURATED[name]
    notes: Mapping[str, Any] = r.annotations
    assert isinstance(notes.get("title"), str) and notes["title"].strip()
    assert isinstance(notes.get("summary"), str) and len(notes["summary"]) > 100
    lesson = notes.get("lesson")
    assert isinstance(lesson, list) and 3 <= len(lesson) <= 8
    for item in lesson:
        assert item["event_id"] in r.events, item
        assert isinstance(item["note"], str) and item["note"].strip()
    assert set(notes["labels"]) == set(r.events)
    assert len(set(notes["labels"].values())) == len(r.events)
    for event_id in notes.get("resolve_at", []):
        assert len(r.events[event_id].prev_events) >= 2, "resolve_at names a merge"
    assert 4 <= len(r.events) <= 60, "sample rooms stay small"
    if name in CURATED:
        assert notes["order"] == list(CURATED).index(name) + 1


@pytest.mark.parametrize("name", sample_names())
def test_sample_as_the_window_lists_it(name: str) -> None:
    from app.ui.document import Annotations
    from app.ui.samples_panel import find_samples

    listed = {s.path.name: s for s in find_samples(SAMPLES)}
    r = room(name)
    assert listed[name].title == r.annotations["title"]
    assert listed[name].summary == r.annotations["summary"]
    parsed = Annotations.from_json(dict(r.annotations))
    assert [n.event_id for n in parsed.lesson] == [n["event_id"] for n in r.annotations["lesson"]]


@pytest.mark.parametrize("name", sample_names())
def test_sample_verifies(name: str) -> None:
    r = room(name)
    assert r.server_keys, "the file carries its servers' public keys"
    for result in verify_events(r.events.values(), r.server_keys):
        assert result.event_id_result in ("ok", "not_applicable"), result.as_json()
        assert result.content_hash == "ok", result.as_json()
        assert result.signatures == "ok", result.as_json()
    if r.room_version.event_ids_derived:
        assert all(not e.startswith("$") or ":" not in e for e in r.events)
    else:
        assert all(":" in e for e in r.events), "v1/v2 IDs are $name:server"


def test_restricted_joins_are_signed_by_the_authorising_server() -> None:
    r = room("restricted-join.json")
    joins = [
        e
        for e in r.events.values()
        if e.type == "m.room.member" and "join_authorised_via_users_server" in e.content
    ]
    assert len(joins) == 3
    for pdu in joins:
        authoriser = pdu.content["join_authorised_via_users_server"]
        signers = set(pdu.raw["signatures"])
        assert signers == {pdu.server_name, authoriser.partition(":")[2]}


@pytest.mark.parametrize("name", sample_names())
def test_states_and_verdicts_agree_with_synapse(name: str) -> None:
    r = room(name)
    theirs = synapse(name)
    ours = RoomStates(r.graph)
    assert set(ours.rejected) == set(theirs.rejected), theirs.rejected
    if name in CURATED:
        expected = REJECTED.get(name, {})
        assert labels_of(name, theirs.rejected) == set(expected), theirs.rejected
        by_label = ids(name)
        for label, words in expected.items():
            assert words in theirs.rejected[by_label[label]]
    for event_id in theirs.order:
        assert dict(ours.state_before(event_id)) == theirs.state_before[event_id], event_id
    extremities = list(r.graph.forward_extremities)
    assert dict(ours.resolve_at(extremities).state) == state_at_extremities(theirs, extremities)


@pytest.mark.parametrize("name", [n for n in sample_names() if room(n).state_sets])
def test_state_sets_resolve_as_synapse_does(name: str) -> None:
    r = room(name)
    sets = [state_of(r, list(v)) for v in r.state_sets.values()]
    theirs = synapse(name).room.resolve(sets)
    assert dict(resolve_state(r.room_version, sets, r.events).state) == theirs


@pytest.mark.parametrize("name", sorted(SYNAPSE_PUBLISHED))
def test_synapse_published_scenario(name: str) -> None:
    # As Synapse's do_check: the state at END, restricted to the expected keys and
    # the keys that changed since START, is the published one.
    r, by_label, theirs = room(name), ids(name), synapse(name)
    expected = {}
    for label in SYNAPSE_PUBLISHED[name]:
        pdu = r.events[by_label[label]]
        assert pdu.state_key is not None
        expected[(pdu.type, pdu.state_key)] = pdu.event_id
    start = theirs.state_after[by_label["START"]]
    end = theirs.state_after[by_label["END"]]
    got = {k: v for k, v in end.items() if k in expected or start.get(k) != v}
    assert got == expected
    assert room(name).annotations["resolve_at"] == [by_label["END"]]


#: The fixtures' users and the samples' (tools/make_samples.py puts them on servers).
RUMA_USERS = {
    "@alice:example.com": "@alice:wonderland.example",
    "@bob:example.com": "@bob:builders.example",
    "@charlie:example.com": "@charlie:choir.example",
    "@zara:example.com": "@zara:choir.example",
    "@eve:example.com": "@eve:elsewhere.example",
}


def _ruma_expected(name: str) -> dict[StateKey, str]:
    published = json.loads(RUMA_EXPECTED.read_text())[RUMA_PUBLISHED[name]]
    by_label = ids(name)
    return {(t, RUMA_USERS.get(k, k)): by_label[e.removeprefix("$")] for t, k, e in published}


@pytest.mark.parametrize("name", sorted(RUMA_PUBLISHED))
def test_msc4297_published_result(name: str) -> None:
    r, by_label, theirs = room(name), ids(name), synapse(name)
    expected = _ruma_expected(name)
    sets = {k: state_of(r, list(v)) for k, v in r.state_sets.items()}
    # The file's state sets are the published ones, and Synapse resolves them as published.
    assert theirs.room.resolve(list(sets.values())) == expected
    # The graph's two branches end in exactly those states, so the merge resolves them.
    ends = BRANCH_ENDS["a" if "problem-a" in name else "b"]
    assert set(sets) == set(ends)
    for set_name, label in ends.items():
        assert theirs.state_after[by_label[label]] == sets[set_name]
    assert theirs.state_before[by_label["02-merge"]] == expected
    assert room(name).annotations["resolve_at"] == [by_label["02-merge"]]


def test_msc4297_what_differs_between_v11_and_v12() -> None:
    # The summaries say v11 resets (join rules gone; oldest power levels back), v12 not.
    a11, a12 = (
        _ruma_expected("msc4297-problem-a-v11.json"),
        _ruma_expected("msc4297-problem-a-v12.json"),
    )
    assert JOIN_RULES not in a11 and JOIN_RULES in a12
    b11, b12 = (
        _ruma_expected("msc4297-problem-b-v11.json"),
        _ruma_expected("msc4297-problem-b-v12.json"),
    )
    assert b11[POWER_LEVELS] == ids("msc4297-problem-b-v11.json")["00-m-room-power_levels"]
    assert b12[POWER_LEVELS] == ids("msc4297-problem-b-v12.json")["02-m-room-power_levels"]


def test_fork_and_merge_lesson_holds_in_synapse() -> None:
    name = "fork-and-merge.json"
    by_label, theirs = ids(name), synapse(name)
    # First merge: the branches' states are equal, nothing to resolve.
    assert theirs.state_after[by_label["alice-msg-2"]] == theirs.state_after[by_label["bob-msg-2"]]
    # Second merge: the topics conflict, and Bob's (the later) wins.
    after_a = theirs.state_after[by_label["alice-topic"]]
    after_b = theirs.state_after[by_label["bob-topic"]]
    assert after_a[TOPIC] != after_b[TOPIC]
    assert theirs.state_before[by_label["merge-2"]][TOPIC] == by_label["bob-topic"]
    assert set(room(name).annotations["resolve_at"]) == {by_label["merge-1"], by_label["merge-2"]}


def test_room_v1_lesson_names_synapses_winner() -> None:
    name = "room-v1.json"
    r, by_label, theirs = room(name), ids(name), synapse(name)
    winner = theirs.state_before[by_label["merge"]][TOPIC]
    loser = ({by_label["topic-alice"], by_label["topic-bob"]} - {winner}).pop()
    assert r.events[winner].depth == r.events[loser].depth

    def sha1(event_id: str) -> str:
        return hashlib.sha1(event_id.encode()).hexdigest()

    # The spec's v1 tie-break the note explains: the smaller SHA-1 of the event ID.
    assert sha1(winner) < sha1(loser)
    who = "Alice's" if winner == by_label["topic-alice"] else "Bob's"
    note = next(n["note"] for n in r.annotations["lesson"] if n["event_id"] == by_label["merge"])
    assert f"{who} topic has the smaller SHA-1" in note


def test_v12_creators_are_not_in_the_users_map() -> None:
    r = room("v12-additional-creators.json")
    create: PDU = next(e for e in r.events.values() if e.type == "m.room.create")
    creators = {create.sender, *create.content["additional_creators"]}
    accepted_pls = [
        e
        for e in r.events.values()
        if e.type == "m.room.power_levels"
        and e.event_id not in synapse("v12-additional-creators.json").rejected
    ]
    assert accepted_pls
    for pdu in accepted_pls:
        assert not creators & set(pdu.content["users"])


def test_generator_reproduces_the_files(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_samples.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for name in CURATED:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name


def test_readme_lists_every_sample_with_its_title() -> None:
    readme = (SAMPLES / "README.md").read_text()
    for name in sample_names():
        assert f"`{name}`" in readme, name
        assert room(name).annotations["title"] in readme, name
    assert "tools/make_large_room.py" in readme


@pytest.mark.parametrize(
    "name", [n for n in sample_names() if room(n).annotations.get("resolve_at")]
)
def test_resolve_here_steps_end_in_synapses_state(name: str) -> None:
    # What the stepper shows at each merge the lesson points at ends in the state
    # Synapse gives that merge; and, for the MSC4297 rooms, resolving the file's
    # state sets ends in Synapse's resolution of them.
    r, theirs = room(name), synapse(name)
    ours = RoomStates(r.graph)
    for merge in r.annotations["resolve_at"]:
        stepping = step_through(r.room_version, inputs_at(ours, [merge]), ours)
        assert stepping.conflicted_keys() or r.annotations["labels"][merge] == "merge-1"
        assert dict(stepping.partial_state(len(stepping) - 1)) == theirs.state_before[merge]
    if r.state_sets:
        inputs = inputs_from_named_sets(r.events, r.state_sets)
        stepping = step_through(r.room_version, inputs, ours)
        sets = [state_of(r, list(v)) for v in r.state_sets.values()]
        assert dict(stepping.partial_state(len(stepping) - 1)) == theirs.room.resolve(sets)
