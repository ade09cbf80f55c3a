"""Long work in a management command, seen: a bar redrawn in place on a terminal, plain lines otherwise.

A person at a terminal wants to see it move; a log file, a CI job or a pipe wants a few whole lines it
can read afterwards (a carriage-return bar there is one unreadable line). So the stream decides: on a TTY
the bar is redrawn at most once per percent, elsewhere a line is written every tenth of the way (or every
`every` items when the total is unknown), and both end with one line of the total.

    with progress(self.stderr, "orders backfill", total=count) as bar:
        for batch in batches:
            ...
            bar.advance(len(batch))
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from django.core.management.base import OutputWrapper

WIDTH = 30


class Progress:
    def __init__(self, stream: TextIO | OutputWrapper, label: str, *, total: int | None = None,
                 every: int = 1000, tty: bool | None = None) -> None:
        self.stream, self.label, self.total, self.every = stream, label, total, every
        self.tty = tty if tty is not None else bool(hasattr(stream, "isatty") and stream.isatty())
        self.done = 0
        self._shown: int | None = None  # the last percent (bar) or step (lines) written

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.tty:
            percent = self._percent()
            if percent != self._shown:
                self._shown = percent
                self._write(f"\r{self._bar()}")
            return
        step = (self.done * 10 // self.total if self.total else self.done // self.every)
        if step != (self._shown or 0) and not (self.total and self.done >= self.total):
            self._shown = step
            self._write(f"{self.label}: {self._count()}\n")

    def finish(self) -> None:
        end = "\n" if self.tty and self._shown is not None else ""  # below the bar, when one was drawn
        self._write(f"{end}{self.label}: done, {self.done}{f' of {self.total}' if self.total else ''}\n")

    def _percent(self) -> int:
        return min(100, self.done * 100 // self.total) if self.total else self.done // self.every

    def _bar(self) -> str:
        if not self.total:
            return f"{self.label}: {self.done}…"
        filled = min(WIDTH, self.done * WIDTH // self.total)
        return f"{self.label} [{'#' * filled}{'-' * (WIDTH - filled)}] {self._count()}"

    def _count(self) -> str:
        if not self.total:
            return str(self.done)
        return f"{self.done}/{self.total} ({min(100, self.done * 100 // self.total)}%)"

    def _write(self, text: str) -> None:
        if isinstance(self.stream, OutputWrapper):
            self.stream.write(text, ending="")
        else:
            self.stream.write(text)
        self.stream.flush()


@contextmanager
def progress(stream: TextIO | OutputWrapper, label: str, *, total: int | None = None, every: int = 1000,
             tty: bool | None = None) -> Iterator[Progress]:
    """A `Progress` on `stream` (a command's self.stderr, so stdout stays the result), finished on exit;
    `tty` overrides what the stream says it is."""
    bar = Progress(stream, label, total=total, every=every, tty=tty)
    yield bar
    bar.finish()
