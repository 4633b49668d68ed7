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
