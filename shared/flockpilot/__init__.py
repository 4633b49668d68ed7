"""Flockpilot: a self-hosted growth autopilot for your own X account."""

from flockpilot.classcache import install as _install_classcache

__version__ = "0.1.0"

_install_classcache()  # dataclass methods compiled by the layer build, if it shipped them (see classcache)
