"""Packaging: SPDX license and LICENSE, typed markers, package data; the built wheel holds
the bundled chart, limits, scenarios and schemas, and `init` works from it (slow)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_metadata() -> None:
    assert PROJECT["license"] == "MIT" and (ROOT / "LICENSE").is_file()
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Typing :: Typed" in PROJECT["classifiers"]
    for package in ("statecharts", "execution"):
        assert (ROOT / package / "py.typed").is_file()


def test_bundled_config_is_the_config() -> None:
    bundled = ROOT / "execution" / "bundled"
    assert bundled.resolve() == (ROOT / "config").resolve()


@pytest.mark.slow
def test_wheel_holds_the_data_and_init_works_from_it(tmp_path: Path) -> None:
    wheels, target, work = tmp_path / "whl", tmp_path / "site", tmp_path / "work"
    work.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q",
                    "-w", str(wheels)], check=True, timeout=600)
    [wheel] = wheels.glob("scalpchart-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("execution/bundled/scalp_execution.yaml", "execution/bundled/limits.yaml",
                 "execution/bundled/scenarios/stress.yaml", "execution/py.typed",
                 "execution/schemas/scenario.schema.json", "statecharts/py.typed",
                 "statecharts/schemas/chart.schema.json"):
        assert name in names, name
    assert any(n.endswith("licenses/LICENSE") for n in names)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(wheel)], check=True, timeout=600)
    env = dict(os.environ, PYTHONPATH=str(target))
    def run(*argv: str) -> str:
        done = subprocess.run([sys.executable, "-m", "execution", *argv], cwd=work, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout
    run("init", "proj")
    assert "chart ok, limits ok" in run("validate", "proj/scalp_execution.yaml", "--limits",
                                        "proj/limits.yaml")
    assert str(target) in run("simulate", "--scenario", "stress", "--intents", "1",
                              "--format", "json", "--no-progress")
