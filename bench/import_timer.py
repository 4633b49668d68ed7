"""Child process (not imported by the bench): time one cold import in a fresh interpreter.

`python -I -B bench/import_timer.py CONFIG.json` with CONFIG {"paths", "mode", "modules"}:
mode "boto3" times `import boto3`; "handler" times importing the handler module as Lambda
does; "full" times the handler module and then every module its first call loaded (the
recorder's list, in import order; already-loaded ones are no-ops); "breakdown" does what
"full" does and also reports each step that took time (a module and what it pulled in);
"modules" times importing the listed modules alone. The clock starts after
sys.path is set and what awslambdaric's bootstrap loads is loaded, the same for every mode.
With "paused": true, the timed imports run as a handler's do (the collector disabled, then
`gc.freeze(); gc.enable()`): `import boto3` under the handlers' own init policy. The handler
modes need no flag: the handler module pauses and resumes the collector itself; with
"unpaused": true its pause is a no-op (what the pause saves is measured against that).
Prints one JSON line: {"ms": ..., "failed": [...], "steps": {module: ms}, "garbage": n};
garbage (modes "handler" and "full"): the unreachable objects init left, which the freeze
keeps (counted after the clock stops).
"""

from __future__ import annotations

import sys
import time

BOOTSTRAP_MODULES = ("importlib", "importlib.util", "json", "logging", "os", "traceback", "decimal", "math",
                     "concurrent.futures")


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as fh:
        text = fh.read()
    import json

    config = json.loads(text)
    sys.path[:] = config["paths"] + [p for p in sys.path if "site-packages" not in p and p]
    import importlib

    for name in BOOTSTRAP_MODULES:
        importlib.import_module(name)
    mode: str = config["mode"]
    modules: list[str] = config.get("modules", [])
    failed: list[str] = []
    steps: dict[str, float] = {}
    paused: bool = bool(config.get("paused"))
    import gc

    if config.get("unpaused"):  # the handler's own gc.disable() becomes a no-op: its init as it was without the pause
        gc.disable = lambda: None

    print("@@T0", file=sys.stderr, flush=True)  # for -X importtime readers: what follows is timed
    t0 = time.perf_counter()
    if paused:
        gc.disable()
    if mode == "boto3":
        importlib.import_module("boto3")
    elif mode == "modules":
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # an alias or a module made at run time: nothing to import
                failed.append(name)
    else:
        importlib.import_module("app")
        if mode in ("full", "breakdown"):
            steps["app"] = time.perf_counter() - t0
            for name in modules:
                if name not in sys.modules:
                    started = time.perf_counter()
                    try:
                        importlib.import_module(name)
                    except Exception:  # an alias or a module made at run time: nothing to import
                        failed.append(name)
                    steps[name] = time.perf_counter() - started
    if paused:
        gc.freeze()
        gc.enable()
    elapsed = time.perf_counter() - t0
    shown = {k: v * 1000 for k, v in steps.items() if v > 0.0005} if mode == "breakdown" else {}
    garbage = None
    if mode in ("handler", "full"):
        gc.unfreeze()
        garbage = gc.collect()
    print(json.dumps({"ms": elapsed * 1000, "failed": failed, "steps": shown, "garbage": garbage}), flush=True)


if __name__ == "__main__":
    main()
