"""Onboarding steps: what apps above accounts give every new merchant (a default location...), and
the setup checklist's steps: what a new merchant still has to do, each judged by a fact another app owns.

An app registers a step from its AppConfig.ready(); `merchant_create` runs every step, in
registration order, inside the new merchant's scope and transaction, as `step(merchant=...)`.
Steps must be idempotent (a merchant re-created in a test, a step run again by hand).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.registry import Registry

OnboardingStep = Callable[..., object]

onboarding_steps: Registry[OnboardingStep] = Registry("accounts.onboarding_steps")


@dataclass(frozen=True)
class ChecklistStep:
    """One step of a new merchant's setup checklist on the home page. `is_done(merchant)` reads the fact
    that makes it done (a store exists, a carrier account exists...), so the tick can never drift from
    the data the way a stored flag would. Registered by the app that owns the fact; shown by `position`."""

    position: int
    title: str  # the link's words: what the step does ("Connect a store")
    description: str  # what following the link gets done, in a sentence
    url_name: str  # the page that does it (reversed when shown)
    is_done: Callable[[Any], bool]
    url_suffix: str = ""  # a query or fragment on that page ("#ship-from")


checklist_steps: Registry[ChecklistStep] = Registry("accounts.checklist_steps")
