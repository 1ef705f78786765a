#!/usr/bin/env bash
# One entry point for people and CI. Each command installs what it needs first (as root on Debian:
# apt packages; always: a venv in .venv with the project and its dev tools).
#
#   ./dev.sh demo    run a simulated cabinet against a local broker and show what it publishes
#   ./dev.sh test    lint, type-check and run the whole test suite, then the HIL stage
#   ./dev.sh hil     the hardware-in-the-loop scenarios (simulated bench; --bench FILE for a real one)
#   ./dev.sh bench   run the benchmarks and print their figures
#   ./dev.sh setup   only install
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(python3 python3-venv python3-pip mosquitto mosquitto-clients socat openssl chromium fonts-wqy-microhei
  openssh-server iproute2 systemd postgresql nftables nats-server debootstrap systemd-container)
# command that must exist -> the package that provides it
declare -A NEEDED=([mosquitto]=mosquitto [mosquitto_sub]=mosquitto-clients [socat]=socat [openssl]=openssl
  [chromium]=chromium [sshd]=openssh-server [ip]=iproute2 [systemd-analyze]=systemd [nft]=nftables
  [nats-server]=nats-server # nats-server: another real broker for the tests (MQTT 3.1.1 only)
  [debootstrap]=debootstrap [systemd-nspawn]=systemd-container) # a booted systemd cabinet for the unit
# packages that provide no command (checked with dpkg)
DATA_PACKAGES=(fonts-wqy-microhei postgresql) # Chinese glyphs for the page's screenshots; PostgreSQL for the centre's tests
# (its commands live in /usr/lib/postgresql/<version>/bin, not on PATH)
VENV=.venv
PY="$VENV/bin/python"

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

python_ok() {
  command -v python3 >/dev/null 2>&1 &&
    python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

setup_system() {
  local missing=()
  for cmd in "${!NEEDED[@]}"; do have "$cmd" || missing+=("${NEEDED[$cmd]}"); done
  python_ok || missing+=(python3 python3-venv python3-pip)
  if command -v dpkg >/dev/null; then
    for pkg in "${DATA_PACKAGES[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "missing: ${missing[*]}; install them (Debian: apt-get install ${APT_PACKAGES[*]})" >&2
    exit 1
  fi
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

setup_venv() {
  local stamp="$VENV/.installed" digest
  digest=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ ! -x "$PY" ]; then python3 -m venv "$VENV"; fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    echo "installing the project and its dev tools into $VENV (log: $VENV/install.log)"
    if ! "$PY" -m pip install -q -e '.[dev,fleet,centre]' >"$VENV/install.log" 2>&1; then
      tail -20 "$VENV/install.log" >&2
      exit 1
    fi
    echo "$digest" >"$stamp"
  fi
}

# The stock `onvif-zeep` (the 2018 client the design names) in a venv of its own: it and the
# agent's onvif-zeep-async both install a package called `onvif`. Tests meet the simulator with it.
ONVIF_ZEEP_VENV=.venv-onvif-zeep
setup_onvif_zeep() {
  local stamp="$ONVIF_ZEEP_VENV/.installed" want="onvif-zeep==0.2.12"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
  echo "installing $want into $ONVIF_ZEEP_VENV (the independent ONVIF client of the tests)"
  [ -x "$ONVIF_ZEEP_VENV/bin/python" ] || python3 -m venv "$ONVIF_ZEEP_VENV"
  if ! "$ONVIF_ZEEP_VENV/bin/python" -m pip install -q "$want" >"$ONVIF_ZEEP_VENV/install.log" 2>&1; then
    tail -20 "$ONVIF_ZEEP_VENV/install.log" >&2
    exit 1
  fi
  echo "$want" >"$stamp"
}

setup() { setup_system; setup_venv; setup_onvif_zeep; }

case "${1:-help}" in
  setup) setup ;;
  demo)
    setup
    shift
    exec "$VENV/bin/edge-agent" demo "$@"
    ;;
  test)
    setup
    shift
    "$VENV/bin/ruff" check edge_agent tests benchmarks firmware_hooks hil_tests
    "$VENV/bin/mypy"
    if [ $# -gt 0 ]; then exec "$PY" -m pytest -q -ra "$@"; fi
    "$PY" -m pytest -q -ra tests hil_tests/test_cabinet.py
    exec "$0" hil
    ;;
  hil)
    setup
    shift
    if [ "${1:-}" = --bench ]; then
      export EDGE_AGENT_HIL_BENCH="$2"
      shift 2
    fi
    # Stage of its own: the two 5-minute uplink runs overlap the short scenarios (~7 min wall).
    exec "$PY" -m pytest -q -ra -p no:cacheprovider hil_tests/test_scenarios.py hil_tests/test_uplink.py "$@"
    ;;
  bench)
    setup
    shift
    exec "$PY" benchmarks/run.py "$@"
    ;;
  *)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
