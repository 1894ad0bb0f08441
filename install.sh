#!/usr/bin/env bash
# Colorize installer: a virtual environment with the runtime (and, with --dev, tests and training), plus the GIMP
# plug-ins. Safe to run again: what is already right is left alone.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
GPU=0
DEV=0
CLUSTER=0
GIMP=1
GIMP_DIRS=()
UNINSTALL=0
PLUGIN_NAME="colorize"

usage() {
  cat <<EOF
Usage: ./install.sh [options]

Creates a Python virtual environment with Colorize's runtime (numpy, onnxruntime, Pillow, tifffile, imagecodecs,
tqdm) and the 'colorize' command, and installs the GIMP plug-ins.

Options:
  --venv DIR       where to create the virtual environment (default: .venv in the repository)
  --python PY      Python 3.10+ to build it with (default: python3, or \$PYTHON)
  --gpu            use onnxruntime-gpu (CUDA) instead of the CPU onnxruntime
  --dev            also install test and training tools (pytest, ruff, scikit-image, onnx, torch==2.13.0 CPU, ...)
                   and the cluster extra
  --cluster        also install Dask distributed, for colorize --cluster (whole archives over many machines)
  --gimp-dir DIR   install the GIMP plug-in into this plug-ins folder (repeatable); default: GIMP 3's folder, and
                   GIMP 2.10's when it exists:
                     Linux    ~/.config/GIMP/3.0/plug-ins            ~/.config/GIMP/2.10/plug-ins
                     macOS    ~/Library/Application Support/GIMP/3.0/plug-ins
                     Windows  %APPDATA%\\GIMP\\3.0\\plug-ins
  --no-gimp        do not touch GIMP's folders
  --uninstall      remove the GIMP plug-ins this script installed (the virtual environment is left; delete it
                   by hand if you like)
  -h, --help       show this help
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --venv) VENV="$(realpath -m "$2")"; shift 2 ;;
    --python) PYTHON="$2"; shift 2 ;;
    --gpu) GPU=1; shift ;;
    --dev) DEV=1; shift ;;
    --cluster) CLUSTER=1; shift ;;
    --gimp-dir) GIMP_DIRS+=("$(realpath -m "$2")"); shift 2 ;;
    --no-gimp) GIMP=0; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }
MANIFEST="${COLORIZE_INSTALL_MANIFEST:-$ROOT/.colorize-gimp-installed}"  # what --uninstall removes

# --- GIMP plug-ins -------------------------------------------------------------------------------------------------
default_gimp_dirs() {
  local base
  case "$(uname -s)" in
    Darwin) base="$HOME/Library/Application Support/GIMP" ;;
    MINGW*|MSYS*|CYGWIN*) base="${APPDATA:-$HOME/AppData/Roaming}/GIMP" ;;
    *) base="${XDG_CONFIG_HOME:-$HOME/.config}/GIMP" ;;
  esac
  # Only where a GIMP is: its settings folder exists, or its program does (a GIMP that never ran has no folder yet).
  if [[ -d "$base/3.0" ]] || command -v gimp-3.0 >/dev/null || command -v gimp >/dev/null; then
    echo "$base/3.0/plug-ins"
  fi
  if [[ -d "$base/2.10" ]]; then echo "$base/2.10/plug-ins"; fi
}

copy_if_changed() {  # copy_if_changed SRC DEST MODE
  echo "$2" >>"$MANIFEST"
  if [[ -f "$2" ]] && cmp -s "$1" "$2"; then return 0; fi
  install -m "$3" "$1" "$2"
}

install_gimp_plugin() {  # install_gimp_plugin PLUG_INS_DIR
  local dir="$1" version="3"
  [[ "$dir" == *"/2.10/"* || "$dir" == *"/2.10" ]] && version="2"
  local config
  config="$(mktemp)"
  # Where the plug-in finds the project, its Python and its models; JSON written by JSON's own writer (a path may
  # hold quotes or a newline).
  "$VENV_PYTHON" -c 'import json, sys
json.dump(dict(zip(("project", "python", "models"), sys.argv[1:])), sys.stdout, indent=2)
print()' "$ROOT" "$VENV_PYTHON" "$ROOT/gimp_plugin/models" >"$config"
  local installed="$dir/colorize-config.json"
  [[ "$version" == "3" ]] && installed="$dir/$PLUGIN_NAME/colorize-config.json"
  if [[ -f "$installed" ]] && ! cmp -s "$config" "$installed"; then
    local before
    before="$("$VENV_PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("project", "?"))' \
      "$installed" 2>/dev/null || echo "?")"
    if [[ "$before" != "$ROOT" ]]; then
      say "note: the plug-in in $dir used the Colorize in $before; it now uses $ROOT"
    fi
  fi
  if [[ "$version" == "3" ]]; then
    # GIMP 3 wants plug-ins/<name>/<name>.py, executable.
    mkdir -p "$dir/$PLUGIN_NAME"
    copy_if_changed "$ROOT/gimp_plugin/gimp3/colorize/colorize.py" "$dir/$PLUGIN_NAME/$PLUGIN_NAME.py" 755
    copy_if_changed "$ROOT/gimp_plugin/gimp3/colorize/colorize_preview.py" "$dir/$PLUGIN_NAME/colorize_preview.py" 644
    copy_if_changed "$ROOT/gimp_plugin/gimp3/colorize/colorize_suggest.py" "$dir/$PLUGIN_NAME/colorize_suggest.py" 644
    copy_if_changed "$ROOT/gimp_plugin/worker/colorize_locate.py" "$dir/$PLUGIN_NAME/colorize_locate.py" 644
    copy_if_changed "$config" "$dir/$PLUGIN_NAME/colorize-config.json" 644
    say "GIMP 3 plug-in: $dir/$PLUGIN_NAME/$PLUGIN_NAME.py"
  else
    mkdir -p "$dir"
    copy_if_changed "$ROOT/gimp_plugin/gimp2/colorize_gimp2.py" "$dir/colorize_gimp2.py" 755
    # Not executable: GIMP 2.10 only runs executable files in plug-ins/ as plug-ins.
    copy_if_changed "$ROOT/gimp_plugin/worker/colorize_locate.py" "$dir/colorize_locate.py" 644
    copy_if_changed "$config" "$dir/colorize-config.json" 644
    say "GIMP 2.10 plug-in: $dir/colorize_gimp2.py"
  fi
  rm -f "$config"
}

uninstall_gimp() {
  if [[ ! -f "$MANIFEST" ]]; then say "nothing to uninstall (no $MANIFEST)"; return 0; fi
  sort -u "$MANIFEST" | while IFS= read -r path; do
    if [[ -f "$path" ]]; then rm -f "$path" && say "removed $path"; fi
    rmdir "$(dirname "$path")" 2>/dev/null || true  # the plug-in's own folder, once empty
  done
  rm -f "$MANIFEST"
}

if [[ $UNINSTALL -eq 1 ]]; then uninstall_gimp; exit 0; fi

# --- the virtual environment ---------------------------------------------------------------------------------------
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "install.sh: $PYTHON is missing or older than 3.10; pass --python /path/to/python3.10+" >&2
  exit 1
fi
venv_python() {  # a venv keeps its Python in bin/ on Linux and macOS, in Scripts/ on Windows
  if [[ -x "$VENV/Scripts/python.exe" ]]; then echo "$VENV/Scripts/python.exe"; else echo "$VENV/bin/python"; fi
}
if [[ ! -x "$(venv_python)" ]]; then
  say "creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
VENV_PYTHON="$(venv_python)"

extras="cpu"
[[ $GPU -eq 1 ]] && extras="gpu"
[[ $CLUSTER -eq 1 ]] && extras="$extras,cluster"
[[ $DEV -eq 1 ]] && extras="$extras,dev,train"
stamp="$VENV/.colorize-install-stamp"
wanted="$extras $(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
  say "Python packages already installed ($extras)"
else
  say "installing Colorize with extras [$extras] into $VENV"
  # The CPU and GPU builds of onnxruntime provide the same module: never leave both installed.
  if [[ $GPU -eq 1 ]]; then "$VENV_PYTHON" -m pip uninstall -q -y onnxruntime 2>/dev/null || true
  else "$VENV_PYTHON" -m pip uninstall -q -y onnxruntime-gpu 2>/dev/null || true; fi
  "$VENV_PYTHON" -m pip install -q --upgrade pip
  "$VENV_PYTHON" -m pip install -q -e "$ROOT[$extras]"
  echo "$wanted" >"$stamp"
fi

if [[ ! -f "$ROOT/gimp_plugin/models/colorize.onnx" ]]; then
  say "note: no shipped model at gimp_plugin/models/colorize.onnx yet; train and export one (see README)"
fi

# --- GIMP -----------------------------------------------------------------------------------------------------------
if [[ $GIMP -eq 1 ]]; then
  if [[ ${#GIMP_DIRS[@]} -eq 0 ]]; then
    mapfile -t GIMP_DIRS < <(default_gimp_dirs)
    if [[ ${#GIMP_DIRS[@]} -eq 0 ]]; then
      say "no GIMP found (no GIMP settings folder, no gimp program): the plug-ins were not installed; install GIMP," \
        "or pass --gimp-dir DIR"
    fi
  fi
  if [[ ${#GIMP_DIRS[@]} -gt 0 ]]; then
    for dir in "${GIMP_DIRS[@]}"; do install_gimp_plugin "$dir"; done
    say "restart GIMP, open a photo, then: Filters > Colors > Colorize..."
  fi
fi
say "done. Try: $VENV/bin/colorize $ROOT/examples/astronaut_bw.jpg -o colorized.png"
