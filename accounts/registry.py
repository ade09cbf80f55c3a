"""Onboarding steps: what apps above accounts give every new merchant (a default location...).

An app registers a step from its AppConfig.ready(); `merchant_create` runs every step, in
registration order, inside the new merchant's scope and transaction, as `step(merchant=...)`.
Steps must be idempotent (a merchant re-created in a test, a step run again by hand).
"""

from __future__ import annotations

from collections.abc import Callable

from core.registry import Registry

OnboardingStep = Callable[..., object]

onboarding_steps: Registry[OnboardingStep] = Registry("accounts.onboarding_steps")
