"""What a handler module does while Lambda initialises the function: it loads its code with the
garbage collector paused, then freezes what init made and collects again (flockpilot.runtime
.import_function_code)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from flockpilot import runtime

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ("post", "follow", "prune", "digest")

# Imports functions/<name>/app.py as Lambda does (its directory first on the path) and reports
# every collection the collector started once the handler's imports began (flockpilot is the
# first of them) and before init froze its objects, and the collector's state after.
IMPORT_HANDLER = textwrap.dedent("""
    import gc, importlib, json, sys
    sys.path.insert(0, sys.argv[1])
    during_init = []

    def watch(phase, info):
        if phase == "start" and "flockpilot" in sys.modules and gc.get_freeze_count() == 0:
            during_init.append(info["generation"])

    gc.callbacks.append(watch)
    importlib.import_module("app")
    gc.callbacks.remove(watch)
    print(json.dumps({"collections_during_init": during_init, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
                      "modules": len(sys.modules)}))
""")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_handler_loads_its_code_without_a_collection_then_freezes_it_and_collects_again(function: str) -> None:
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true"}
    done = subprocess.run([sys.executable, "-B", "-c", IMPORT_HANDLER, str(ROOT / "functions" / function)],
                          capture_output=True, text=True, timeout=120, check=False, env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["modules"] > 300  # the whole init: botocore, PynamoDB, Powertools and the function's code
    assert report["collections_during_init"] == []
    assert report["enabled"] is True
    assert report["frozen"] > 30_000  # init's objects, out of the collector's generations


@pytest.fixture
def collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    gc.unfreeze()
    if was:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.usefixtures("collector_restored")
def test_a_failed_import_during_init_still_resumes_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(runtime.FUNCTION_MODULES, "post", ("flockpilot.no_such_module",))
    gc.disable()
    with pytest.raises(ModuleNotFoundError, match="flockpilot.no_such_module"):
        runtime.import_function_code("post")
    assert gc.isenabled()


GARBAGE_AFTER_INIT = textwrap.dedent("""
    import gc, importlib, json, sys
    sys.path.insert(0, sys.argv[1])
    importlib.import_module("app")
    tracing = "aws_xray_sdk" in sys.modules
    gc.unfreeze()
    print(json.dumps({"tracing": tracing, "garbage": gc.collect()}))
""")


@pytest.mark.parametrize("tracing", ["false", "true"])
def test_init_keeps_little_garbage_frozen_with_tracing_on_or_off(tracing: str) -> None:
    # As in Lambda (LAMBDA_TASK_ROOT set): there, the X-Ray SDK makes no sampling client of its own.
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": tracing, "POWERTOOLS_METRICS_DISABLED": "true",
           "AWS_LAMBDA_FUNCTION_NAME": "flockpilot-post", "LAMBDA_TASK_ROOT": str(ROOT / "functions" / "post")}
    done = subprocess.run([sys.executable, "-B", "-c", GARBAGE_AFTER_INIT, str(ROOT / "functions" / "post")],
                          capture_output=True, text=True, timeout=120, check=False, env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["tracing"] is (tracing == "false")  # the X-Ray SDK loads only when tracing is on
    assert report["garbage"] < 2_000  # ~270: what the freeze keeps


TWO_LOADS = textwrap.dedent("""
    import gc, json, weakref
    from flockpilot.invoke import load_handler
    load_handler("post")
    frozen = gc.get_freeze_count()

    class Cycle:
        pass

    planted = Cycle()
    planted.me = planted
    alive = weakref.ref(planted)
    del planted
    load_handler("follow")
    gc.collect()
    print(json.dumps({"frozen_first": frozen, "frozen_after": gc.get_freeze_count(), "planted_collected": alive() is None,
                      "enabled": gc.isenabled()}))
""")


def test_a_process_that_loads_several_handlers_freezes_at_the_first_only() -> None:
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true"}
    done = subprocess.run([sys.executable, "-B", "-c", TWO_LOADS], capture_output=True, text=True, timeout=120, check=False,
                          env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["frozen_after"] == report["frozen_first"] > 30_000
    assert report["planted_collected"] is True and report["enabled"] is True


@pytest.mark.usefixtures("collector_restored")
def test_a_handler_that_fails_to_load_leaves_the_collector_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from flockpilot.invoke import load_handler

    monkeypatch.setitem(sys.modules, "flockpilot.handling", None)  # the handler's import of it fails
    with pytest.raises(ImportError, match="flockpilot.handling"):
        load_handler("post", "flockpilot_fn_post_broken")
    assert gc.isenabled()
