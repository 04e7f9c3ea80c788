"""Differential test: roomscope's authorization rules against Synapse 1.163's, in-process.

Generated events (tests/generators/auth_events.py), good and deliberately bad, over
room versions 1-12. For each, roomscope checks the event against its own auth
events (``check_auth_events`` then ``check_auth``) and Synapse runs
``validate_event_for_room_version``, ``check_state_independent_auth_rules`` and
``check_state_dependent_auth_rules``; and, separately, the state-dependent rules
alone (``check_auth`` / ``check_state_dependent_auth_rules``) against the state the
auth events were selected from. Allowed/rejected must agree on every event.

CI runs a fixed sample (seed 1) and one random seed, printed in the log
(``ROOMSCOPE_AUTH_RANDOM_SEED`` replays it). Set
``ROOMSCOPE_AUTH_FUZZ_N=12000`` (and optionally ``ROOMSCOPE_AUTH_FUZZ_SEED``) for
the full run; it prints a summary of the verdicts and of where Synapse crashes.
"""

from __future__ import annotations

import os
import random
from collections import Counter

import pytest

from app.core.auth import auth_types_for_event, check_auth, check_auth_events
from app.core.auth import synapse_auth_types as roomscope_synapse_auth_types
from tests.generators.auth_events import AuthCase, generate_cases
from tests.oracle.synapse_auth import (
    synapse_auth_types,
    synapse_state_dependent_verdict,
    synapse_verdict,
)

FIXED_SEED = 1
FIXED_N = 600
RANDOM_N = 240


def roomscope_verdict(case: AuthCase):  # type: ignore[no-untyped-def]
    event = case.event
    auth = case.auth_pdus
    first = check_auth_events(event, auth, rejected=case.rejected, create_event=case.create)
    if not first.allowed or event.type == "m.room.create":
        return first
    state = {p.state_tuple: p for p in auth if p.state_tuple is not None}
    return check_auth(event, state, create_event=case.create)


def run(seed: int, n: int) -> tuple[list[str], Counter[str]]:
    problems: list[str] = []
    stats: Counter[str] = Counter()
    for case in generate_cases(seed, n):
        ours = roomscope_verdict(case)
        theirs = synapse_verdict(case.event, case.known, case.rejected)
        stats[f"{'allowed' if theirs.allowed else 'rejected'}"] += 1
        if theirs.kind.startswith("crash") or theirs.kind == "SynapseError":
            # Synapse failed rather than rejected: count by kind and first words
            words = " ".join(w for w in theirs.message.split()[:4] if "$" not in w)
            stats[f"synapse {theirs.kind} ({words})"] += 1
        if ours.allowed != theirs.allowed:
            problems.append(
                f"v{case.version.identifier} {case.label}: roomscope {ours.describe()} / "
                f"Synapse {theirs.kind} {theirs.message}\n  event: {dict(case.event.raw)}"
            )
        if case.event.type != "m.room.create":
            # The state-dependent rules alone, against the state the auth events
            # were selected from (what iterative auth checks do).
            keys = auth_types_for_event(case.version, case.event)
            selected = {k: case.state[k] for k in keys if k in case.state}
            mine = check_auth(case.event, selected, create_event=case.create)
            theirs_alone = synapse_state_dependent_verdict(
                case.event, [*selected.values(), *([case.create] if case.create else [])]
            )
            stats["state-dependent " + ("allowed" if theirs_alone.allowed else "rejected")] += 1
            if mine.allowed != theirs_alone.allowed:
                problems.append(
                    f"v{case.version.identifier} {case.label} (state-dependent alone): "
                    f"roomscope {mine.describe()} / Synapse {theirs_alone.kind} "
                    f"{theirs_alone.message}\n  event: {dict(case.event.raw)}"
                )
        syn_types = synapse_auth_types(case.event)
        if syn_types is not None:
            # Synapse selects (type, 5) for a token or authorising user that is not
            # a string; no state key can match it, roomscope selects nothing.
            syn_types = {k for k in syn_types if isinstance(k[1], str)}
            # What state resolution uses: Synapse's own answer, create key and all.
            as_synapse = set(roomscope_synapse_auth_types(case.version, case.event))
            if as_synapse != syn_types:
                problems.append(f"synapse_auth_types differ for {case.label}: {syn_types}")
            if case.version.room_id_from_create_event:
                syn_types.discard(("m.room.create", ""))
            if set(auth_types_for_event(case.version, case.event)) != syn_types:
                problems.append(f"auth types differ for {case.label}: {syn_types}")
    return problems, stats


def _check(seed: int, n: int) -> None:
    problems, stats = run(seed, n)
    print(f"auth vs Synapse: seed {seed}, {n} events:")
    for key, count in sorted(stats.items()):
        print(f"  {count:6d}  {key}")
    assert not problems, f"{len(problems)} disagreements (seed {seed}):\n" + "\n".join(
        problems[:10]
    )


def test_auth_agrees_with_synapse_fixed_sample() -> None:
    _check(FIXED_SEED, FIXED_N)


def test_auth_agrees_with_synapse_random_seed() -> None:
    seed = int(os.environ.get("ROOMSCOPE_AUTH_RANDOM_SEED") or random.randrange(1 << 30))
    print(f"random seed: {seed} (rerun with ROOMSCOPE_AUTH_RANDOM_SEED={seed})")
    _check(seed, RANDOM_N)


@pytest.mark.skipif(not os.environ.get("ROOMSCOPE_AUTH_FUZZ_N"), reason="set ROOMSCOPE_AUTH_FUZZ_N")
def test_auth_agrees_with_synapse_full() -> None:
    n = int(os.environ["ROOMSCOPE_AUTH_FUZZ_N"])
    seed = int(os.environ.get("ROOMSCOPE_AUTH_FUZZ_SEED", "20261127"))
    _check(seed, n)
