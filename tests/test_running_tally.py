"""The running tally (one ballot at a time, replacements included) equals the result
worked out from all ballots at once: the same dict, Decimal exponents and all."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest

from live.domain.running_tally import RunningTally
from live.domain.scheme import BallotValue, Scheme, grade_scheme, rubric_scheme, satisfaction_scheme
from live.domain.scoring import live_tally, score_item


def _choice(scheme: Scheme, rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.08:
        return {"abstain": True}
    if roll < 0.12:
        return {"option": "no-such-option"}  # stored but no longer fitting: counted invalid
    if scheme.criteria:
        return {"scores": {c.key: str(rng.choice([c.max, c.max / 2, 0, c.max - 1, "0.5"]))
                           for c in scheme.criteria}}
    return {"option": rng.choice(scheme.options).key}


@pytest.mark.parametrize("make", [satisfaction_scheme, grade_scheme, rubric_scheme])
@pytest.mark.parametrize("trim_k", [0, 1, 3])
@pytest.mark.parametrize("seed", range(4))
def test_running_equals_from_scratch(make: Any, trim_k: int, seed: int) -> None:
    scheme = replace(make(), trim_k=trim_k)
    rng = random.Random(seed)
    groups = [g.key for g in scheme.groups] + ["stranger"]  # a group outside the scheme
    running = RunningTally(scheme)
    ballots: dict[str, BallotValue] = {}
    for step in range(400):
        # Now and then a replaced ballot: the same id, a new choice (maybe a new group).
        bid = rng.choice(sorted(ballots)) if ballots and rng.random() < 0.3 else f"b{step}"
        value = BallotValue(rng.choice(groups), _choice(scheme, rng))
        ballots[bid] = value
        running.put(bid, value.group, value.choice)
        if step % 37 == 0 or step < 8:
            assert running.result().to_dict() == score_item(scheme, ballots.values()).to_dict()
            assert running.live() == live_tally(scheme, ballots.values())
    assert running.result().to_dict() == score_item(scheme, ballots.values()).to_dict()
    assert running.live() == live_tally(scheme, ballots.values())
    fresh = RunningTally(scheme, ballots.items())
    assert fresh.live() == running.live()
    assert sum(fresh.group_counts().values()) == fresh.known


def test_replacing_takes_the_old_choice_out() -> None:
    scheme = satisfaction_scheme()
    running = RunningTally(scheme)
    group = scheme.groups[0].key
    first, second = scheme.options[0].key, scheme.options[-1].key
    running.put("x", group, {"option": first})
    running.put("x", group, {"option": second})
    opts = dict(running.result().groups[0].options)
    assert opts[first] == 0 and opts[second] == 1
    assert running.result().ballots == 1
