"""One progress bar for the CLI's long work (audit, replay, log verify, export, the
marketplace copy): on stderr, only when stderr is a terminal, gone when the work is done.

Piped or redirected output (scripts, CI, `--json`) gets nothing: the bar is disabled,
not printed and erased.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported when a bar is made: `verify` starts faster without it
    from rich.progress import Progress, TaskID

__all__ = ["Bar", "terminal_progress"]


class Bar:
    """Callbacks for the library's progress parameters."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress = progress
        self._task = task

    def __call__(self, done: int, total: int | None) -> None:
        """``progress(done, total)``, as audit, replay and the log check call it."""
        self._progress.update(self._task, completed=done, total=total)

    def step(self, what: str, done: int, total: int) -> None:
        """``progress(what, done, total)``, as export calls it: a step and how far it is."""
        self._progress.update(self._task, description=what, completed=done, total=total)


@contextmanager
def terminal_progress(label: str, *, counts: bool = False) -> Iterator[Bar]:
    """A transient bar labelled ``label``; ``counts`` adds "done/total" and the time left."""
    from rich.console import Console
    from rich.progress import MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = Progress.get_default_columns()
    if counts:
        columns = (*columns[:-1], MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(
        *columns, console=Console(stderr=True), transient=True, disable=not sys.stderr.isatty()
    ) as progress:
        yield Bar(progress, progress.add_task(label, total=None))
