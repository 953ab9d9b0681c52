"""The supported dependency stacks (Makefile STACKS): each is pinned completely and consistently,
and the environment running the tests is the stack it claims to be."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements/constraints file (``-r`` lines not followed)."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line and not line.startswith("-"):
            name, version = line.split("==", 1)
            pins[_norm(name)] = version.strip()
    return pins


def _makefile_var(name: str) -> str:
    match = re.search(rf"^{name}\s*:?=\s*(.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert match, f"Makefile has no {name}"
    return match.group(1).strip()


STACKS = _makefile_var("STACKS").split()


def test_default_stack_is_one_of_the_stacks():
    assert len(STACKS) >= 2
    assert _makefile_var("DEFAULT_STACK") in STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_stack_pins_agree(stack):
    """The stack's direct pins (common + its own) equal its constraints wherever both name a
    package, and TensorFlow, TensorBoard and TF Text are direct pins of the stack."""
    requirements = ROOT / "requirements" / f"{stack}.txt"
    assert "-r ../requirements.txt" in requirements.read_text().splitlines()
    direct = {**_pins(ROOT / "requirements.txt"), **_pins(requirements)}
    constraints = _pins(ROOT / "constraints" / f"{stack}.txt")
    for name in ("tensorflow", "tensorboard", "tensorflow-text"):
        assert name in _pins(requirements), f"{stack}: {name} is not pinned in {requirements.name}"
        assert name not in _pins(ROOT / "requirements.txt"), f"{name} is per stack"
    clashes = {n: (v, constraints[n]) for n, v in direct.items() if n in constraints and constraints[n] != v}
    assert clashes == {}, f"{stack}: requirements vs constraints"
    assert constraints["tensorflow"] == direct["tensorflow"]


def test_this_environment_is_a_stack():
    """Every package the running venv has from its stack's constraints is at the pinned version
    (the stack is the one whose TensorFlow pin is installed)."""
    installed = {_norm(d.metadata["Name"]): d.version for d in metadata.distributions()}
    stacks = [s for s in STACKS if _pins(ROOT / "constraints" / f"{s}.txt")["tensorflow"] == installed["tensorflow"]]
    if not stacks:
        pytest.skip(f"TensorFlow {installed['tensorflow']} is not a supported stack's")
    (stack,) = stacks
    constraints = _pins(ROOT / "constraints" / f"{stack}.txt")
    drift = {n: (v, installed[n]) for n, v in constraints.items() if n in installed and installed[n] != v}
    assert drift == {}, f"{stack}: pinned vs installed"
    missing = [
        n for n in ("tensorflow", "tensorboard", "tensorflow-text", "keras", "numpy", "soundfile") if n not in installed
    ]
    assert missing == [], f"{stack}: not installed"
