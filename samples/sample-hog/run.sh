#!/bin/sh
# MSG=memory: a pipe that buffers without end. MSG=fork: a fork bomb (see forkbomb.c).
case "$MSG" in
  memory)
    echo "eating memory"
    cat /dev/zero | tail
    ;;
  fork)
    exec /forkbomb
    ;;
  *)
    echo "MSG must be memory or fork"
    exit 2
    ;;
esac
