"""constraints.txt pins every installed version, transitive ones included; requirements*.txt
stay the hand-edited list of direct dependencies, and the Makefile installs them under the
constraints, so a fresh `make test` or `make run` gets exactly the pinned set."""

import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def lines(name: str) -> list[str]:
    text = (ROOT / name).read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def pins(name: str) -> dict[str, str]:
    found = {}
    for line in lines(name):
        if line.startswith("-r "):
            continue
        requirement = Requirement(line)
        [spec] = requirement.specifier
        assert spec.operator == "==", f"{name}: {line} is not pinned"
        found[canonicalize_name(requirement.name)] = spec.version
    return found


def test_every_constraint_is_one_exact_version():
    constraints = pins("constraints.txt")
    for line in lines("constraints.txt"):
        assert re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!-]+", line), line
    assert len(constraints) == len(lines("constraints.txt"))  # no name twice


def test_every_direct_requirement_is_constrained_at_its_own_version():
    constraints = pins("constraints.txt")
    for name in ("requirements.txt", "requirements-dev.txt"):
        for package, version in pins(name).items():
            # A requirement raised without `make constraints` would not install at all.
            assert constraints.get(package) == version, f"{name}: {package}=={version}"


def test_the_makefile_installs_requirements_under_the_constraints():
    installs = [
        line for line in (ROOT / "Makefile").read_text().splitlines() if "pip install" in line
    ]
    from_requirements = [line for line in installs if " -r requirements" in line]
    assert len(from_requirements) >= 2  # run and test
    for line in from_requirements:
        # The throwaway resolve of `make constraints` is the one install that must not be.
        if "CONSTRAINTS_VENV" not in line:
            assert line.rstrip().endswith("-c constraints.txt"), line
