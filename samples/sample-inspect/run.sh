#!/bin/sh
# What a run is allowed: each line is name=value, for tests to read.
echo "uid=$(id -u) gid=$(id -g)"
grep -E '^(NoNewPrivs|CapEff|Seccomp):' /proc/self/status | tr -d ' \t' | sed 's/:/=/'
# cgroup v2, then v1.
for f in /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max; do
  [ -r "$f" ] && echo "pids.max=$(cat "$f")" && break
done
for f in /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes; do
  [ -r "$f" ] && echo "memory.max=$(cat "$f")" && break
done
echo "pid1=$(cat /proc/1/comm)"
# The network namespace, and the host name: a run in its worker's network holder has the
# holder's.
echo "netns=$(readlink /proc/self/ns/net)"
echo "hostname=$(hostname)"
if [ -S /var/run/docker.sock ]; then echo "docker.sock=present"; else echo "docker.sock=absent"; fi
if touch /probe 2>/dev/null; then echo "rootfs=writable"; else echo "rootfs=read-only"; fi
# A message naming a file (e.g. in an administrator's mount) has it printed.
if [ -f "$MSG" ]; then echo "file=$(cat "$MSG")"; fi
