"""core.progress: a bar redrawn in place on a terminal, a few whole lines anywhere else; and the long
management commands use it on stderr, keeping stdout for their result."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import OutputWrapper

from core.progress import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_is_redrawn_in_place_then_ends_with_one_line():
    out = Terminal()

    with progress(out, "keys", total=200) as bar:
        for _ in range(200):
            bar.advance()

    text = out.getvalue()
    redraws = text.split("\r")[1:]
    assert len(redraws) == 101  # once per percent (0 to 100), not once per item
    assert redraws[0] == "keys [" + "-" * 30 + "] 1/200 (0%)"
    assert redraws[1].endswith("] 2/200 (1%)")
    assert "[" + "#" * 30 + "] 200/200 (100%)" in redraws[-1]
    assert text.endswith("\nkeys: done, 200 of 200\n")


def test_elsewhere_it_writes_a_line_every_tenth_and_no_carriage_return():
    out = io.StringIO()  # a pipe or a log file: isatty() is False

    with progress(out, "keys", total=1000) as bar:
        for _ in range(100):
            bar.advance(10)

    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines == [f"keys: {n}/1000 ({n // 10}%)" for n in range(100, 1000, 100)] + ["keys: done, 1000 of 1000"]


def test_without_a_total_it_counts_in_steps():
    out = io.StringIO()

    with progress(out, "rows", every=50) as bar:
        for _ in range(120):
            bar.advance()

    assert out.getvalue().splitlines() == ["rows: 50", "rows: 100", "rows: done, 120"]


def test_a_command_stream_is_asked_whether_it_is_a_terminal():
    terminal, pipe = OutputWrapper(Terminal()), OutputWrapper(io.StringIO())

    for stream in (terminal, pipe):
        with progress(stream, "x", total=2) as bar:
            bar.advance(2)

    assert terminal._out.getvalue() == "\rx [" + "#" * 30 + "] 2/2 (100%)\nx: done, 2 of 2\n"
    assert pipe._out.getvalue() == "x: done, 2 of 2\n"


@pytest.mark.django_db
def test_rotate_encryption_keys_shows_progress_on_stderr_and_keeps_stdout(merchant_a):
    from accounts.tenancy import tenant_scope
    from tests.integrations.helpers import make_integration

    with tenant_scope(merchant_a.merchant):
        for n in range(3):
            make_integration(merchant_a.merchant, name=f"Shop {n}")
    stdout, stderr = io.StringIO(), io.StringIO()

    call_command("rotate_encryption_keys", batch_size=2, stdout=stdout, stderr=stderr)

    assert "integrations.Integration: done, 3 of 3" in stderr.getvalue().splitlines()
    assert "\r" not in stderr.getvalue()  # not a terminal: plain lines
    assert "integrations.Integration: 0 rotated, 3 already current" in stdout.getvalue().splitlines()
