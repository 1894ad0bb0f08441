"""install.sh: help, GIMP plug-in placement, idempotence and an exact uninstall (using the already-built venv)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALL = ROOT / "install.sh"


def installed_extras() -> str | None:
    stamp = ROOT / ".venv" / ".colorize-install-stamp"
    return stamp.read_text().split()[0] if stamp.is_file() else None


def run(*args, env=None):
    return subprocess.run(["bash", str(INSTALL), *map(str, args)], capture_output=True, text=True, env=env, timeout=600)


def test_help_documents_every_flag():
    result = run("--help")
    assert result.returncode == 0
    for flag in ("--venv", "--python", "--gpu", "--dev", "--cluster", "--gimp-dir", "--no-gimp", "--uninstall"):
        assert flag in result.stdout
    assert run("--bogus").returncode == 2


@pytest.mark.skipif(installed_extras() != "cpu,dev,train", reason="needs the venv made by ./install.sh --dev")
def test_gimp_plugins_install_idempotently_and_uninstall_exactly(tmp_path):
    env = dict(os.environ, COLORIZE_INSTALL_MANIFEST=str(tmp_path / "manifest"))
    gimp3, gimp2 = tmp_path / "GIMP" / "3.0" / "plug-ins", tmp_path / "GIMP" / "2.10" / "plug-ins"
    (gimp2 / "someone-else.py").parent.mkdir(parents=True)
    (gimp2 / "someone-else.py").write_text("# not ours")
    first = run("--dev", "--gimp-dir", gimp3, "--gimp-dir", gimp2, env=env)
    assert first.returncode == 0, first.stderr
    plugin = gimp3 / "colorize" / "colorize.py"
    assert plugin.is_file() and os.access(plugin, os.X_OK)
    config = json.loads((gimp3 / "colorize" / "colorize-config.json").read_text())
    assert config["project"] == str(ROOT) and config["python"].endswith("/.venv/bin/python")
    assert (gimp2 / "colorize_gimp2.py").is_file() and os.access(gimp2 / "colorize_gimp2.py", os.X_OK)
    for helper in (
        gimp2 / "colorize_locate.py",
        gimp3 / "colorize" / "colorize_locate.py",
        gimp3 / "colorize" / "colorize_preview.py",
    ):
        assert helper.is_file() and not os.access(helper, os.X_OK), "GIMP must not take a helper for a plug-in"
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file() and p.name != "manifest"}
    second = run("--dev", "--gimp-dir", gimp3, "--gimp-dir", gimp2, env=env)
    assert second.returncode == 0, second.stderr
    assert "already installed" in second.stdout, "the venv was right: pip was not run again"
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps, "a second run rewrites nothing"
    assert run("--uninstall", env=env).returncode == 0
    assert not (gimp3 / "colorize").exists() and not (gimp2 / "colorize_gimp2.py").exists()
    assert not (gimp2 / "colorize_locate.py").exists()
    assert (gimp2 / "someone-else.py").read_text() == "# not ours"


@pytest.mark.skipif(installed_extras() != "cpu,dev,train", reason="needs the venv made by ./install.sh --dev")
def test_a_plugin_of_another_checkout_is_repointed_with_a_note_and_no_gimp_means_no_folders(tmp_path):
    env = dict(os.environ, COLORIZE_INSTALL_MANIFEST=str(tmp_path / "manifest"))
    gimp3 = tmp_path / "GIMP" / "3.0" / "plug-ins"
    (gimp3 / "colorize").mkdir(parents=True)
    (gimp3 / "colorize" / "colorize-config.json").write_text(json.dumps({"project": "/old/colorize"}))
    done = run("--dev", "--gimp-dir", gimp3, env=env)
    assert done.returncode == 0 and "used the Colorize in /old/colorize; it now uses" in done.stdout
    config = json.loads((gimp3 / "colorize" / "colorize-config.json").read_text())
    assert config["project"] == str(ROOT)
    home = tmp_path / "home"
    bare = dict(env, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), PATH="/usr/bin:/bin")
    if any(Path(folder, name).exists() for folder in ("/usr/bin", "/bin") for name in ("gimp", "gimp-3.0")):
        pytest.skip("a GIMP is installed on this machine")
    done = run("--dev", env=bare)
    assert done.returncode == 0 and "no GIMP found" in done.stdout and not (home / ".config" / "GIMP").exists()
