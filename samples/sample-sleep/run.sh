#!/bin/sh
# Never ends on its own: for force-quit and timeout tests.
i=0
while true; do
  echo "still running after ${i}s"
  i=$((i + 1))
  sleep 1
done
