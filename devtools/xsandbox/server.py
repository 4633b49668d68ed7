"""Run the sandbox on loopback, in a thread (tests) or as a process (demo)."""

from __future__ import annotations

import argparse
import json
import logging
import threading
from dataclasses import dataclass

from werkzeug.serving import BaseWSGIServer, make_server

from devtools.xsandbox.app import SandboxApp
from devtools.xsandbox.world import World


@dataclass
class SandboxServer:
    world: World
    app: SandboxApp
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


def serve(world: World, port: int = 0, *, validate: bool = True) -> SandboxServer:
    """Start the sandbox on 127.0.0.1 (port 0: any free port) in a daemon thread."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log lines in test output
    app = SandboxApp(world, validate=validate)
    server = make_server("127.0.0.1", port, app, threaded=True)
    # A short poll: stop() returns within 50 ms instead of the default half second.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="x-sandbox", daemon=True)
    thread.start()
    return SandboxServer(world, app, server, thread)


def main() -> None:
    from devtools.xsandbox.seed import demo_world

    parser = argparse.ArgumentParser(description="Run the X API sandbox on loopback.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", help="write {base_url} here once listening")
    args = parser.parse_args()
    world, _ = demo_world()
    sandbox = serve(world, args.port)
    if args.ready_file:
        with open(args.ready_file, "w") as fh:
            json.dump({"base_url": sandbox.base_url}, fh)
    print(f"x sandbox listening on {sandbox.base_url}", flush=True)
    sandbox.thread.join()


if __name__ == "__main__":
    main()
