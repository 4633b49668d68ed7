"""Flockpilot: a self-hosted growth autopilot for your own X account."""

__version__ = "0.1.0"
