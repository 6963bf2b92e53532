"""Batched writer jobs: public input that may come in bursts (comments, questions,
upvotes). Consecutive jobs of one kind run in one transaction, as ballots do, so
a thousand phones upvoting at once cost a handful of commits.

A batch function gets every job of the run and returns one result per job, in
order: a :class:`CommandOutcome` (its events are appended to the log) or a
:class:`~live.domain.errors.LiveError` that refuses that job alone. It must settle duplicates inside
the batch itself (two upvotes by one device in one run)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from live.domain.errors import LiveError
from live.store.commands import CommandOutcome


@dataclass(frozen=True)
class BatchJob:
    meeting_id: int
    args: dict[str, Any]


BatchResult = CommandOutcome | LiveError
BatchFn = Callable[[Session, list[BatchJob], int], list[BatchResult]]
