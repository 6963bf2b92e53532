"""An item's live tally kept up to date ballot by ballot.

A new ballot adds its reading to its group's counts; a replaced one takes the old
reading back out first. Working out the result then costs the number of groups and
of distinct scores, never the number of ballots, and it is the same code
(``scoring.result_of``) that freezes the result, so the two cannot disagree."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from live.domain.scheme import BallotValue, Scheme, check_scheme
from live.domain.scoring import GroupTally, ItemResult, Reading, count, reading, result_of, tally_dict


class RunningTally:
    """Ballot id -> what it counts for, and each group's counts (pure, no I/O)."""

    __slots__ = ("_tallies", "ballots", "scheme", "unassigned")

    def __init__(self, scheme: Scheme, ballots: Iterable[tuple[str, BallotValue]] = ()) -> None:
        check_scheme(scheme)
        self.scheme = scheme
        self._tallies = {g.key: GroupTally(scheme) for g in scheme.groups}
        self.unassigned = 0
        # What each ballot was counted as: its group and reading (None: a group not in the scheme).
        self.ballots: dict[str, tuple[str, Reading | None]] = {}
        for ballot_id, value in ballots:
            self.put(ballot_id, value.group, value.choice)

    def __len__(self) -> int:
        return len(self.ballots)

    def put(self, ballot_id: str, group: str, choice: Mapping[str, Any]) -> None:
        """A stored ballot, new or replacing the one of the same id: O(1) either way."""
        old = self.ballots.get(ballot_id)
        if old is not None:
            self._count(old[0], old[1], -1)
        tally = self._tallies.get(group)
        r = reading(self.scheme, choice) if tally is not None else None
        self.ballots[ballot_id] = (group, r)
        self._count(group, r, 1)

    def _count(self, group: str, r: Reading | None, n: int) -> None:
        tally = self._tallies.get(group)
        if tally is None or r is None:
            self.unassigned += n
        else:
            count(tally, r, n)

    def result(self) -> ItemResult:
        return result_of(self.scheme, self._tallies, self.unassigned)

    def live(self) -> dict[str, Any]:
        """What ``scoring.live_tally`` gives for these ballots: ballots outside the scheme's
        groups are left out of it altogether."""
        return tally_dict(result_of(self.scheme, self._tallies, 0), self.known)

    def group_counts(self) -> dict[str, int]:
        """Ballots per group of the scheme (how many, never how cast)."""
        return {key: t.ballots for key, t in self._tallies.items()}

    @property
    def known(self) -> int:
        """Ballots in a group of the scheme (what ``live_tally`` calls the total)."""
        return len(self.ballots) - self.unassigned
