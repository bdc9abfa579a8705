"""Progress of the long steps of a run: a bar on a terminal, otherwise one line per stage.

A sector-sized run spends minutes in ingest, features, each fit, evaluation and scoring;
whoever started it should see which of them it is in and how far each got. Each step
runs inside ``stage(name)``: on a terminal a spinner with the elapsed time shows while it
runs, and every finished stage prints one line, ``name: rows rows in seconds s``, on
standard error (so a command's JSON on standard output stays clean). ``quiet()`` silences
both; ``observe`` hands every finished stage to a listener (``continuity bench scale``
times the weekly flow with it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

console = Console(stderr=True)
_listeners: list[Callable[[Stage], None]] = []
_silenced = False
_bar: Progress | None = None


@dataclass
class Stage:
    """One finished (or running) step: ``rows`` it handled and ``facts`` worth recording beside them."""

    name: str
    rows: int | None = None
    started: float = field(default_factory=time.monotonic)  # time.monotonic(), as a listener samples it
    seconds: float | None = None
    facts: dict = field(default_factory=dict)


@contextmanager
def stage(name: str, rows: int | None = None) -> Iterator[Stage]:
    """Time the step in the block; the block may set ``rows`` (and ``facts``) on the record it gets.

    A step that fails prints nothing and reaches no listener: its error says enough.
    """
    record = Stage(name, rows)
    task = _bar_task(name)
    try:
        yield record
    finally:
        _end_bar_task(task)
    record.seconds = time.monotonic() - record.started
    if not _silenced:
        counted = "" if record.rows is None else f"{record.rows:,} rows in "
        console.print(f"[dim]{name}:[/dim] {counted}{record.seconds:.1f} s", highlight=False)
    for listener in list(_listeners):
        listener(record)


@contextmanager
def quiet() -> Iterator[None]:
    """No bars and no stage lines inside the block (``--quiet``)."""
    global _silenced
    before, _silenced = _silenced, True
    try:
        yield
    finally:
        _silenced = before


@contextmanager
def observe(listener: Callable[[Stage], None]) -> Iterator[None]:
    """Hand every stage that finishes inside the block to ``listener``."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def _bar_task(name: str):
    """A spinner line for the stage on a terminal, on the one live display all stages share (rich allows one
    live display at a time, and stages nest: each fit inside training)."""
    global _bar
    if _silenced or not console.is_terminal:
        return None
    if _bar is None:
        _bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                        console=console, transient=True)
        _bar.start()
    return _bar.add_task(name, total=None)


def _end_bar_task(task) -> None:
    global _bar
    if task is None or _bar is None:
        return
    _bar.remove_task(task)
    if not _bar.tasks:
        _bar.stop()
        _bar = None
