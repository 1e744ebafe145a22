#!/usr/bin/env bash
# Builds the worker image from the Dockerfile as it ships, with buildah (no Docker daemon, no
# container registry), and prints its size. What CI runs (.ci/run) and what tests/e2e/
# test_image.py runs the worker in.
#
#   bash scripts/image.sh            # build (or reuse) the image; prints its name and size
#   bash scripts/image.sh --name     # only print the image's name
#
# The Dockerfile's base (ghcr.io/astral-sh/uv:python3.11-bookworm-slim) cannot be pulled where
# no registry is reachable, so by default the build gets a stand-in through the Dockerfile's
# BASE_IMAGE argument: Debian bookworm (debootstrap minbase) with Debian's Python 3.11, the same
# uv as this machine's (`uv --version`, from PyPI) at /usr/local/bin/uv where the uv image has
# it, adduser, and this machine's CA bundle (the package registries are reached through it). It
# is assembled once per uv version and kept in buildah's storage.
#
# Idempotent and cached: buildah and debootstrap are installed only if absent, the stand-in base
# is assembled only if it is not there yet, an image built from the same files (a digest of the
# base, the Dockerfile and the build context, kept as the image's label) is not built again, and
# a build reuses buildah's layer cache (a code change rebuilds from `COPY . .` on). Stale cache
# layers of this project are removed after each build. Needs root (debootstrap, buildah's storage).
#
# Env: IMAGE (default localhost/receptionist:latest) the tag built;
#      BASE_IMAGE: build on this image instead of the stand-in (e.g. the real base, pulled or
#        loaded into buildah's storage: buildah pull ghcr.io/astral-sh/uv:python3.11-bookworm-slim);
#      DEBIAN_MIRROR (default http://deb.debian.org/debian) for debootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${IMAGE:-localhost/receptionist:latest}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
# vfs: works everywhere, including inside containers and without fuse-overlayfs.
BUILDAH=(buildah --storage-driver vfs)

log() { printf '[image] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

have_image() { "${BUILDAH[@]}" inspect --type image "$1" >/dev/null 2>&1; }

image_size() { "${BUILDAH[@]}" images --noheading --format '{{.Size}}' "$1" | head -n 1; }

install_tools() {
  local missing=() pkg
  for pkg in buildah debootstrap; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "buildah and debootstrap present"
    return
  fi
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

uv_version() {
  command -v uv >/dev/null || die "uv is not on PATH: the stand-in base carries the same uv as this machine"
  uv --version | awk '{print $2}'
}

# assemble_standin NAME UV_VERSION: the stand-in base, committed to buildah's storage as NAME.
assemble_standin() {
  local name="$1" uv="$2" work rootfs ctr mnt
  work="$(mktemp -d /var/tmp/receptionist-base.XXXXXX)"
  # shellcheck disable=SC2064  # expand now: the trap must remove this run's folder
  trap "rm -rf '$work'" EXIT
  rootfs="$work/rootfs"
  log "assembling the stand-in base $name (debootstrap $SUITE minbase, about a minute)"
  debootstrap --variant=minbase --include=python3,ca-certificates,adduser \
    "$SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }

  # uv where the uv images have it, the same version as this machine's, from PyPI.
  uv pip install --quiet --no-deps --target "$work/uv" "uv==$uv"
  install -m 0755 "$work/uv/bin/uv" "$work/uv/bin/uvx" "$rootfs/usr/local/bin/"

  # This machine's trust store (the registries are reached through it) and apt sources
  # (bookworm, -updates, -security, as Debian's images have them) for the build's apt-get.
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/"
    rm -f "$rootfs/etc/apt/sources.list"
  fi
  # What Debian's slim images leave out too: downloaded packages, package lists.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/*

  ctr="$("${BUILDAH[@]}" from scratch)"
  mnt="$("${BUILDAH[@]}" mount "$ctr")"
  tar -C "$rootfs" --numeric-owner -cf - . | tar -C "$mnt" --numeric-owner -xpf -
  "${BUILDAH[@]}" umount "$ctr" >/dev/null
  "${BUILDAH[@]}" config \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env LANG=C.UTF-8 \
    --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --cmd /usr/local/bin/uv \
    --label "org.opencontainers.image.description=stand-in for ghcr.io/astral-sh/uv:python3.11-bookworm-slim (uv $uv)" \
    "$ctr"
  "${BUILDAH[@]}" commit --quiet --rm "$ctr" "$name" >/dev/null
  rm -rf "$work"
  trap - EXIT
  log "stand-in base $name: $(image_size "$name")"
}

# build_inputs BASE: a digest of everything the build reads: the base image, the Dockerfile, and
# every file of the build context. It hashes a superset of the context: only what .dockerignore
# names outright (a top-level name, or **/NAME) and nothing re-includes is left out.
build_inputs() {
  local base="$1" line prune=() name
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line%%#*}"; line="${line//[[:space:]]/}"
    [ -n "$line" ] || continue
    case "$line" in
      '!'*|*'['*|*'?'*) continue ;;
      '**/'*) name="${line#'**/'}"; [[ "$name" == */* || "$name" == *'*'* ]] && continue
              grep -q "^!.*$name" .dockerignore || prune+=(-name "$name" -prune -o) ;;
      */*|*'*'*) continue ;;
      *) grep -q "^!$line/" .dockerignore || prune+=(-path "./$line" -prune -o) ;;
    esac
  done < .dockerignore
  {
    printf 'base %s\n' "$("${BUILDAH[@]}" inspect --type image --format '{{.FromImageID}}' "$base")"
    sha256sum Dockerfile .dockerignore
    find . "${prune[@]}" -type f -print0 | sort -z | xargs -0 -r sha256sum
    find . "${prune[@]}" -type f -perm -u+x -print | sort
  } | sha256sum | cut -d' ' -f1
}

image_inputs() {
  "${BUILDAH[@]}" inspect --type image \
    --format '{{index .OCIv1.Config.Labels "receptionist.build-inputs"}}' "$1" 2>/dev/null || true
}

# prune_stale BUILD_LOG: removes this project's untagged images (old cache layers, the image the
# build replaced) that the build in BUILD_LOG neither made nor reused. With the vfs driver every
# layer is a whole copy of the file system, so stale ones would fill the disk build by build.
prune_stale() {
  local log="$1" used id name gone removed=0
  used="$(grep -oE '^--> (Using cache )?[0-9a-f]{11,}' "$log" | grep -oE '[0-9a-f]{11}' | sort -u)"
  # Newest first: removing an image also removes its untagged parents that have no other child,
  # and stops at a parent this build's images still grow from.
  while read -r id name; do
    [ "$name" = "<none>" ] || continue
    grep -qx "${id:0:11}" <<<"$used" && continue
    gone="$({ "${BUILDAH[@]}" rmi "$id" 2>/dev/null || true; } | wc -l)"
    removed=$((removed + gone))
  done < <("${BUILDAH[@]}" images --all --noheading --no-trunc --format '{{.ID}} {{.Name}}' \
             --filter label=org.opencontainers.image.title=dental-receptionist | sed 's/^sha256://')
  [ "$removed" = 0 ] || log "removed $removed stale cached image(s)"
}

main() {
  if [ "${1:-}" = "--name" ]; then
    echo "$IMAGE"
    return
  fi
  [ "$(id -u)" = 0 ] || die "needs root (debootstrap, buildah's storage): sudo bash scripts/image.sh"
  # One build at a time (CI and a test session may both ask): they share buildah's storage.
  exec 9>/run/lock/receptionist-image.lock
  flock 9
  install_tools

  local base="${BASE_IMAGE:-}"
  if [ -z "$base" ]; then
    local uv
    uv="$(uv_version)"
    base="localhost/receptionist-base:python3.11-${SUITE}-uv${uv}"
    if have_image "$base"; then
      log "stand-in base $base present: $(image_size "$base")"
    else
      assemble_standin "$base" "$uv"
    fi
  else
    have_image "$base" || die "BASE_IMAGE=$base is not in buildah's storage: buildah --storage-driver vfs pull $base"
  fi

  local inputs
  inputs="$(build_inputs "$base")"
  if have_image "$IMAGE" && [ "$(image_inputs "$IMAGE")" = "$inputs" ]; then
    log "$IMAGE is up to date (built from these very files): $(image_size "$IMAGE")"
    return
  fi

  log "building $IMAGE from the Dockerfile (BASE_IMAGE=$base)"
  local started=$SECONDS build_log
  build_log="$(mktemp)"
  "${BUILDAH[@]}" bud --isolation chroot --network host --pull-never --layers \
    --build-arg "BASE_IMAGE=$base" --label "receptionist.build-inputs=$inputs" \
    -f Dockerfile -t "$IMAGE" . 2>&1 | tee "$build_log"
  log "built $IMAGE in $((SECONDS - started)) s: $(image_size "$IMAGE") (base $base: $(image_size "$base"))"
  prune_stale "$build_log"
  rm -f "$build_log"
}

main "$@"
