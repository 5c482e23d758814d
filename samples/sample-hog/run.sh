#!/bin/sh
# MSG=memory: a pipe that buffers without end, killed at the memory limit (exit 137).
# MSG=fork: a fork bomb (see forkbomb.c).
case "$MSG" in
  memory)
    echo "eating memory"
    cat /dev/zero | tail
    status=$?
    # Stay a moment after the kill: containerd (cgroup v1) misses an OOM kill in a container
    # that is already gone when it looks, and then nobody can tell (README: "Out of memory").
    # 0.2 s was not always enough on a loaded 2-core machine.
    sleep 1
    exit $status
    ;;
  fork)
    exec /forkbomb
    ;;
  *)
    echo "MSG must be memory or fork"
    exit 2
    ;;
esac
