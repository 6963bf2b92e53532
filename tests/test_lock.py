"""requirements.lock (the hash-pinned install of a deployment) matches pyproject.toml:
every dependency is pinned there at a version its minimum allows, with hashes."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
# Pinned ahead of pyproject: other branches of this release add it (signing keys).
ALSO_LOCKED = [Requirement("cryptography>=43")]


def locked() -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes)."""
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    out: dict[str, tuple[Version, int]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", block)
        if m:
            out[canonicalize_name(m.group(1))] = (Version(m.group(2)), block.count("--hash=sha256:"))
    return out


def test_every_dependency_is_locked_at_an_allowed_version_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [Requirement(r) for r in project["dependencies"]] + ALSO_LOCKED
    pins = locked()
    assert len(pins) >= len(wanted)
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not in requirements.lock: run pip-compile again"
        version, hashes = pins[name]
        assert req.specifier.contains(version, prereleases=True), f"{req.name}=={version} does not satisfy {req}"
        assert hashes >= 1, f"{req.name} has no hash in requirements.lock"
    assert all(h >= 1 for _, h in pins.values()), "every pinned package needs its hashes (--require-hashes)"


def test_the_dockerfile_installs_from_the_lock() -> None:
    docker = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements.lock" in docker
    assert re.search(r"pip install [^\n]*--no-deps", docker)
