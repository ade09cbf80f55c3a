"""A loopback fake of Amazon's Selling Partner API and Login with Amazon (server.py), validated against
Amazon's own models (schema.py)."""

from .server import AmazonFake, ManualClock, RealClock
from .state import App, Seller

__all__ = ["AmazonFake", "App", "ManualClock", "RealClock", "Seller"]
