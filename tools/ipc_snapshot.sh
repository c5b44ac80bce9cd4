#!/usr/bin/env bash
# Prints the ids of every SysV shared-memory segment and semaphore set on the
# host, one per line, so that a run can be checked for leaked IPC objects.
set -euo pipefail
{ tail -n +2 /proc/sysvipc/shm | awk '{print "shm key=" $1 " id=" $2}'
  tail -n +2 /proc/sysvipc/sem | awk '{print "sem key=" $1 " id=" $2}'; } | sort
