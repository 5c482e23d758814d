#!/usr/bin/env bash
# Builds abaco's sample actor images locally (no registry needed): FROM scratch plus Debian's
# static busybox, and tiny static C programs (each sample's *.c) where a shell cannot do the job.
#
#   samples/build.sh            build every sample that is missing or out of date
#   samples/build.sh --force    rebuild them all
#   samples/build.sh echo exit  only these (names without the "sample-" prefix)
#
# Idempotent and fast when nothing changed: each image carries a hash of its inputs in the
# label org.abaco.sample.hash, and an image whose label matches is left alone.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
all=(echo sleep result exit binary inspect hog hot)
force=0
names=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) names+=("${arg#sample-}") ;;
  esac
done
[ ${#names[@]} -eq 0 ] && names=("${all[@]}")

busybox=/bin/busybox
if [ ! -x "$busybox" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "installing busybox-static" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y busybox-static >&2
  else
    echo "error: $busybox is missing; install Debian's busybox-static (as root)" >&2
    exit 1
  fi
fi

# The results sender of sample-result, which other samples use too.
sender_src="$here/sample-result/abaco-send.c"

inputs_hash() {
  local dir="$1"
  {
    (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    sha256sum "$busybox" "$sender_src"
  } | sha256sum | cut -d' ' -f1
}

build_one() {
  local name="$1" dir="$here/sample-$1" image="abaco/sample-$1"
  if [ ! -f "$dir/Dockerfile" ]; then
    echo "error: no sample named $name (expected $dir/Dockerfile)" >&2
    return 1
  fi
  local hash current
  hash="$(inputs_hash "$dir")"
  current="$(docker image inspect -f '{{index .Config.Labels "org.abaco.sample.hash"}}' "$image" 2>/dev/null || true)"
  if [ "$force" -eq 0 ] && [ "$current" = "$hash" ]; then
    echo "$image is up to date"
    return 0
  fi

  local ctx
  ctx="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now: ctx is local
  trap "rm -rf '$ctx'" RETURN
  cp -a "$dir/." "$ctx/"
  cp "$busybox" "$ctx/busybox"
  # Each C file of a sample becomes a static program of the same name; samples that send
  # results get the shared sender.
  local src
  for src in "$dir"/*.c; do
    [ -e "$src" ] || continue
    gcc -static -O2 -s -o "$ctx/$(basename "$src" .c)" "$src"
  done
  if grep -q abaco-send "$dir/Dockerfile" && [ ! -e "$ctx/abaco-send" ]; then
    gcc -static -O2 -s -o "$ctx/abaco-send" "$sender_src"
  fi
  echo "building $image"
  # The engine may be old (API 1.41) and buildx absent: the classic builder does FROM scratch.
  if ! DOCKER_BUILDKIT=0 docker build -q --label "org.abaco.sample.hash=$hash" -t "$image" "$ctx" >"$ctx/.build.log" 2>&1; then
    cat "$ctx/.build.log" >&2
    echo "error: building $image failed" >&2
    return 1
  fi
}

for name in "${names[@]}"; do
  build_one "$name"
done
