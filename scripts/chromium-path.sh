#!/usr/bin/env bash
# Prints the path of a headless-capable Chromium for the console's browser tests and
# screenshots, installing Debian's `chromium` package when there is none.
#
#   scripts/chromium-path.sh        (MLC_CHROMIUM=/path/to/chromium overrides the search)
#
# Exit status 3 means Chromium is not installed and could not be installed.
set -euo pipefail

NOT_INSTALLED=3
say() { echo "chromium-path: $*" >&2; }

find_chromium() {
    if [ -n "${MLC_CHROMIUM:-}" ] && [ -x "$MLC_CHROMIUM" ]; then
        echo "$MLC_CHROMIUM"
        return 0
    fi
    for candidate in chromium chromium-browser; do
        if command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

if path=$(find_chromium); then
    echo "$path"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    say "no chromium on PATH and no apt-get to install it; set MLC_CHROMIUM"
    exit "$NOT_INSTALLED"
fi
say "installing Debian's chromium package"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium; } >&2; then
    say "apt-get install chromium failed; set MLC_CHROMIUM to a Chromium executable"
    exit "$NOT_INSTALLED"
fi
find_chromium || { say "chromium installed but not found on PATH"; exit "$NOT_INSTALLED"; }
