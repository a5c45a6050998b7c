#!/usr/bin/env python3
"""Set up and run soulspot-pipeline with nothing but Python 3.11+.

    python3 run.py refresh     install, then run the full library refresh once
    python3 run.py test        install with the test extra, check lint, format, types and layers, then run every test
    python3 run.py test --fast the same checks, then the tests of pure logic and of each part on its own
    python3 run.py ui          install, then open the Dagster UI (http://127.0.0.1:3000)
    python3 run.py spotify-login   install, then log in to Spotify once (stores a refresh token)
    python3 run.py bench ...   install, then benchmark the scan, the cloud import or the downloads (`soulspot bench -h`)
    python3 run.py demo        install, then run every phase offline on a sample library, then open its UI (`--no-ui`: just the run)
    python3 run.py upgrade-lock   resolve the newest versions pyproject.toml allows into requirements.lock

The first call creates .venv/ beside this file and installs the exact versions pinned in
requirements.lock into it, then the project itself; later calls reinstall only when
pyproject.toml or requirements.lock changed.

Then the soulspot command takes this process's place (on Windows: runs as its child), so
Ctrl-C and SIGTERM reach it directly, it shuts down cleanly, and its exit code is ours.
`test` and `upgrade-lock` wait for what they run to stop by itself on Ctrl-C; no traceback.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".soulspot-installed"
LOCK = ROOT / "requirements.lock"
PIP = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]

# What `test` checks before pytest, in order; each must pass.
CHECKS = (
    ("lint", ["ruff", "check", "--quiet", "."]),
    ("format", ["ruff", "format", "--check", "--quiet", "."]),
    ("types", ["mypy"]),
    ("layers", ["lint-imports", "--no-cache"]),
)
FAST_TIER = ["-m", "not e2e and not scale and not subprocess and not integration"]


def _wanted() -> bytes:
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", LOCK):
        digest.update(path.read_bytes())
    return digest.hexdigest().encode()


def call(command: list[str]) -> int:
    """Run ``command`` to its end. A Ctrl-C in the terminal reaches it too, and it stops by
    itself: we wait for that instead of killing it (as ``subprocess.call`` would)."""
    with subprocess.Popen(command) as process:
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                continue


def check_call(command: list[str]) -> None:
    code = call(command)
    if code != 0:
        sys.exit(code)  # the command said why


def ensure_installed() -> None:
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = _wanted()
    if STAMP.exists() and STAMP.read_bytes() == wanted:
        return
    print(f"installing soulspot-pipeline and the versions pinned in {LOCK.name}", flush=True)
    check_call([*PIP, "-r", str(LOCK)])
    check_call([*PIP, "--no-deps", "-e", f"{ROOT}[test]"])
    STAMP.write_bytes(wanted)


def run_checks() -> int:
    for name, command in CHECKS:
        code = call([str(BIN / command[0]), *command[1:]])
        if code != 0:
            print(f"\n{name} check failed (`{' '.join(command)}`); fix the above, then run the tests again", flush=True)
            return code
    print("lint, format, types and layers: clean", flush=True)
    return 0


def upgrade_lock() -> int:
    """Resolve the newest versions pyproject.toml allows, for every platform and Python 3.11+."""
    check_call([*PIP, "uv"])
    command = [
        str(BIN / "uv"), "pip", "compile", "pyproject.toml", "--extra", "test", "--universal",
        "--python-version", "3.11", "--upgrade", "-o", LOCK.name,
    ]  # fmt: skip
    code = call(command)
    if code == 0:
        print(f"{LOCK.name} upgraded: run `python3 run.py test` before committing it", flush=True)
    return code


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    ensure_installed()
    os.chdir(ROOT)
    if argv[0] == "upgrade-lock":
        return upgrade_lock()
    if argv[0] == "test":
        args = argv[1:]
        if "--fast" in args:
            args = [*FAST_TIER, *(a for a in args if a != "--fast")]
        # Byte-compiled once here: the suite starts hundreds of processes (refreshes, workers), and
        # where bytecode is not written on import (PYTHONDONTWRITEBYTECODE) each would compile the package.
        compile_code = call([str(PYTHON), "-m", "compileall", "-q", "soulspot_pipeline", "soulspot_tests"])
        return run_checks() or compile_code or call([str(PYTHON), "-m", "pytest", *args])
    command = [str(BIN / "soulspot"), *argv]
    if os.name == "nt":  # no exec there: a child, which gets the console's Ctrl-C as we do
        return call(command)
    sys.stdout.flush()  # exec drops what is still buffered
    os.execv(command[0], command)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # in run.py's own steps (checking or creating the venv)
        sys.exit(130)
