#!/usr/bin/env bash
# Installs the local telephony stack the end-to-end tests and `receptionist sip` use:
#   apt:  redis-server, sip-tester (sipp), opus/soxr headers for livekit-sip, espeak-ng, sox,
#         tshark, iproute2
#   go:   livekit-server and livekit-sip at pinned versions (they must be upgraded together:
#         server master after v1.13.5 changed the transfer RPC the bridge uses).
# Idempotent: a binary that already reports (or was stamped with) the pinned version is reused,
# so CI pays for the cold Go builds once per machine.
#
# Env: GOBIN (default ~/go/bin), STACK_CACHE (default ~/.cache/receptionist-stack),
#      LIVEKIT_GIT_MIRRORS: a folder with local git clones named livekit+<repo>/repo (or <repo>),
#      used to build livekit-sip from source when the Go module proxy does not serve a pinned
#      module version (it refuses some livekit/* pseudo-versions).
set -euo pipefail

LIVEKIT_SERVER_VERSION="v1.13.5"
LIVEKIT_SIP_VERSION="v1.11.0"
APT_PACKAGES=(redis-server sip-tester pkg-config libopus-dev libopusfile-dev libsoxr-dev
              espeak-ng sox tshark iproute2 libportaudio2)

export GOTOOLCHAIN=local
GOBIN="${GOBIN:-$HOME/go/bin}"
export GOBIN
STACK_CACHE="${STACK_CACHE:-$HOME/.cache/receptionist-stack}"
STAMPS="$GOBIN/.receptionist-stack"
LIVEKIT_GIT_MIRRORS="${LIVEKIT_GIT_MIRRORS:-/work/.mirror}"

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
  log "the module proxy did not serve livekit-sip ${LIVEKIT_SIP_VERSION}; trying local git mirrors"
  build_sip_from_mirrors
  stamp livekit-sip "$LIVEKIT_SIP_VERSION"
}

# mirror NAME: prints the git dir of a local clone of github.com/livekit/NAME, or fails.
mirror() {
  local candidate
  for candidate in "$LIVEKIT_GIT_MIRRORS/livekit+$1/repo" "$LIVEKIT_GIT_MIRRORS/$1"; do
    if git --git-dir="$candidate" rev-parse --git-dir >/dev/null 2>&1; then
      echo "$candidate"; return 0
    fi
    if git -C "$candidate" rev-parse --git-dir >/dev/null 2>&1; then
      git -C "$candidate" rev-parse --absolute-git-dir; return 0
    fi
  done
  log "no local clone of github.com/livekit/$1 under $LIVEKIT_GIT_MIRRORS"
  return 1
}

# extract NAME REV DEST: writes the tree of REV from the mirror of NAME into DEST.
extract() {
  local git_dir
  git_dir="$(mirror "$1")" || exit 1
  mkdir -p "$3"
  git --git-dir="$git_dir" archive "$2" | tar -x -C "$3"
}

# pseudo_rev MODULE GOMOD: the commit of MODULE's pseudo-version (or its tag) required by GOMOD.
pseudo_rev() {
  local version
  version="$(awk -v m="$1" '$1 == m {print $2; exit}' "$2")"
  if [[ "$version" =~ -([0-9a-f]{12})$ ]]; then echo "${BASH_REMATCH[1]}"; else echo "$version"; fi
}

build_sip_from_mirrors() {
  local src="$STACK_CACHE/src-sip-${LIVEKIT_SIP_VERSION}"
  rm -rf "$src"
  extract sip "$LIVEKIT_SIP_VERSION" "$src/sip"
  local replaces=()
  for dep in media-sdk protocol; do
    local rev
    rev="$(pseudo_rev "github.com/livekit/$dep" "$src/sip/go.mod")"
    extract "$dep" "$rev" "$src/$dep"
    replaces+=("-replace=github.com/livekit/$dep=../$dep")
  done
  (
    cd "$src/sip"
    go mod edit "${replaces[@]}"
    CGO_ENABLED=1 GOFLAGS=-mod=mod go build -trimpath \
      -ldflags "-X github.com/livekit/sip/version.Version=${LIVEKIT_SIP_VERSION#v}" -o "$GOBIN/livekit-sip" ./cmd/livekit-sip
  )
  log "built livekit-sip ${LIVEKIT_SIP_VERSION} from local mirrors"
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
