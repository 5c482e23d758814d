#!/usr/bin/env bash
# The test command: starts what the tests need, builds the sample actor images and the abaco
# binary, then runs every test of the workspace (unit and integration, both backends).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/services.sh
# Set, so that a missing broker or store fails the backend suites instead of skipping them.
export ABACO_TEST_REDIS_URL="${ABACO_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
export ABACO_TEST_AMQP_URL="${ABACO_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
if [ -f samples/build.sh ]; then
  bash samples/build.sh
fi
# The base image of the compose test, from Debian's mirror (no registry here); kept if present.
bash compose/images.sh
cargo build -p abaco-cli
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
