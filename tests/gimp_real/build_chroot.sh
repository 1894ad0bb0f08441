#!/usr/bin/env bash
# Builds, once, a Debian chroot with a real GIMP 3 and its Python plug-in support, plus a venv with onnxruntime, for
# the tests that run Colorize inside GIMP (tests/gimp_real/test_gimp_real.py). Needs root (debootstrap, chroot, unshare).
#   build_chroot.sh [trixie|forky ...]     default: both
#   trixie: Debian 13, GIMP 3.0.x        forky: Debian 14 (testing), GIMP 3.2.x (debootstrap's "sid" script)
# Each chroot is cached outside the clone, in $COLORIZE_GIMP_CHROOTS (default /var/cache/colorize), as
# gimp-<release>; a finished one holds .colorize-ready and is left alone. Xvfb and ImageMagick are installed too,
# for the test that opens the real dialog and takes a screenshot.
set -euo pipefail
CACHE="${COLORIZE_GIMP_CHROOTS:-/var/cache/colorize}"
RELEASES=("$@")
[[ ${#RELEASES[@]} -eq 0 ]] && RELEASES=(trixie forky)

if [[ "$(id -u)" != 0 ]]; then echo "building the GIMP chroots needs root" >&2; exit 3; fi
if ! command -v debootstrap >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
mirror="${mirror:-http://deb.debian.org/debian}"

build() {  # build RELEASE
  local release="$1" target="$CACHE/gimp-$1" script=""
  if [[ -f "$target/.colorize-ready" ]]; then echo "GIMP chroot ready: $target"; return 0; fi
  # debootstrap knows a release by its script; a release newer than this debootstrap bootstraps like sid.
  [[ -e "/usr/share/debootstrap/scripts/$release" ]] || script=/usr/share/debootstrap/scripts/sid
  local work="$target.partial"
  rm -rf "$work"
  mkdir -p "$CACHE"
  echo "debootstrap $release from $mirror into $work"
  debootstrap --variant=minbase "$release" "$work" "$mirror" $script >/dev/null
  # The host's extra CA certificates (a TLS-inspecting gateway, say) so that apt and pip inside work as outside.
  mkdir -p "$work/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$work/usr/local/share/ca-certificates/" 2>/dev/null || true
  cp /etc/resolv.conf "$work/etc/resolv.conf"
  inside() {  # run a command in the chroot with /proc and /dev mounted in a private mount namespace
    unshare -m -- bash -c 'mount -t proc proc "$1/proc" && mount --rbind /dev "$1/dev" && shift && chroot "$@"' \
      _ "$work" "$work" "$@"
  }
  inside env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    gimp gir1.2-gimp-3.0 python3-gi python3-numpy python3-venv ca-certificates \
    xvfb xauth x11-utils imagemagick fonts-dejavu-core adwaita-icon-theme >/dev/null
  inside update-ca-certificates >/dev/null
  inside python3 -m venv /opt/colorize-venv
  inside /opt/colorize-venv/bin/pip install -q --disable-pip-version-check numpy onnxruntime
  inside gimp-console --version
  touch "$work/.colorize-ready"
  mv "$work" "$target"
  echo "GIMP chroot ready: $target"
}

# Each release is built by a child of this script: bash ignores `set -e` inside a function called as `build || ...`,
# which once marked a chroot ready after debootstrap itself had failed.
if [[ "${1:-}" == --one ]]; then build "$2"; exit 0; fi
status=0
for release in "${RELEASES[@]}"; do
  bash "${BASH_SOURCE[0]}" --one "$release" || { echo "could not build the $release GIMP chroot" >&2; status=1; }
done
exit $status
