"""House rules the test command enforces: the lock matches pyproject.toml, and the layers hold."""

import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def locked_versions() -> dict[str, str]:
    """The pinned version of every package requirements.lock installs on this machine."""
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pin = Requirement(line)
        if pin.marker is None or pin.marker.evaluate():
            (spec,) = pin.specifier
            assert spec.operator == "==", f"requirements.lock must pin exact versions: {line}"
            pins[canonicalize_name(pin.name)] = spec.version
    return pins


def project_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["test"]]]


def test_the_lock_pins_every_requirement_of_pyproject_and_this_environment_was_installed_from_it():
    pins = locked_versions()
    for requirement in project_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is in pyproject.toml but not in requirements.lock: upgrade the lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside pyproject.toml's {requirement}: upgrade the lock"
        )
    # run.py installs exactly the lock: what runs the tests is what the lock says.
    installed = {name: metadata.version(name) for name in pins}
    assert installed == pins


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "soulspot_pipeline", tmp_path / "soulspot_pipeline", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env={"PYTHONPATH": str(root)}, capture_output=True, text=True
    )


def test_the_layers_hold_and_an_asset_importing_the_demo_kit_breaks_them(package_copy):
    clean = lint_imports(package_copy)
    assert clean.returncode == 0, clean.stdout

    discover = package_copy / "soulspot_pipeline" / "assets" / "discover.py"
    discover.write_text(discover.read_text() + "\nfrom soulspot_pipeline.devkit import synth  # noqa\n")
    broken = lint_imports(package_copy)
    assert broken.returncode != 0
    assert "the runtime never imports the demo kit BROKEN" in broken.stdout
    assert "soulspot_pipeline.assets.discover -> soulspot_pipeline.devkit.synth" in broken.stdout


def test_an_asset_module_importing_another_breaks_the_layers(package_copy):
    identify = package_copy / "soulspot_pipeline" / "assets" / "identify.py"
    identify.write_text(
        identify.read_text() + "\nfrom soulspot_pipeline.assets.library import library_entities  # noqa\n"
    )
    broken = lint_imports(package_copy)
    assert broken.returncode != 0
    assert "asset modules depend on each other by AssetKey, not by import BROKEN" in broken.stdout
