"""The sandbox checks against a vendored copy of X's spec, and the copy is the one its README names."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from devtools.xsandbox.app import spec_path

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "devtools" / "xsandbox" / "spec"


def readme_field(name: str) -> str:
    text = (SPEC_DIR / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^\| `?{re.escape(name)}`? \| `?([^|`]+?)`? \|$", text, re.MULTILINE)
    assert match, f"spec/README.md has no '{name}' row"
    return match.group(1)


def test_the_sandbox_reads_the_vendored_spec_inside_the_repository() -> None:
    assert spec_path() == SPEC_DIR / "openapi.json"
    assert spec_path().is_relative_to(ROOT)


def test_the_vendored_spec_is_the_file_the_readme_names() -> None:
    assert hashlib.sha256(spec_path().read_bytes()).hexdigest() == readme_field("sha256")


def test_the_vendored_spec_is_the_version_the_readme_names() -> None:
    spec = json.loads(spec_path().read_text(encoding="utf-8"))
    assert spec["openapi"].startswith("3.0")
    assert spec["info"]["version"] == readme_field("info.version") == "2.167"
