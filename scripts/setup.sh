#!/usr/bin/env bash
# Set up a working packseal checkout: the system packages it needs (installed with
# apt-get only when missing and only as root), a .venv, and the package with dev tools.
#   scripts/setup.sh [--test]     --test adds what the test suite needs (Chromium)
# Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
venv=${VENV:-.venv}
packages=(libzbar0)                        # pyzbar's shared library
packages+=(fonts-noto-cjk)                 # Chinese on the evidence sheet (verifier/_sheet_fonts.py)
if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  packages+=(python3-venv)                 # Debian splits venv out of python3
fi
if [ "${1:-}" = "--test" ]; then
  packages+=(chromium fonts-dejavu-core)   # browser tests drive the system Chromium
  packages+=(poppler-utils)                # pdftotext reads the sheet PDF's text back
  # IP-camera tests: a real RTSP server (GStreamer's gst-rtsp-server, run by the system
  # python3 through python3-gi: tests/rtsp_server.py); qtdemux, rtph264pay and rtph265pay
  # (H.265 cameras) are -good; the H.265 test files are encoded by imageio-ffmpeg's libx265
  packages+=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good)
  # the verify page's build check: web-verify/ rebuilds packseal/web/verify.html with
  # its locked npm toolchain (esbuild, eslint) and compares it with the committed file
  command -v npm >/dev/null || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing system packages: ${missing[*]}" >&2
    echo "hint: run as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

[ "${1:-}" = "--test" ] && exit 0

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -e '.[dev]'
echo "setup: ready ($("$venv/bin/python" --version), $venv)"
