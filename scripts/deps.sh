#!/usr/bin/env bash
# Installs what classcast needs to build, run and test, and only what is missing.
# Safe to run again: every step checks first.
set -euo pipefail

APT_PACKAGES=(
  # cgo build of go-astiav against Debian 12's FFmpeg 5.1
  pkg-config gcc libavcodec-dev libavformat-dev libavfilter-dev libavutil-dev
  libswscale-dev libswresample-dev libavdevice-dev
  # the embedded queue backend
  redis-server
  # PostgreSQL server binaries: the catalog tests run a throwaway cluster of their own
  # (internal/catalog/pgtest); no system-wide cluster is created or started
  postgresql
  # real peers for tests and the demo stream
  ffmpeg gstreamer1.0-tools gstreamer1.0-rtsp gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  # headless browser for end-to-end tests
  chromium
  # CJK font for the demo picture and for screenshots of Chinese pages
  fonts-wqy-zenhei
  # network fault tests
  iproute2
)
# Node.js may come from nodesource (which bundles npm and conflicts with Debian's npm):
# install Debian's only where there is no node at all.
if ! command -v npm >/dev/null 2>&1; then
  APT_PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  # Debian's postgresql package creates and starts a "main" cluster on port 5432 unless
  # told not to; we only want the binaries.
  if [[ " ${missing[*]} " == *" postgresql "* ]] && [ ! -e /etc/postgresql-common/createcluster.d/classcast.conf ]; then
    $SUDO mkdir -p /etc/postgresql-common/createcluster.d
    printf '%s\n' '# classcast: tests run their own clusters; no main cluster on install' \
      'create_main_cluster = false' | $SUDO tee /etc/postgresql-common/createcluster.d/classcast.conf >/dev/null
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "deps: apt packages present"
fi
