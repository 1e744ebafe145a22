#!/usr/bin/env bash
# Installs the local telephony stack the end-to-end tests and `receptionist sip` use:
#   apt:  redis-server, sip-tester (sipp), opus/soxr headers for livekit-sip, espeak-ng, sox,
#         tshark, iproute2
#   go:   livekit-server and livekit-sip at pinned versions (they must be upgraded together:
#         server master after v1.13.5 changed the transfer RPC the bridge uses).
# Idempotent: a binary that already reports (or was stamped with) the pinned version is reused,
# so CI pays for the cold Go builds once per machine.
#
# Env: GOBIN (default ~/go/bin).
set -euo pipefail

LIVEKIT_SERVER_VERSION="v1.13.5"
LIVEKIT_SIP_VERSION="v1.11.0"
APT_PACKAGES=(redis-server sip-tester pkg-config libopus-dev libopusfile-dev libsoxr-dev
              espeak-ng sox tshark iproute2 libportaudio2)

export GOTOOLCHAIN=local
GOBIN="${GOBIN:-$HOME/go/bin}"
export GOBIN
STAMPS="$GOBIN/.receptionist-stack"

log() { printf '[install-stack] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install_apt() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "apt packages present"
    return
  fi
  log "installing apt packages: ${missing[*]}"
  echo "wireshark-common wireshark-common/install-setuid boolean false" | as_root debconf-set-selections
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

check_go() {
  command -v go >/dev/null || { log "go not found: install Go >= 1.26 (https://go.dev/dl)"; exit 1; }
  local minor
  minor="$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
  if [ "$minor" -lt 26 ]; then
    log "Go $(go env GOVERSION) is too old: livekit-server ${LIVEKIT_SERVER_VERSION} needs go1.26"
    exit 1
  fi
}

# have BIN VERSION: true when $GOBIN/BIN exists and reports, or was stamped with, VERSION.
have() {
  local bin="$GOBIN/$1" want="$2"
  [ -x "$bin" ] || return 1
  if [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$want" ]; then return 0; fi
  if "$bin" --version 2>/dev/null | grep -q "${want#v}"; then stamp "$1" "$want"; return 0; fi
  return 1
}

stamp() { mkdir -p "$STAMPS"; printf '%s\n' "$2" >"$STAMPS/$1"; }

install_server() {
  if have server "$LIVEKIT_SERVER_VERSION"; then
    log "livekit-server ${LIVEKIT_SERVER_VERSION} present"
    return
  fi
  log "building livekit-server ${LIVEKIT_SERVER_VERSION} (several minutes on 2 cores)"
  CGO_ENABLED=0 go install "github.com/livekit/livekit-server/cmd/server@${LIVEKIT_SERVER_VERSION}"
  stamp server "$LIVEKIT_SERVER_VERSION"
}

install_sip() {
  if have livekit-sip "$LIVEKIT_SIP_VERSION"; then
    log "livekit-sip ${LIVEKIT_SIP_VERSION} present"
    return
  fi
  log "building livekit-sip ${LIVEKIT_SIP_VERSION} (cgo; several minutes on 2 cores)"
  if CGO_ENABLED=1 go install "github.com/livekit/sip/cmd/livekit-sip@${LIVEKIT_SIP_VERSION}"; then
    stamp livekit-sip "$LIVEKIT_SIP_VERSION"
    return
  fi
  # Not fatal: everything else still installs, and the end-to-end tests say why they skip.
  cat >&2 <<MSG
[install-stack] livekit-sip ${LIVEKIT_SIP_VERSION} could not be installed: the Go module proxy
  refused github.com/livekit/sip (some proxies and mirrors do not serve it). Get the binary
  another way and put it at $GOBIN/livekit-sip (or on PATH), then re-run this script:
   - copy the livekit-sip binary out of LiveKit's livekit/sip:${LIVEKIT_SIP_VERSION#v} Docker image
     (docker create, then docker cp), or run that image instead of a local binary;
   - from source: github.com/livekit/sip at ${LIVEKIT_SIP_VERSION}, following its README
     (needs libopus-dev libopusfile-dev libsoxr-dev, already installed above).
  Until then the end-to-end tests are skipped with this reason.
MSG
}

main() {
  install_apt
  check_go
  mkdir -p "$GOBIN"
  install_server
  install_sip
  log "ready: $GOBIN/server, $GOBIN/livekit-sip, redis-server, sipp"
}

main "$@"
