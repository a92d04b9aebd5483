"""Grading's credential effects are wired where the program is built (create_app, the apkd
command), with that program's settings; importing a module wires nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from apkd.credentials.service import Effects
from apkd.grading import effects


@pytest.fixture
def unwired():
    previous = effects.registered()
    effects.reset()
    yield
    effects.register(previous)


def test_create_app_registers_the_effects_with_its_settings(unwired, settings) -> None:
    from apkd.app import create_app

    with pytest.raises(effects.EffectsNotRegistered):
        effects.current()
    create_app(settings)
    wired = effects.current()
    assert isinstance(wired, Effects) and wired.settings is settings


def test_the_apkd_command_registers_them_with_its_settings(unwired, tmp_path, monkeypatch) -> None:
    from apkd.cli import main

    monkeypatch.setenv("APKD_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("APKD_BASE_URL", "https://sertifikasi.example.go.id")
    result = CliRunner().invoke(main, ["keys", "--help"])
    assert result.exit_code == 0, result.output
    wired = effects.current()
    assert isinstance(wired, Effects)
    assert wired.settings.base_url == "https://sertifikasi.example.go.id"


def test_importing_the_credentials_package_wires_nothing() -> None:
    code = (
        "import apkd.credentials.service, apkd.credentials.controllers, apkd.grading.publishing\n"
        "from apkd.grading import effects\n"
        "assert effects.registered() is None, effects.registered()\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
