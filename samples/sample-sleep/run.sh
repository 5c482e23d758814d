#!/bin/sh
# Sleeps MSG seconds when MSG is a whole number, else never ends on its own: for force-quit,
# timeout and crash tests.
i=0
while true; do
  case "$MSG" in
    ''|*[!0-9]*) ;;
    *) [ "$i" -ge "$MSG" ] && { echo "slept ${i}s"; exit 0; } ;;
  esac
  echo "still running after ${i}s"
  i=$((i + 1))
  sleep 1
done
