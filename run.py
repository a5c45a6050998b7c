#!/usr/bin/env python3
"""Set up and run soulspot-pipeline with nothing but Python 3.11+.

    python3 run.py refresh     install, then run the full library refresh once
    python3 run.py test        install with the test extra, then run the test suite
    python3 run.py ui          install, then open the Dagster UI (http://127.0.0.1:3000)
    python3 run.py spotify-login   install, then log in to Spotify once (stores a refresh token)
    python3 run.py bench ...   install, then benchmark the scan or the cloud import (`soulspot bench -h`)
    python3 run.py demo        install, then run every phase offline on a sample library, then open its UI (`--no-ui`: just the run)

The first call creates .venv/ beside this file and installs the project into it; later
calls reinstall only when pyproject.toml changed.
"""

from __future__ import annotations

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


def ensure_installed() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"soulspot-pipeline needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = (ROOT / "pyproject.toml").read_bytes()
    if STAMP.exists() and STAMP.read_bytes() == wanted:
        return
    print("installing soulspot-pipeline and its dependencies", flush=True)
    subprocess.check_call(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", f"{ROOT}[test]"]
    )
    STAMP.write_bytes(wanted)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    ensure_installed()
    os.chdir(ROOT)
    if argv[0] == "test":
        return subprocess.call([str(PYTHON), "-m", "pytest", *argv[1:]])
    return subprocess.call([str(BIN / "soulspot"), *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
