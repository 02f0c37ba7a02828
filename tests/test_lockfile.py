"""The lock files match pyproject.toml, pin every package with hashes, and are what is installed.

`make lock` writes requirements/runtime.txt and requirements/dev.txt (uv pip compile); `make`
installs from requirements/dev.txt with `pip --require-hashes`, the Dockerfile from runtime.txt.
These checks need no network: a dependency added to (or dropped from, or re-ranged in)
pyproject.toml without `make lock` fails here, in CI, before anything installs the wrong thing.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;\\]+)(?:\s*;\s*(?P<marker>[^\\]+?))?\s*\\?$"
)
VIA = re.compile(r"\s+#\s+(?:via\s+)?(\S.*)$")  # `# via x` or `# via` then `#   x`
VIA_PROJECT = "contactgate (pyproject.toml)"
VIA_BUILD = "-r requirements/build.in"


@dataclass
class Pin:
    version: str
    marker: Marker | None
    hashes: int = 0
    via: set[str] = field(default_factory=set)


def read_lock(path: Path) -> dict[str, Pin]:
    """Parse uv's requirements output: `name==version ; marker \\`, hash lines, `# via` lines."""
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    for line in path.read_text().splitlines():
        if match := PIN.match(line):
            marker = match["marker"]
            current = Pin(match["version"], Marker(marker) if marker else None)
            pins[canonicalize_name(match["name"])] = current
        elif current is not None and line.strip().startswith("--hash=sha256:"):
            current.hashes += 1
        elif current is not None and (via := VIA.match(line)) and via[1] != "via":
            current.via.add(via[1].strip())
    return pins


def wanted(extras: tuple[str, ...]) -> list[Requirement]:
    project = PYPROJECT["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return reqs


LOCKS = [("runtime.txt", ()), ("dev.txt", ("dev",))]


@pytest.mark.parametrize(("name", "extras"), LOCKS)
def test_lock_holds_every_dependency_in_its_range(name: str, extras: tuple[str, ...]) -> None:
    pins = read_lock(ROOT / "requirements" / name)
    for req in wanted(extras):
        pin = pins.get(canonicalize_name(req.name))
        assert pin is not None, f"{req} is in pyproject.toml but not in {name}: run `make lock`"
        assert req.specifier.contains(pin.version, prereleases=True), (
            f"{name} pins {req.name}=={pin.version}, outside pyproject's {req}: run `make lock`"
        )
        for extra in req.extras:  # tortoise-orm[asyncpg]: what the extra brings is pinned too
            for dep in metadata.requires(req.name) or []:
                dep_req = Requirement(dep)
                if dep_req.marker and dep_req.marker.evaluate({"extra": extra}):
                    assert canonicalize_name(dep_req.name) in pins, f"{dep_req} of {req}: {name}"


@pytest.mark.parametrize(("name", "extras"), LOCKS)
def test_lock_has_no_direct_dependency_that_pyproject_dropped(
    name: str, extras: tuple[str, ...]
) -> None:
    pins = read_lock(ROOT / "requirements" / name)
    direct = {n for n, pin in pins.items() if VIA_PROJECT in pin.via}
    assert direct == {canonicalize_name(r.name) for r in wanted(extras)}, "run `make lock`"


@pytest.mark.parametrize(("name", "extras"), LOCKS)
def test_every_pin_has_hashes_and_the_build_backend_is_locked(
    name: str, extras: tuple[str, ...]
) -> None:
    pins = read_lock(ROOT / "requirements" / name)
    assert pins, f"{name} is empty"
    assert all(pin.hashes for pin in pins.values()), [n for n, p in pins.items() if not p.hashes]
    build_in = [
        Requirement(line)
        for line in (ROOT / "requirements" / "build.in").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert [str(r) for r in build_in] == PYPROJECT["build-system"]["requires"]
    for req in build_in:
        pin = pins[canonicalize_name(req.name)]
        assert VIA_BUILD in pin.via and req.specifier.contains(pin.version)


def test_the_environment_running_the_tests_is_the_dev_lock() -> None:
    """`make` installs exactly the lock: an environment that drifted from it is a different one."""
    pins = read_lock(ROOT / "requirements" / "dev.txt")
    drift = {
        name: (pin.version, installed)
        for name, pin in pins.items()
        if pin.marker is None or pin.marker.evaluate()
        if (installed := _installed(name)) != pin.version
    }
    assert not drift, f"installed differs from requirements/dev.txt (locked, installed): {drift}"


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
