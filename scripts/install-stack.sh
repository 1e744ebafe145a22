#!/usr/bin/env bash
# Installs the local telephony stack the end-to-end tests and `receptionist sip` use:
#   apt:  redis-server, sip-tester (sipp), opus/soxr headers for livekit-sip, espeak-ng, sox,
#         tshark, iproute2, xz-utils
#   go:   livekit-server and livekit-sip at pinned versions (they must be upgraded together:
#         server master after v1.13.5 changed the transfer RPC the bridge uses).
# Idempotent: a binary that already reports (or was stamped with) the pinned version is reused,
# so CI pays for the cold Go builds once per machine.
#
# livekit-sip comes from one of two doors:
#   - `go install github.com/livekit/sip/cmd/livekit-sip@v1.11.0` (cgo), the default;
#   - a prebuilt binary named by LIVEKIT_SIP_BINARY, for networks whose Go module proxy refuses
#     github.com/livekit/sip: a plain binary (e.g. copied out of LiveKit's livekit/sip Docker
#     image) or an .xz of one (e.g. ../shared/bin/livekit-sip-v1.11.0-linux-amd64.xz). It is
#     copied or decompressed into $GOBIN (the source may be read-only) and used only when
#     `livekit-sip --version` says v1.11.0 and, if LIVEKIT_SIP_SHA256 is set, the (decompressed)
#     binary has that sha256. When LIVEKIT_SIP_BINARY is set it is tried first (no network, no
#     cold cgo build) and `go install` is the fallback; unset, `go install` is the only try.
#
# Env: GOBIN (default ~/go/bin); LIVEKIT_SIP_BINARY, LIVEKIT_SIP_SHA256 (above);
#      CI=true: exit non-zero when anything is missing (the end-to-end tests must run in CI).
# The last line says what is installed and, if anything is not, what and why.
set -euo pipefail

LIVEKIT_SERVER_VERSION="v1.13.5"
LIVEKIT_SIP_VERSION="v1.11.0"
APT_PACKAGES=(redis-server sip-tester pkg-config libopus-dev libopusfile-dev libsoxr-dev
              espeak-ng sox tshark iproute2 libportaudio2 xz-utils)

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

# sip_version_ok BIN: true when BIN runs and prints `SIP version 1.11.0` (LiveKit's Docker
# builds print the tag, `v1.11.0`). SIP_VERSION_SEEN keeps what it printed, for messages.
SIP_VERSION_SEEN=""
sip_version_ok() {
  local want="${LIVEKIT_SIP_VERSION#v}" out rc=0
  out="$("$1" --version 2>&1)" || rc=$?
  SIP_VERSION_SEEN="$(head -c 300 <<<"$out" | tr '\n' ' ' | sed -E 's/ +$//')"
  [ "$rc" = 0 ] && grep -qxE "SIP version v?${want//./\\.}" <<<"$out"
}

# What install_server / install_sip found or did, for the summary line.
SERVER_NOTE=""
SIP_NOTE=""
SIP_FAILURES=()

install_server() {
  if have server "$LIVEKIT_SERVER_VERSION"; then
    log "livekit-server ${LIVEKIT_SERVER_VERSION} present"
    SERVER_NOTE="present"
    return 0
  fi
  log "building livekit-server ${LIVEKIT_SERVER_VERSION} (several minutes on 2 cores)"
  if CGO_ENABLED=0 go install "github.com/livekit/livekit-server/cmd/server@${LIVEKIT_SERVER_VERSION}"; then
    stamp server "$LIVEKIT_SERVER_VERSION"
    SERVER_NOTE="built with go install"
    return 0
  fi
  SERVER_NOTE="go install failed (see the go error above)"
  return 1
}

# sip_from_go: the first door. On failure the reason is added to SIP_FAILURES.
sip_from_go() {
  log "building livekit-sip ${LIVEKIT_SIP_VERSION} with go install (cgo; several minutes on 2 cores)"
  local out
  out="$(mktemp)"
  if (set -o pipefail
      CGO_ENABLED=1 go install "github.com/livekit/sip/cmd/livekit-sip@${LIVEKIT_SIP_VERSION}" 2>&1 \
        | tee "$out" >&2); then
    rm -f "$out"
    stamp livekit-sip "$LIVEKIT_SIP_VERSION"
    SIP_NOTE="built with go install"
    return 0
  fi
  local why
  why="$(grep -E '^go: ' "$out" | grep -v '^go: downloading' | tail -n 1 | sed -E 's/^go: //')"
  rm -f "$out"
  case "$why" in
    *403*|*404*|*410*|*"not available"*) why="the Go module proxy refused it (${why##*: })" ;;
    "") why="see the go error above" ;;
  esac
  SIP_FAILURES+=("go install failed: $why")
  return 1
}

# sip_from_prebuilt: the second door, LIVEKIT_SIP_BINARY (plain or .xz), verified before it
# replaces anything in $GOBIN. On failure the reason is added to SIP_FAILURES.
sip_from_prebuilt() {
  local src="$LIVEKIT_SIP_BINARY" dest="$GOBIN/livekit-sip" tmp="$GOBIN/.livekit-sip.partial"
  local want_sha="${LIVEKIT_SIP_SHA256:-}" got_sha
  want_sha="${want_sha,,}"
  log "installing livekit-sip ${LIVEKIT_SIP_VERSION} from LIVEKIT_SIP_BINARY=$src"
  if ! [ -f "$src" ] || ! [ -r "$src" ]; then
    prebuilt_rejected "not a readable file"; return 1
  fi
  if [ -n "$want_sha" ] && ! [[ "$want_sha" =~ ^[0-9a-f]{64}$ ]]; then
    prebuilt_rejected "LIVEKIT_SIP_SHA256 is not a sha256 (64 hex digits)"; return 1
  fi
  rm -f "$tmp"
  case "$src" in
    *.xz)
      if ! xz -dc -- "$src" >"$tmp"; then prebuilt_rejected "xz could not decompress it"; return 1; fi ;;
    *)
      if ! cp -- "$src" "$tmp"; then prebuilt_rejected "could not copy it into $GOBIN"; return 1; fi ;;
  esac
  chmod 0755 "$tmp"
  if [ -n "$want_sha" ]; then
    got_sha="$(sha256sum "$tmp" | cut -d' ' -f1)"
    if [ "$got_sha" != "$want_sha" ]; then
      prebuilt_rejected "sha256 mismatch: the binary's is $got_sha, LIVEKIT_SIP_SHA256 says $want_sha"
      return 1
    fi
  fi
  if ! sip_version_ok "$tmp"; then
    prebuilt_rejected "\`livekit-sip --version\` does not say ${LIVEKIT_SIP_VERSION#v} (it printed: ${SIP_VERSION_SEEN:-nothing})"
    return 1
  fi
  mv -f -- "$tmp" "$dest"
  stamp livekit-sip "$LIVEKIT_SIP_VERSION"
  SIP_NOTE="prebuilt from $src, version checked${want_sha:+, sha256 checked}"
  log "livekit-sip ${LIVEKIT_SIP_VERSION} installed at $dest (${SIP_NOTE#prebuilt })"
  return 0
}

# prebuilt_rejected WHY: records why LIVEKIT_SIP_BINARY was not used and removes the partial copy.
prebuilt_rejected() {
  rm -f "$GOBIN/.livekit-sip.partial"
  SIP_FAILURES+=("LIVEKIT_SIP_BINARY=$LIVEKIT_SIP_BINARY rejected: $1")
  log "${SIP_FAILURES[-1]}"
}

install_sip() {
  local bin="$GOBIN/livekit-sip"
  if have livekit-sip "$LIVEKIT_SIP_VERSION"; then
    # The stamp alone is not enough: the binary must still start (its shared libraries).
    if sip_version_ok "$bin" || "$bin" --version >/dev/null 2>&1; then
      log "livekit-sip ${LIVEKIT_SIP_VERSION} present"
      SIP_NOTE="present"
      return 0
    fi
    log "$bin does not run (it printed: ${SIP_VERSION_SEEN:-nothing}); replacing it"
    rm -f "$STAMPS/livekit-sip"
  fi
  # An explicitly given prebuilt binary goes first when it verifies: no network, no cold cgo
  # build. Without LIVEKIT_SIP_BINARY, go install is the first (and only) door.
  if [ -n "${LIVEKIT_SIP_BINARY:-}" ]; then
    sip_from_prebuilt && return 0
    log "falling back to go install"
  fi
  sip_from_go && return 0
  return 1
}

sip_help() {
  cat >&2 <<MSG
[install-stack] livekit-sip ${LIVEKIT_SIP_VERSION} is NOT installed:
$(printf '    - %s\n' "${SIP_FAILURES[@]}")
  Give this script a prebuilt bridge and re-run it:
    LIVEKIT_SIP_BINARY=/path/to/livekit-sip[.xz] [LIVEKIT_SIP_SHA256=<sha256 of the binary>] \\
      bash scripts/install-stack.sh
  It copies (or, for .xz, decompresses) the file into $GOBIN and keeps it only if
  \`livekit-sip --version\` says ${LIVEKIT_SIP_VERSION#v} (and the sha256 matches, when given).
  Where to get one:
   - this project's shared tools: ../shared/bin/livekit-sip-${LIVEKIT_SIP_VERSION}-linux-amd64.xz
     (sha256 values in ../shared/bin/README.md; .ci/run uses it automatically);
   - LiveKit's Docker image: docker create --name lksip livekit/sip:${LIVEKIT_SIP_VERSION}
     && docker cp lksip:/bin/livekit-sip ./livekit-sip && docker rm lksip, then
     LIVEKIT_SIP_BINARY=\$PWD/livekit-sip (LiveKit builds the image on a recent Debian: if the
     binary needs a newer glibc than this machine has, the version check says so);
   - from source: github.com/livekit/sip at ${LIVEKIT_SIP_VERSION}, following its README
     (needs libopus-dev libopusfile-dev libsoxr-dev, already installed above).
  Until then the end-to-end tests skip locally and fail under CI=true.
MSG
}

# join SEP ITEM...: the items separated by SEP.
join() {
  local sep="$1" out="${2:-}"
  shift 2 || return 0
  for item in "$@"; do out+="$sep$item"; done
  printf '%s' "$out"
}

# off_debian_help: this script installs with apt and builds with Go on Debian/Ubuntu; elsewhere
# it says what to install instead of failing on the first missing apt or dpkg command.
off_debian_help() {
  local system
  system="$(uname -s)"
  if [ "$system" = Darwin ]; then
    cat >&2 <<MSG
[install-stack] this script installs with apt (Debian/Ubuntu). On macOS install the stack with Homebrew:
    brew install livekit redis sipp portaudio   # livekit-server (the stack finds it by that name)
  livekit-sip has no Homebrew formula: build github.com/livekit/sip at ${LIVEKIT_SIP_VERSION} from
  source (its README; brew install opus opusfile libsoxr pkg-config first), or run LiveKit's Docker
  image livekit/sip:${LIVEKIT_SIP_VERSION}. The network-namespace mode and the end-to-end tests
  need Linux; on a Mac run the stack on your LAN address: uv run python -m receptionist.ops.stack --host
  Nothing to call yet? uv run agent.py try  (the receptionist in the terminal, no stack, no keys)
MSG
  else
    cat >&2 <<MSG
[install-stack] this script installs with apt (Debian/Ubuntu) and found no apt-get/dpkg here ($system).
  livekit-server: LiveKit's install script, curl -sSL https://get.livekit.io | bash
    (installs livekit-server, which the stack finds by that name), or Homebrew: brew install livekit
  livekit-sip ${LIVEKIT_SIP_VERSION}: go install github.com/livekit/sip/cmd/livekit-sip@${LIVEKIT_SIP_VERSION}
    (cgo, libopus/libsoxr), or copy /bin/livekit-sip out of the Docker image livekit/sip:${LIVEKIT_SIP_VERSION}
    onto your PATH (it needs a glibc as new as the image's Debian)
  Redis 7, sipp, PortAudio (libportaudio), espeak-ng, sox, tshark, iproute2: your distribution's packages.
  See docs/telephony.md ("Elsewhere"). Nothing to call yet? uv run agent.py try
MSG
  fi
}

main() {
  if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
    off_debian_help
    exit 1
  fi
  install_apt
  check_go
  mkdir -p "$GOBIN"
  local server_ok=1 sip_ok=1
  install_server || server_ok=0
  install_sip || sip_ok=0

  local installed=() missing=()
  if [ "$server_ok" = 1 ]; then
    installed+=("$GOBIN/server (livekit-server ${LIVEKIT_SERVER_VERSION}, ${SERVER_NOTE})")
  else
    missing+=("livekit-server ${LIVEKIT_SERVER_VERSION} (${SERVER_NOTE})")
  fi
  if [ "$sip_ok" = 1 ]; then
    installed+=("$GOBIN/livekit-sip (${LIVEKIT_SIP_VERSION}, ${SIP_NOTE})")
  else
    sip_help
    [ -n "${LIVEKIT_SIP_BINARY:-}" ] || SIP_FAILURES+=("LIVEKIT_SIP_BINARY not set")
    missing+=("livekit-sip ${LIVEKIT_SIP_VERSION} ($(join "; " "${SIP_FAILURES[@]}"))")
  fi
  installed+=("redis-server, sipp and the other apt packages")

  if [ "${#missing[@]}" -eq 0 ]; then
    log "ready: $(join ", " "${installed[@]}")"
    return 0
  fi
  if [ "$server_ok" = 0 ] || [ "${CI:-}" = "true" ]; then
    log "FAILED${CI:+ (CI=$CI)}: NOT installed: $(join ", " "${missing[@]}"); installed: $(join ", " "${installed[@]}")"
    exit 1
  fi
  log "incomplete (end-to-end tests will skip): NOT installed: $(join ", " "${missing[@]}"); installed: $(join ", " "${installed[@]}")"
}

main "$@"
