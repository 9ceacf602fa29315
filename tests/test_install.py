"""The install contract: the README's commands, .ci/run, and the lock files agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _commands(text: str) -> list[str]:
    """The shell lines of a script or code block, without comments and blank lines."""
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Two commands", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README's 'Two commands' section has no bash block"
    return _commands(block.group(1))


def _pins(lock: str) -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / lock).read_text(encoding="utf-8").splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep, f"{lock}: {line!r} is not an exact pin (NAME==VERSION)"
            pins[canonicalize_name(name)] = Version(version.strip())
    return pins


def _declared() -> tuple[list[Requirement], list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    dev = [Requirement(r) for r in project["optional-dependencies"]["dev"]]
    return runtime, dev


def test_readme_has_two_commands_and_the_second_is_ci_run() -> None:
    readme = _readme_commands()
    ci = _commands((ROOT / ".ci" / "run").read_text(encoding="utf-8"))
    assert len(readme) == 2, readme
    assert ci[-1] == readme[1], f".ci/run runs {ci[-1]!r}, the README says {readme[1]!r}"
    assert [c for c in ci if not c.startswith(("set ", "cd "))] == [readme[1]]


def test_readme_run_command_uses_the_project_environment() -> None:
    install, run = _readme_commands()[0].split(" && ")
    assert install == "bash scripts/install.sh"
    assert run == ".venv/bin/streamlit run app.py"


def test_install_script_never_installs_into_the_system_python() -> None:
    script = (ROOT / "scripts" / "install.sh").read_text(encoding="utf-8")
    pip_lines = [c for c in _commands(script) if "pip" in c and "install" in c]
    assert pip_lines, "install.sh installs no Python packages"
    assert 'pip=(.venv/bin/python -m pip install' in script
    assert all(c.startswith(("pip=(.venv/bin/python", '"${pip[@]}"')) for c in pip_lines), pip_lines
    for lock in ("requirements.lock", "requirements-dev.lock"):
        assert f"-r {lock}" in script
    assert '"${pip[@]}" --no-deps -e .' in script


def test_lock_files_pin_every_declared_dependency_within_its_range() -> None:
    runtime, dev = _declared()
    for lock, wanted in (("requirements.lock", runtime), ("requirements-dev.lock", runtime + dev)):
        pins = _pins(lock)
        for req in wanted:
            name = canonicalize_name(req.name)
            assert name in pins, f"{lock} does not pin {req.name} (pyproject.toml declares it)"
            assert req.specifier.contains(pins[name], prereleases=True), (
                f"{lock} pins {req.name}=={pins[name]}, outside pyproject.toml's {req.specifier}"
            )
            for extra in req.extras:  # psycopg[binary] -> psycopg-binary
                assert canonicalize_name(f"{req.name}-{extra}") in pins, (lock, req)


def test_dev_lock_holds_the_runtime_pins_exactly() -> None:
    runtime, dev_only = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert {n: dev_only.get(n) for n in runtime} == runtime
