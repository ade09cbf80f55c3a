"""Settings for bench/webhooks_bench.py only: the project's settings with the bench URLconf, which adds
a bare view beside the real routes. Never used outside the benchmark."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.webhooks_urls"
