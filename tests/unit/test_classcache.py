"""The dataclass code the layer build compiles (flockpilot.classcache): every class of the
package is made from it without a compile, and is the same class it would be without it."""

from __future__ import annotations

import builtins
import dataclasses
import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flockpilot import classcache

SHARED = Path(__file__).resolve().parents[2] / "shared"

# Imports every module of the package (with the file installed or not) and prints, for every
# dataclass, what its generated methods are made of, and the file's hit counts.
FINGERPRINT = textwrap.dedent("""
    import importlib, json, sys
    from flockpilot import classcache
    used = classcache.install(sys.argv[1]) if sys.argv[1] else 0

    def consts(value):  # a frozenset's order depends on the process's string hashing, not on the code
        if isinstance(value, (frozenset, set)):
            return ["set", sorted(repr(v) for v in value)]
        if isinstance(value, tuple):
            return [consts(v) for v in value]
        if hasattr(value, "co_code"):
            return [value.co_code.hex(), consts(value.co_consts), value.co_names, value.co_varnames]
        if callable(value) and hasattr(value, "__qualname__"):  # a default's function: its repr has an address
            return f"function {value.__module__}.{value.__qualname__}"
        return repr(value)

    names = classcache.package_modules(sys.argv[2])
    prints = {}
    for name in names:
        module = importlib.import_module(name)
        for attr, cls in sorted(vars(module).items()):
            if not isinstance(cls, type) or cls.__module__ != name or "__dataclass_fields__" not in vars(cls):
                continue
            methods = {}
            for method in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
                fn = getattr(vars(cls).get(method), "__wrapped__", vars(cls).get(method))
                code = getattr(fn, "__code__", None)
                if code is not None:
                    methods[method] = [code.co_code.hex(), consts(code.co_consts), code.co_names, code.co_varnames,
                                       code.co_filename, code.co_flags, fn.__qualname__, consts(fn.__defaults__),
                                       consts(tuple(sorted((fn.__kwdefaults__ or {}).items()))),
                                       repr(fn.__annotations__)]
            prints[f"{name}.{cls.__qualname__}"] = [methods, repr(getattr(cls, "__match_args__", None))]
    print(json.dumps({"used": used, "stats": classcache.stats(), "classes": prints}))
""")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-B", "-P", "-c", *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("classcache") / "classcache.bin"
    done = run("import sys; from flockpilot.classcache import main; sys.exit(main(sys.argv[1:]))", str(SHARED), "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert "could not be imported" not in done.stderr
    return out


def test_every_dataclass_of_the_package_is_made_from_the_file_and_is_the_same_class(built: Path) -> None:
    plain = run(FINGERPRINT, "", str(SHARED))
    cached = run(FINGERPRINT, str(built), str(SHARED))
    assert plain.returncode == 0 and cached.returncode == 0, plain.stderr + cached.stderr
    without, with_file = json.loads(plain.stdout), json.loads(cached.stdout)
    assert without["used"] == 0 and with_file["used"] >= 25  # modules with dataclasses
    classes = with_file["classes"]
    assert len(classes) >= 90
    assert classes == without["classes"]  # bytecode, constants, names, annotations, defaults: all alike
    assert with_file["stats"]["misses"] == 0
    assert with_file["stats"]["hits"] >= len(classes)  # plus classes made inside functions' modules at import


@pytest.fixture
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """install() changes process-wide state: give it empty tables and undo it afterwards."""
    monkeypatch.setattr(classcache, "_blobs", {})
    monkeypatch.setattr(classcache, "_code", {})
    monkeypatch.setattr(classcache, "_counts", {"hits": 0, "misses": 0, "elsewhere": 0})
    monkeypatch.setattr(dataclasses, "exec", builtins.exec, raising=False)  # undo: dataclasses has no exec again


def on_path(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setattr(sys, "path", [str(folder), *sys.path])
    importlib.invalidate_caches()


def make_module(folder: Path, name: str) -> None:
    (folder / f"{name}.py").write_text(textwrap.dedent("""
        from dataclasses import dataclass, field

        @dataclass(frozen=True)
        class Point:
            x: int
            y: int = 0
            tags: list[str] = field(default_factory=list)
    """))


def test_a_class_is_made_from_the_file_and_behaves_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            fresh_state: None) -> None:
    on_path(monkeypatch, tmp_path)
    make_module(tmp_path, "cc_sample")
    code, failed = classcache.record(["cc_sample"])
    assert failed == {} and len(code["cc_sample"]) == 1
    classcache.write(str(tmp_path / "cc.bin"), code)
    monkeypatch.delitem(sys.modules, "cc_sample")

    assert classcache.install(str(tmp_path / "cc.bin")) == 1
    import cc_sample  # type: ignore[import-not-found]

    assert classcache.stats() == {"modules": 1, "hits": 1, "misses": 0, "elsewhere": 0}
    p = cc_sample.Point(1, tags=["a"])
    assert (p.x, p.y, p.tags) == (1, 0, ["a"]) and p == cc_sample.Point(1, 0, ["a"]) and p != cc_sample.Point(2)
    assert repr(p) == "Point(x=1, y=0, tags=['a'])"
    assert cc_sample.Point(3).tags is not cc_sample.Point(3).tags
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    assert hash(p.__class__(1, 2, ())) == hash(cc_sample.Point(1, 2, ()))  # type: ignore[arg-type]


def test_a_text_not_in_the_file_is_compiled_as_usual(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_state: None) -> None:
    on_path(monkeypatch, tmp_path)
    make_module(tmp_path, "cc_other")
    code, _ = classcache.record(["cc_other"])
    classcache.write(str(tmp_path / "cc.bin"), code)
    monkeypatch.delitem(sys.modules, "cc_other")
    (tmp_path / "cc_other.py").write_text("from dataclasses import dataclass\n\n@dataclass\nclass Point:\n    x: int\n    z: str = 'z'\n")
    assert classcache.install(str(tmp_path / "cc.bin")) == 1

    import cc_other  # type: ignore[import-not-found]

    assert classcache.stats()["misses"] == 1 and classcache.stats()["hits"] == 0  # the class changed since the build
    assert cc_other.Point(1) == cc_other.Point(1, "z") and repr(cc_other.Point(2, "q")) == "Point(x=2, z='q')"
    # compiled exactly as dataclasses' own exec would: real annotations, not text (this
    # module and classcache both use `from __future__ import annotations`)
    assert cc_other.Point.__init__.__annotations__ == {"x": int, "z": str, "return": None}

    @dataclasses.dataclass
    class Local:  # a class of a module the file knows nothing of
        a: int

    assert Local(1).a == 1 and classcache.stats()["elsewhere"] == 1
    assert Local.__init__.__annotations__ == {"a": "int", "return": None}


def test_a_miss_makes_the_same_class_as_without_the_file(tmp_path: Path) -> None:
    """A class the file does not know, made in a fresh process with the file installed and
    without it: the generated methods' annotations and code are alike."""
    make_module(tmp_path, "cc_plain")
    script = textwrap.dedent("""
        import json, sys
        sys.path.insert(0, sys.argv[1])
        from flockpilot import classcache
        from flockpilot.classcache import write
        if sys.argv[2] == "with":
            write(sys.argv[1] + "/other.bin", {"some.module": {"def f(): pass": compile("pass", "<string>", "exec")}})
            assert classcache.install(sys.argv[1] + "/other.bin") == 1
        import cc_plain
        from typing import get_type_hints
        init = cc_plain.Point.__init__
        print(json.dumps([repr(init.__annotations__), repr(get_type_hints(init)), init.__code__.co_code.hex(),
                          classcache.stats()]))
    """)
    plain, installed = (json.loads(run(script, str(tmp_path), mode).stdout) for mode in ("without", "with"))
    assert plain[:3] == installed[:3] and "'return': None" in plain[0]
    assert installed[3]["elsewhere"] >= 1


@pytest.mark.parametrize("damage", ["missing", "other interpreter", "truncated", "not marshal"])
def test_a_missing_stale_or_damaged_file_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_state: None,
                                                     damage: str) -> None:
    on_path(monkeypatch, tmp_path)
    make_module(tmp_path, "cc_damage")
    code, _ = classcache.record(["cc_damage"])
    path = tmp_path / "cc.bin"
    classcache.write(str(path), code)
    data = path.read_bytes()
    if damage == "missing":
        path.unlink()
    elif damage == "other interpreter":  # another CPython's bytecode magic number
        path.write_bytes(data[: len(classcache.HEADER) - 4] + b"\x00\x00\r\n" + data[len(classcache.HEADER):])
    elif damage == "truncated":
        path.write_bytes(data[: len(classcache.HEADER) + 5])
    else:
        path.write_bytes(classcache.HEADER + (3).to_bytes(8, "little") + b"\xff\xfe\xfd")
    assert classcache.install(str(path)) == 0
    assert dataclasses.exec is builtins.exec  # type: ignore[attr-defined]  # untouched


def test_the_build_step_names_what_is_wrong(tmp_path: Path) -> None:
    assert classcache.main([str(tmp_path)]) == 2
    assert classcache.main([str(SHARED), "--output"]) == 2
