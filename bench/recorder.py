"""Child process (not imported by the bench): one Lambda cold start of one function, recorded.

Run as `python -I -B bench/recorder.py CONFIG.json` by bench.coldstart. It sets sys.path as
Lambda has it (function dir, the layer, then what the runtime and AWS's Powertools layer
provide), loads what awslambdaric's bootstrap has already loaded before it imports a
handler, imports the handler module as Lambda does (`importlib.import_module("app")`),
calls it once with the first event, records every module loaded since (in import order),
its origin and peak RSS (VmHWM), then waits for the parent to prepare the warm call, makes it and
reports everything as one JSON line. Lines it prints for the parent start with MARK.
"""

from __future__ import annotations

import sys
import time
from typing import Any

MARK = "@@BENCH "
# What awslambdaric's bootstrap (and its runtime client and marshaller) import before the handler.
BOOTSTRAP_MODULES = ("importlib", "importlib.util", "json", "logging", "os", "traceback", "decimal", "math",
                     "concurrent.futures")


class Context:
    """What LambdaContext carries and Powertools reads. Not flockpilot.invoke.LocalContext: the
    recorder imports nothing of the layer before the handler does, or the list of modules a
    cold start loads (what the bench times) would include it."""

    def __init__(self, function: str, timeout_seconds: float = 120.0) -> None:
        self.function_name = f"flockpilot-{function}"
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 256
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"
        self.aws_request_id = "00000000-0000-4000-8000-000000000000"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "bench"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def lambda_path(paths: list[str]) -> None:
    """sys.path as Lambda's: the given dirs first, then the interpreter's standard library."""
    stdlib = [p for p in sys.path if "site-packages" not in p and p]
    sys.path[:] = paths + stdlib


def did(result: object) -> dict[str, object]:
    """What the handler's answer says it did, compactly (lists as their lengths, the cost and
    the reconciliation's figures flattened one level)."""
    if not isinstance(result, dict):
        return {"result": type(result).__name__}
    out: dict[str, object] = {}
    for key, value in result.items():
        if isinstance(value, list):
            if value:
                out[key] = len(value)
        elif isinstance(value, str | int | float | bool) and key not in ("account", "started_at", "day"):
            out[key] = value
        elif key in ("cost", "reconciliation") and isinstance(value, dict):
            for inner, figure in value.items():
                if isinstance(figure, str | int | float):
                    out[f"{key}.{inner}"] = figure
                elif isinstance(figure, dict):
                    out.update({f"{key}.{inner}.{k}": v for k, v in figure.items() if isinstance(v, int | float)})
    return out


def origins(names: list[str], roots: dict[str, str]) -> tuple[dict[str, dict[str, int]], list[str], int, int]:
    """Where each module came from (by kind and top-level package), modules from nowhere
    expected, and how many layer modules ran from shipped bytecode / from source."""
    import os

    by_kind: dict[str, dict[str, int]] = {}
    strays: list[str] = []
    from_pyc = from_source = 0
    stdlib = os.path.dirname(os.__file__)
    for name in names:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None) if module is not None else None
        top = name.split(".")[0]
        kind = "builtin or frozen"
        if path:
            kind = next((k for k, root in roots.items() if path.startswith(root + os.sep)), "")
            if not kind:
                kind = "stdlib" if path.startswith(stdlib + os.sep) else "ELSEWHERE"
            if kind == "ELSEWHERE":
                strays.append(f"{name} from {path}")
            if kind == "layer" and path.endswith(".py"):
                cached = getattr(module, "__cached__", None)
                if cached and os.path.exists(cached):
                    from_pyc += 1
                else:
                    from_source += 1
        by_kind.setdefault(kind, {})
        by_kind[kind][top] = by_kind[kind].get(top, 0) + 1
    return by_kind, strays, from_pyc, from_source


# Where the first call's time goes, by (file fragment, function): cumulative ms (they overlap).
PROFILED = {
    ("importlib._bootstrap", "_find_and_load"): "imports",
    ("botocore/session.py", "create_client"): "botocore clients (incl. their imports)",
    ("botocore/loaders.py", "load_service_model"): "botocore service models",
    ("urllib3/connectionpool.py", "urlopen"): "HTTP round trips (AWS and X)",
    ("urllib3/connection.py", "connect"): "TCP connects",
    ("flockpilot/adapters/secrets.py", "load_x_credentials"): "secret read",
    ("pynamodb/connection/base.py", "dispatch"): "DynamoDB calls",
}


def profiled(call: Any) -> tuple[Any, dict[str, float]]:
    """Run `call` under cProfile; the cumulative ms of the PROFILED functions and the total."""
    import cProfile
    import pstats

    profile = cProfile.Profile()
    started = time.perf_counter()
    result = profile.runcall(call)
    spent: dict[str, float] = {"total (profiled)": (time.perf_counter() - started) * 1000}
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    for (path, _, function), entry in stats.items():
        for (fragment, name), label in PROFILED.items():
            if function == name and fragment in path.replace("\\", "/"):
                spent[label] = spent.get(label, 0.0) + entry[3] * 1000
    return result, spent


def count_dynamodb_requests() -> dict[str, int]:
    """Count the DynamoDB requests the handler makes from now on, by operation (PynamoDB's
    Connection.dispatch, which every request of the product's stores goes through; loaded by
    the handler's import already, so counting adds no module to the list)."""
    from pynamodb.connection.base import Connection

    counts: dict[str, int] = {}
    original = Connection.dispatch

    def dispatch(self: Any, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        counts[operation_name] = counts.get(operation_name, 0) + 1
        return original(self, operation_name, operation_kwargs)

    Connection.dispatch = dispatch  # type: ignore[method-assign]
    return counts


def peak_rss_kib() -> int:
    """This process's own peak RSS (VmHWM). ru_maxrss would not do: Linux carries the high
    water mark across exec, so a child forked from the bench's large parent reports the
    parent's size."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as fh:
        config_text = fh.read()
    import json  # loaded by the bootstrap anyway; the config is read first

    config = json.loads(config_text)
    lambda_path(config["paths"])
    import importlib

    for name in BOOTSTRAP_MODULES:
        importlib.import_module(name)
    import resource

    profile = bool(config.get("profile"))
    if profile:
        import cProfile  # noqa: F401  (loaded before the list starts: not the handler's)
        import pstats  # noqa: F401
    before = set(sys.modules)
    t0 = time.perf_counter()
    module = importlib.import_module("app")
    t1 = time.perf_counter()
    handler = module.lambda_handler
    requests = count_dynamodb_requests()
    spent: dict[str, dict[str, float]] = {}
    if profile:
        first, spent["first"] = profiled(lambda: handler(config["first_event"], Context(config["function"])))
    else:
        first = handler(config["first_event"], Context(config["function"]))
    t2 = time.perf_counter()
    first_requests = dict(requests)
    requests.clear()
    loaded = [name for name in list(sys.modules) if name not in before]
    peak_first_kib = peak_rss_kib()
    print(MARK + json.dumps({"stage": "first", "did": did(first)}), flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("recorder: the parent did not say go")
    # The parent put the account's items back as they were before the first call (and took down
    # what it published) so that the warm call does the first call's work; a container remembers a
    # finished day (jobs.skeleton.day_done) or the plan it read (jobs.post) and would rightly skip
    # the work. Forget that, as on a new day.
    if config["function"] == "post":
        from flockpilot.jobs.post import forget_last_reads

        forget_last_reads()
    else:
        from flockpilot.jobs.skeleton import forget_done_days

        forget_done_days()
    t3 = time.perf_counter()
    if profile:
        warm, spent["warm"] = profiled(lambda: handler(config["warm_event"], Context(config["function"])))
    else:
        warm = handler(config["warm_event"], Context(config["function"]))
    t4 = time.perf_counter()
    warm_requests = dict(requests)
    extra: dict[str, float] = {}
    if config["function"] == "post" and not profile:  # and a later tick of the day: the plan exists, it only publishes
        t5 = time.perf_counter()
        handler(config["warm_event"], Context(config["function"]))
        extra["next_call_ms"] = (time.perf_counter() - t5) * 1000
    peak_kib = peak_rss_kib()
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    by_kind, strays, from_pyc, from_source = origins(loaded, config["roots"])
    from flockpilot.classcache import stats as classcache_stats  # loaded by the handler already

    classes = classcache_stats()
    print(MARK + json.dumps({
        "stage": "done", "import_ms": (t1 - t0) * 1000, "first_call_ms": (t2 - t1) * 1000, "warm_call_ms": (t4 - t3) * 1000,
        "modules": loaded, "peak_rss_after_first_kib": peak_first_kib, "peak_rss_kib": peak_kib, "ru_maxrss_kib": maxrss_kib,
        "first": {**did(first), "dynamodb.requests": sum(first_requests.values())},
        "warm": {**did(warm), "dynamodb.requests": sum(warm_requests.values())},
        "dynamodb_by_operation": {"first": first_requests, "warm": warm_requests}, "origins": by_kind, "strays": strays,
        "layer_from_bytecode": from_pyc, "layer_from_source": from_source, "profile": spent, "classcache": classes, **extra,
    }), flush=True)


if __name__ == "__main__":
    main()
