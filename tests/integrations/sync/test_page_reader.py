"""The orders step reads a channel's pages on a thread of its own (connect._PageReader): however that thread
ends, the step raises instead of waiting for a page, and a step that leaves (a soft time limit) does not wait
for a page fetch in flight. The channel is an in-memory adapter registered for the test whose fetch_orders
plays a script of pages: what is under test is the engine's reader, not a channel's HTTP."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar

import pytest
from celery import signals
from celery.exceptions import SoftTimeLimitExceeded

from accounts.tenancy import tenant_scope
from integrations.channels.base import ChannelAdapter, Page
from integrations.registry import ChannelPackage, channel_packages
from integrations.sync import connect
from integrations.sync.common import ChannelSession
from orders.models import Order
from tests.integrations.helpers import make_integration
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db

Step = Callable[[str | None], Page]


@dataclass
class _ScriptedAdapter(ChannelAdapter):
    """fetch_orders plays the test's script, one step per call (the cursor it was called with is kept)."""

    has_locations: ClassVar[bool] = False
    script: ClassVar[list[Step]] = []
    cursors: ClassVar[list[str | None]] = []

    def fetch_orders(self, updated_since, cursor=None):
        step = _ScriptedAdapter.script[len(_ScriptedAdapter.cursors)]
        _ScriptedAdapter.cursors.append(cursor)
        return step(cursor)

    def test_connection(self): raise NotImplementedError
    def fetch_listings(self, cursor=None): raise NotImplementedError
    def fetch_order(self, external_id): raise NotImplementedError
    def push_quantities(self, items): raise NotImplementedError
    def push_tracking(self, push): raise NotImplementedError
    def subscriptions_ensure(self, url): raise NotImplementedError
    def subscriptions_remove(self, url): raise NotImplementedError


@pytest.fixture
def scripted_channel():
    _ScriptedAdapter.script, _ScriptedAdapter.cursors = [], []
    package = ChannelPackage(slug="scripted", label="Scripted", colour="#000000", summary="", adapter=_ScriptedAdapter)
    with channel_packages.registered("scripted", package):
        yield _ScriptedAdapter


class _Hung(Exception):
    pass


@contextmanager
def _hang_guard(seconds: float) -> Iterator[None]:
    """A step that would wait forever raises _Hung instead (the test fails rather than hangs)."""

    def hung(signum, frame):
        raise _Hung(f"still waiting after {seconds} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _main_thread_waits_for_a_page() -> None:
    """Return once the test's (main) thread is inside the reader's batch(), waiting for a page."""
    main = threading.main_thread().ident
    for _ in range(2000):
        frame = sys._current_frames().get(main)
        while frame is not None and frame.f_code.co_name != "batch":
            frame = frame.f_back
        if frame is not None:
            return
        time.sleep(0.005)


def _order_page(external_id: str, next_cursor: str | None) -> Step:
    return lambda cursor: Page([normalized(external_id, lines=(("L1", "RD-1", 1),))], next_cursor)


class _Died(BaseException):
    """Not an Exception: what a thread may die of (SystemExit, a greenlet's exit)."""


def test_a_reader_that_dies_of_a_base_exception_fails_the_step_after_ingesting_what_came_before(
        scope_a, scripted_channel):
    # given a channel whose first page comes and whose second fetch kills the reader thread
    m = scope_a.merchant
    make_product(m, "RD-1", on_hand=5)
    integration = make_integration(m, channel="scripted", credentials={})

    def dies(cursor):
        raise _Died("reader thread killed")

    scripted_channel.script = [_order_page("2001", "p2"), dies]

    # when the orders step runs
    with _hang_guard(20), pytest.raises(connect.OrdersReaderDied) as err:
        connect.orders_step(merchant=m, integration=integration,
                            session=ChannelSession(merchant=m, integration=integration))

    # then it fails with the reader's death as the cause, after the first page was ingested and checkpointed
    assert isinstance(err.value.__cause__, _Died)
    assert list(Order.objects.filter(merchant=m).values_list("external_id", flat=True)) == ["2001"]
    integration.refresh_from_db()
    assert integration.checkpoints["orders_cursor"] == "p2"
    assert scripted_channel.cursors == [None, "p2"]


def test_leaving_the_step_does_not_wait_for_the_page_fetch_in_flight_and_the_reader_fetches_no_more(
        scope_a, scripted_channel):
    # given a channel whose first fetch hangs, and Celery's soft time limit (SIGUSR1 in the prefork pool, raising
    # SoftTimeLimitExceeded in the task's thread) arriving while the step waits for that page
    m = scope_a.merchant
    integration = make_integration(m, channel="scripted", credentials={})
    release, returned = threading.Event(), threading.Event()

    def hangs(cursor):
        _main_thread_waits_for_a_page()
        os.kill(os.getpid(), signal.SIGUSR1)
        release.wait(timeout=30)
        returned.set()
        return Page([], "p2")

    scripted_channel.script = [hangs, _order_page("3002", None)]

    def soft_time_limit(signum, frame):
        raise SoftTimeLimitExceeded()

    previous = signal.signal(signal.SIGUSR1, soft_time_limit)
    try:
        # when the step is stopped by the time limit
        with pytest.raises(SoftTimeLimitExceeded):
            connect.orders_step(merchant=m, integration=integration,
                                session=ChannelSession(merchant=m, integration=integration))
        # then it left while the fetch was still in flight
        assert not returned.is_set()
    finally:
        signal.signal(signal.SIGUSR1, previous)
        release.set()
    # and the abandoned reader, once its fetch returns, ends without fetching the next page
    for thread in [t for t in threading.enumerate() if t.name.startswith("orders-read-ahead")]:
        thread.join(timeout=10)
        assert not thread.is_alive()
    assert scripted_channel.cursors == [None]
    assert not Order.objects.filter(merchant=m).exists()


@dataclass
class _RefreshingAdapter(_ScriptedAdapter):
    """fetch_orders refreshes the store's access token once the step has left (the vendor has issued the new pair,
    the old refresh token is spent) and saves it, as a channel client does, through the saver it was given."""

    left: ClassVar[threading.Event] = threading.Event()
    saving: ClassVar[float] = 0.5  # the save's own time, after the step left

    def fetch_orders(self, updated_since, cursor=None):
        _RefreshingAdapter.left.wait(timeout=10)
        time.sleep(_RefreshingAdapter.saving)
        self.on_credentials_changed({"access_token": "at-2", "refresh_token": "rt-2"})
        return Page([], None)


@pytest.mark.django_db(transaction=True)  # the reader's thread saves on a connection of its own
def test_an_abandoned_fetch_refreshing_the_token_saves_it_before_the_worker_process_ends(merchant_a):
    # given a channel whose page fetch is refreshing the store's token when the step leaves
    _RefreshingAdapter.left = threading.Event()
    package = ChannelPackage(slug="refreshing", label="Refreshing", colour="#000000", summary="",
                             adapter=_RefreshingAdapter)
    with channel_packages.registered("refreshing", package), tenant_scope(merchant_a.merchant):
        m = merchant_a.merchant
        integration = make_integration(m, channel="refreshing",
                                       credentials={"access_token": "at-1", "refresh_token": "rt-1"})
        reader = connect._PageReader(ChannelSession(merchant=m, integration=integration), None, None)
        # when the step leaves (at most READER_EXIT_WAIT: it does not wait for the fetch)
        with reader:
            pass
        _RefreshingAdapter.left.set()
        assert reader.thread.is_alive()
        # then the thread is one Python joins at the interpreter's exit (a daemon would die mid-save there) ...
        assert not reader.thread.daemon
        # ... and a Celery pool child that ends (its os._exit joins nothing) waits for it: the new pair is saved
        signals.worker_process_shutdown.send(sender=None, pid=os.getpid(), exitcode=0)
        integration.refresh_from_db()
        assert integration.credentials == {"access_token": "at-2", "refresh_token": "rt-2"}
        assert not reader.thread.is_alive()
