#!/usr/bin/env bash
# Builds, once, a Debian 13 (trixie) chroot with GIMP 3 and its Python plug-in support, plus a venv with
# onnxruntime, for the tests that run Colorize inside a real GIMP 3. Needs root (debootstrap, chroot, unshare).
# The chroot is cached outside the clone: $COLORIZE_GIMP_CHROOT (default /var/cache/colorize/gimp3-trixie).
set -euo pipefail
TARGET="${COLORIZE_GIMP_CHROOT:-/var/cache/colorize/gimp3-trixie}"
if [[ -f "$TARGET/.colorize-ready" ]]; then echo "GIMP 3 chroot ready: $TARGET"; exit 0; fi
if [[ "$(id -u)" != 0 ]]; then echo "building the GIMP 3 chroot needs root" >&2; exit 3; fi
if ! command -v debootstrap >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
work="$TARGET.partial"
rm -rf "$work"
mkdir -p "$(dirname "$TARGET")"
echo "debootstrap trixie from $mirror into $work"
debootstrap --variant=minbase trixie "$work" "$mirror" >/dev/null
# The host's extra CA certificates (a TLS-inspecting gateway, say) so that apt and pip inside work as outside.
mkdir -p "$work/usr/local/share/ca-certificates"
cp /usr/local/share/ca-certificates/*.crt "$work/usr/local/share/ca-certificates/" 2>/dev/null || true
cp /etc/resolv.conf "$work/etc/resolv.conf"
inside() {  # run a command in the chroot with /proc and /dev mounted in a private mount namespace
  unshare -m -- bash -c 'mount -t proc proc "$1/proc" && mount --rbind /dev "$1/dev" && shift && chroot "$@"' \
    _ "$work" "$work" "$@"
}
inside env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  gimp gir1.2-gimp-3.0 python3-gi python3-numpy python3-venv ca-certificates >/dev/null
inside update-ca-certificates >/dev/null
inside python3 -m venv /opt/colorize-venv
inside /opt/colorize-venv/bin/pip install -q --disable-pip-version-check numpy onnxruntime
inside gimp-console-3.0 --version
touch "$work/.colorize-ready"
mv "$work" "$TARGET"
echo "GIMP 3 chroot ready: $TARGET"
