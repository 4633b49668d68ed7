"""Dataclass methods compiled when the layer is built, not on every cold start.

`@dataclass` writes the source of each class's `__init__`, `__repr__`, `__eq__`... and
compiles it when the class is created. For the ~60 classes a function's first call loads,
that compile was half of Flockpilot's own import time (20 of 40 ms on the bench machine);
/opt is read-only on Lambda, so nothing of it can be kept between cold starts at run time.

So the layer build (shared/Makefile) runs `classcache.main([LAYER_DIR])` with CPython 3.13: it
imports every module of the layer in LAYER_DIR and writes `classcache.bin` next to this
file: for each source text `dataclasses` generated, the code CPython compiled from it
(marshal, stamped with the interpreter's bytecode magic number).

At run time `flockpilot/__init__` calls `install()`. If the file is there and stamped by
this interpreter's bytecode version, `dataclasses` is given an `exec` that runs the stored
code for a source text it knows, compiled exactly as `exec` compiles a string, and hands
any other text to the builtin `exec` (a class made at run time, another patch release of
CPython generating different source). A text is looked up whole, so the file can make an
import faster but cannot change what a class does; a missing, stale or foreign file is
ignored. Tests: tests/unit/test_classcache.py.
"""

from __future__ import annotations

import builtins
import marshal
import os
import sys
from importlib.util import MAGIC_NUMBER
from types import CodeType

TYPE_CHECKING = False  # not typing's: importing typing here would cost the cold start this module saves
if TYPE_CHECKING:
    from typing import Any

FILE_NAME = "classcache.bin"
FILE = os.path.join(os.path.dirname(__file__), FILE_NAME)
HEADER = b"flockpilot classcache 2\n" + MAGIC_NUMBER  # then 8 bytes: the index's length; the index; the tables
_HOOK = "exec"  # the builtin dataclasses calls by its global name: a module attribute of that name comes first
_FILENAME = "<string>"  # what the builtin exec names code compiled from a string

_blobs: dict[str, memoryview] = {}  # module name -> marshal of {source text: code}, unpacked on first use
_code: dict[str, dict[str, CodeType]] = {}
_counts = {"hits": 0, "misses": 0, "elsewhere": 0}


def _table(module: Any) -> dict[str, CodeType]:
    table = _code.get(module)
    if table is None:
        blob = _blobs.pop(module, None) if type(module) is str else None
        try:
            loaded = marshal.loads(blob) if blob is not None else {}
        except (EOFError, ValueError, TypeError):
            loaded = {}
        table = {k: v for k, v in loaded.items() if type(k) is str and type(v) is CodeType} if type(loaded) is dict else {}
        if type(module) is str:
            _code[module] = table
    return table


def _exec(source: Any, globals: dict[str, Any] | None = None, locals: Any = None, /) -> None:
    """The builtin exec, minus the compile of a source text the layer build already compiled.
    dataclasses passes the class's module globals: the module names the table to look in."""
    if type(source) is not str:
        return builtins.exec(source, globals, locals)
    table = _table(globals.get("__name__")) if type(globals) is dict else None
    code = table.get(source) if table else None
    if code is None:
        _counts["misses" if table else "elsewhere"] += 1
        # Compiled here, not by exec: exec compiles a string with its caller's `from __future__`
        # flags, and this module's (annotations) would turn the methods' annotations into text.
        code = compile_like_exec(source)
    else:
        _counts["hits"] += 1
    return builtins.exec(code, globals, locals)


def install(path: str = FILE) -> int:
    """Use the compiled dataclass methods in `path`, if it is there and was written by this
    interpreter's bytecode version; returns how many modules it has code for (0: not used)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return 0
    if not data.startswith(HEADER):
        return 0
    view, start = memoryview(data), len(HEADER) + 8
    try:
        end = start + int.from_bytes(view[len(HEADER):start], "little")
        index = marshal.loads(view[start:end])
    except (EOFError, ValueError, TypeError):
        return 0
    if type(index) is not dict:
        return 0
    for module, (offset, length) in index.items():
        if type(module) is str and end + offset + length <= len(data):
            _blobs[module] = view[end + offset:end + offset + length]
    if not _blobs:
        return 0
    import dataclasses

    setattr(dataclasses, _HOOK, _exec)  # dataclasses looks exec up in its module globals first
    return len(_blobs) + len(_code)


def stats() -> dict[str, int]:
    """Modules the file has code for; dataclass source texts found in it (hits), compiled
    although their module is in it (misses: the file is stale), and compiled for classes of
    other modules (elsewhere: e.g. a library's)."""
    return {"modules": len(_blobs) + len(_code), **_counts}


def compile_like_exec(source: str) -> CodeType:
    """What the builtin exec compiles `source` to when dataclasses calls it: file name
    "<string>", and none of the caller's `from __future__` flags (dataclasses has none)."""
    return compile(source, _FILENAME, "exec", dont_inherit=True)


def record(modules: list[str]) -> tuple[dict[str, dict[str, CodeType]], dict[str, str]]:
    """Import `modules` (none of them loaded yet) and return the code of every dataclass
    source text compiled meanwhile, by the module of its class, and the modules that could
    not be imported (why)."""
    import dataclasses
    import importlib

    captured: dict[str, dict[str, CodeType]] = {}

    def recording(source: Any, globals: dict[str, Any] | None = None, locals: Any = None, /) -> None:
        module = globals.get("__name__") if type(globals) is dict else None
        if type(source) is not str or type(module) is not str:
            return builtins.exec(source, globals, locals)
        table = captured.setdefault(module, {})
        code = table.get(source) or compile_like_exec(source)
        table[source] = code
        return builtins.exec(code, globals, locals)

    before = vars(dataclasses).get(_HOOK)
    setattr(dataclasses, _HOOK, recording)
    failed: dict[str, str] = {}
    try:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception as exc:  # a module needing what this machine lacks: its classes compile at run time
                failed[name] = f"{type(exc).__name__}: {exc}"
    finally:
        if before is None:
            delattr(dataclasses, _HOOK)
        else:
            setattr(dataclasses, _HOOK, before)
    return captured, failed


def package_modules(root: str) -> list[str]:
    """Every module of the flockpilot package under `root` (a layer's python/ directory)."""
    base = os.path.join(root, "flockpilot")
    names: list[str] = []
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        package = "flockpilot" + folder[len(base):].replace(os.sep, ".")
        for file in sorted(files):
            if file.endswith(".py") and not (package == "flockpilot" and file == "classcache.py"):
                names.append(package if file == "__init__.py" else f"{package}.{file[:-3]}")
    return names


def write(path: str, code: dict[str, dict[str, CodeType]]) -> int:
    tables = {module: marshal.dumps({text: table[text] for text in sorted(table)}) for module, table in sorted(code.items())}
    index, offset = {}, 0
    for module, blob in tables.items():
        index[module] = (offset, len(blob))
        offset += len(blob)
    packed = marshal.dumps(index)
    data = HEADER + len(packed).to_bytes(8, "little") + packed + b"".join(tables.values())
    partial = f"{path}.partial"
    with open(partial, "wb") as fh:
        fh.write(data)
    os.replace(partial, path)
    return len(data)


def main(argv: list[str]) -> int:
    """`main([LAYER_PYTHON_DIR, "--output", FILE])` (shared/Makefile runs it): import the layer's
    flockpilot modules and write the compiled code of their dataclass methods."""
    args = list(argv)
    output = None
    if "--output" in args:
        at = args.index("--output")
        output = args[at + 1] if at + 1 < len(args) else None
        del args[at:at + 2]
        if output is None:
            print("classcache: --output needs a file name", file=sys.stderr)
            return 2
    if len(args) != 1 or not os.path.isdir(os.path.join(args[0], "flockpilot")):
        print("classcache: arguments: LAYER_PYTHON_DIR [--output FILE] "
              "(LAYER_PYTHON_DIR: the directory that holds the flockpilot package)", file=sys.stderr)
        return 2
    root = os.path.abspath(args[0])
    loaded = sorted(name for name in sys.modules if name == "flockpilot" or name.startswith("flockpilot."))
    foreign = [n for n in loaded if not os.path.abspath(getattr(sys.modules[n], "__file__", "") or "").startswith(root)]
    if foreign:
        print(f"classcache: flockpilot is loaded from elsewhere ({foreign[0]}); put {root} first on the path",
              file=sys.stderr)
        return 2
    modules = package_modules(root)
    code, failed = record([m for m in modules if m not in sys.modules])
    size = write(output or os.path.join(root, "flockpilot", FILE_NAME), code)
    print(f"classcache: {sum(len(t) for t in code.values())} dataclasses' methods compiled, in {len(code)} modules "
          f"({len(modules) - len(failed)} of the layer's {len(modules)} imported; {size / 1024:.0f} KiB)")
    if failed:
        first = next(iter(failed.items()))
        print(f"classcache: warning: {len(failed)} modules could not be imported here (e.g. {first[0]}: {first[1]}): "
              "their dataclasses compile on every cold start", file=sys.stderr)
    return 0
