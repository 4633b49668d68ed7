"""A stateful local stand-in for the X API v2, checked against X's own OpenAPI spec."""

from devtools.xsandbox.server import SandboxServer, serve
from devtools.xsandbox.world import Fault, Post, PostMetrics, User, World

__all__ = ["Fault", "Post", "PostMetrics", "SandboxServer", "User", "World", "serve"]
