"""Progress of long commands: a live display on a terminal, periodic log lines otherwise.

One `Reporter` serves `sync --once` and every `migrate` verb. Rich's Progress keeps the
counts and estimates the rate and the time left in both cases; on a terminal it draws
them, elsewhere (systemd, cron, a pipe) the reporter logs them at INFO under
`bridge.progress`: a line every `every` seconds while a task runs, and one when it ends.
A command's tasks run one after another, so a new task ends the ones before it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

log = logging.getLogger("bridge.progress")
LOG_EVERY = 30.0  # seconds between log lines for one task when no terminal is watching


class RateColumn(ProgressColumn):
    """Rich's own rate (as TaskProgressColumn shows it without a total), with a total too."""

    def render(self, task: Task) -> Text:
        return TaskProgressColumn.render_speed(task.finished_speed or task.speed)


class Reporter:
    """`with Reporter(console) as report: report("pulling jira", done, total)`.

    The label says what is counted (a source's pull, a table's copy), `done` how many so
    far, `total` how many to expect when the source said so (None: count and rate only)."""

    def __init__(self, console: Console, *, every: float = LOG_EVERY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.every = every
        self.live = console.is_terminal
        self._clock = clock
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=20),
            TextColumn("{task.completed:,}{task.fields[of]} {task.fields[unit]}"),
            TaskProgressColumn(), RateColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
            console=console, transient=True, disable=not self.live, get_time=clock)
        self._tasks: dict[str, TaskID] = {}
        self._logged: dict[str, float] = {}
        self._finished: set[str] = set()
        if not self.live and log.level == logging.NOTSET:
            # a command's progress is what its operator asked for, also at default verbosity
            log.setLevel(logging.INFO)

    def __enter__(self) -> Reporter:
        if self.live:
            self.progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            for name in self._tasks:
                self.finish(name)
        if self.live:
            self.progress.stop()

    def __call__(self, name: str, done: int, total: int | None = None, unit: str = "records") -> None:
        task_id = self._tasks.get(name)
        now = self._clock()
        if task_id is None:
            for earlier in self._tasks:
                self.finish(earlier)
            task_id = self._tasks[name] = self.progress.add_task(name, total=total, of="", unit=unit)
            self._logged[name] = now  # the first line after `every` seconds: short tasks log once
        self.progress.update(task_id, completed=done, total=total,
                             of=f"/{total:,}" if total is not None else "")
        if not self.live and now - self._logged[name] >= self.every:
            self._logged[name] = now
            log.info("%s", self.line(name), extra={"progress": name, "done": done, "total": total})

    def finish(self, name: str) -> None:
        """Stop the clock of `name` and log its last count, once."""
        if name not in self._tasks or name in self._finished:
            return
        self._finished.add(name)
        self.progress.stop_task(self._tasks[name])
        if self.live:
            return  # the command's summary says it
        task = self._task(name)
        log.info("%s", self.line(name, final=True),
                 extra={"progress": name, "done": int(task.completed), "total": task.total})

    def line(self, name: str, *, final: bool = False) -> str:
        """`pulling jira: 1,500/4,000 records, 250/s, about 10 s left` (rate and time from rich)."""
        task = self._task(name)
        done = int(task.completed)
        total = f"/{int(task.total):,}" if task.total is not None and not final else ""
        parts = [f"{name}: {done:,}{total} {task.fields['unit']}" + (" done" if final else "")]
        elapsed = task.elapsed or 0.0
        speed = (done / elapsed if elapsed > 0 else None) if final else task.speed
        if speed:
            parts.append(f"{speed:,.0f}/s")
        if final:
            parts.append(f"in {elapsed:,.1f} s")
        elif task.time_remaining is not None and task.total is not None:
            parts.append(f"about {task.time_remaining:,.0f} s left")
        return ", ".join(parts)

    def _task(self, name: str) -> Task:
        return next(t for t in self.progress.tasks if t.id == self._tasks[name])


def cycle_hooks(report: Reporter) -> dict[str, Any]:
    """The Engine's hooks (`Engine(..., **cycle_hooks(report))`): each source's pull, the
    transitions derived and the pushes delivered."""
    def pulled(source: str, done: int, total: int | None) -> None:
        report(f"pulling {source}", done, total)

    def pushed(done: int, total: int) -> None:
        report("pushing", done, total, unit="pushes")

    def derived(done: int, total: int) -> None:
        report("deriving", done, total, unit="transitions")

    return {"progress": pulled, "push_progress": pushed, "derive_progress": derived}
