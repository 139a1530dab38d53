#!/usr/bin/env bash
# guard.sh <parent-pid> <command...>
# Runs the command and ends it when the parent process disappears, so a test run that crashes or is killed
# never leaves an apiserver or etcd behind. A TERM to the guard is passed on to the command.
parent="$1"; shift
"$@" &
child=$!
stop() { kill -TERM "$child" 2>/dev/null; for _ in $(seq 1 50); do kill -0 "$child" 2>/dev/null || exit 0; sleep 0.1; done; kill -KILL "$child" 2>/dev/null; exit 0; }
trap stop TERM INT HUP
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.5; done
stop
