#!/usr/bin/env bash
# Builds, without a registry, the base image the compose test (and any machine without
# Docker Hub) uses for every service: Debian bookworm from Debian's own mirror by debootstrap,
# with Redis, RabbitMQ and the CA bundle, imported as abaco/compose-base:bookworm.
# Kept when present; `--rebuild` makes it again.
set -euo pipefail
IMAGE="${DEPLOY_BASE_IMAGE:-abaco/compose-base:bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ "${1:-}" != "--rebuild" ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE is present"
  exit 0
fi
if ! command -v debootstrap >/dev/null; then
  apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null
fi
rootfs="$(mktemp -d /var/tmp/abaco-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
echo "debootstrap of bookworm into $rootfs (a few minutes)"
# Services must not start inside the build: policy-rc.d says so to every maintainer script.
mkdir -p "$rootfs/usr/sbin"
printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
chmod +x "$rootfs/usr/sbin/policy-rc.d"
debootstrap --variant=minbase --include=redis-server,rabbitmq-server,ca-certificates \
  bookworm "$rootfs" "$MIRROR" >/dev/null
rm -f "$rootfs/usr/sbin/policy-rc.d"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import - "$IMAGE" >/dev/null
echo "built $IMAGE"
