"""The README's quick start, first webhook and first API call, run as written against a live
gateway: the `serve` that `make run` runs, on a free port and a temporary SQLite file, with the
venv's `contactgate` on the PATH. A README edit that breaks a newcomer's first steps fails here."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
MARK = re.compile(r"<!-- readme-test: ([a-z-]+) -->\s*```(?:sh|bash)\n(.*?)```", re.S)


def readme_blocks() -> dict[str, str]:
    """The shell blocks of README.md, each after its `<!-- readme-test: NAME -->` mark."""
    return {name: body for name, body in MARK.findall((ROOT / "README.md").read_text())}


def make_run_command() -> list[str]:
    """What `make run` runs after installing: `$(BIN)/contactgate ARGS`."""
    recipe = re.search(r"^run:.*\n\t(.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert recipe is not None, "Makefile has no run target"
    program, *args = recipe.group(1).split()
    assert program == "$(BIN)/contactgate", recipe.group(1)
    return [str(VENV_BIN / "contactgate"), *args]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """No CONTACTGATE_* of the parent; the venv first on the PATH; a free port, a fresh file."""
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("CONTACTGATE_")}
    return clean | {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "CONTACTGATE_DATABASE_URL": f"sqlite://{tmp_path}/data/contactgate.db",
        "CONTACTGATE_PORT": str(_free_port()),
        "CONTACTGATE_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def gateway(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """The gateway as `make run` starts it, in a folder whose `.venv` is this test's venv."""
    (tmp_path / ".venv").symlink_to(VENV_BIN.parent)
    proc = subprocess.Popen(make_run_command(), cwd=tmp_path, env=env)
    base = f"http://127.0.0.1:{env['CONTACTGATE_PORT']}"
    try:
        _wait_until_up(base, proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_until_up(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "serve exited"
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail("serve did not answer /healthz within 60 s")


def sh(script: str, env: dict[str, str], cwd: Path) -> str:
    """Run a README block with bash, stopping at the first failing line; its stdout."""
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    return done.stdout


def test_the_quick_start_is_the_two_make_targets() -> None:
    quick = readme_blocks()["quick-start"]
    assert [line.split("#")[0].strip() for line in quick.splitlines()] == ["make run", "make test"]
    assert make_run_command()[1:] == ["serve"]


def test_first_webhook_and_first_api_call_work_as_written(
    gateway: str, env: dict[str, str], tmp_path: Path
) -> None:
    blocks = readme_blocks()
    added = sh(blocks["first-webhook"], env, tmp_path)
    curl = added.split("try it (a sample telegram delivery):\n", 1)[1]
    assert curl.startswith(f"curl -sS -X POST {gateway}/webhooks/tg-shop-0001 \\\n")
    assert sh(curl, env, tmp_path) == "ok"  # Telegram's ack: the message is stored

    seen = sh(blocks["see-the-contact"], env, tmp_path)
    exported, plan = seen.removeprefix("\ufeff").split("\nshop in ", 1)  # a BOM for Excel
    assert exported.splitlines()[0] == "name,channels,last_incoming_at"
    assert exported.splitlines()[1].startswith("Ana,telegram,")
    assert plan.split("\n", 1)[0].endswith(
        ": 1 of 1000 contacts (0 carried over from earlier periods)"
    )

    api = blocks["first-api-call"].replace("http://127.0.0.1:8080", gateway)
    assert '"name": "Ana"' in sh(api, env, tmp_path).replace('"name":"Ana"', '"name": "Ana"')
