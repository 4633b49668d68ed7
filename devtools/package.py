"""`make package`: build the layer exactly as `sam build` does and report its size."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "layer"


def tree_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def build_layer(out: Path = OUT) -> Path:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT / "shared"), "build-CoreLayer",
         f"ARTIFACTS_DIR={out}", f"PIP={sys.executable} -m pip",
         *([f"PYTHON313={sys.executable}"] if sys.version_info[:2] == (3, 13) else [])],
        check=True, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    return out


def main() -> None:
    out = build_layer()
    size = tree_size(out)
    print(f"layer built in {out.relative_to(ROOT)} for python3.13/arm64: {size / 1e6:.2f} MB unzipped")
    for pkg in sorted((out / "python").iterdir(), key=lambda p: -tree_size(p) if p.is_dir() else 0)[:8]:
        if pkg.is_dir():
            print(f"  {pkg.name:<28} {tree_size(pkg) / 1e6:6.2f} MB")


if __name__ == "__main__":
    main()
