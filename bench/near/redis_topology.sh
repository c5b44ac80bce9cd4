# Starts a private Redis Cluster or a primary under Sentinel on loopback
# ports for near_bench (W6): sourced by bench/run.sh and the smoke test, as
# tests/near's redis_cluster_env and redis_sentinel_env do it for the tests
# (same redis-server and redis-sentinel settings). Needs redis-server,
# redis-cli and redis-sentinel (Debian's packages of those names).
#
#   source bench/near/redis_topology.sh
#   topo_start_cluster DIR          # three primaries, no replicas
#   topo_start_sentinel DIR         # a primary, its replica, three sentinels
#   echo "$topo_target"             # cluster:127.0.0.1:P or sentinel:.../shmkv
#   topo_stop                       # kills every process started; call it on exit
#
# Each process runs in a directory of its own under DIR (its log is there).
# A start that fails prints why (the logs' tails) on stderr and returns 1,
# leaving what it started for topo_stop.

topo_pids=()
topo_ports=()
topo_port=""
topo_target=""

topo_stop() {
  local pid
  for pid in "${topo_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${topo_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  topo_pids=()
  topo_ports=()
  topo_target=""
}

# Whether a TCP socket of this host uses local port $1: listening, or
# (ss only) the local end of a connection.
topo_port_used() {
  if command -v ss >/dev/null; then
    [[ -n "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# A port in 20000..29999 (below the ephemeral range) that no socket uses,
# nor port + 10000 (a cluster node's bus, which may be in the ephemeral
# range), and not handed out already: in topo_port (not printed: a
# subshell would forget what was handed out). Another process may still
# take it before the server binds it: topo_server then says so (status 2).
topo_pick_port() {
  local p i
  for i in $(seq 200); do
    p=$((20000 + RANDOM % 10000))
    [[ " ${topo_ports[*]} " == *" $p "* ]] && continue
    topo_port_used "$p" && continue
    topo_port_used $((p + 10000)) && continue
    topo_ports+=("$p")
    topo_port=$p
    return 0
  done
  echo "redis_topology: no free port found in 20000..29999" >&2
  return 1
}

# topo_wait SECONDS WHAT COMMAND...: runs COMMAND every 0.1 s until it succeeds.
topo_wait() {
  local seconds=$1 what=$2 i
  shift 2
  for i in $(seq $((seconds * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "redis_topology: $what: not within ${seconds} s" >&2
  return 1
}

# Process $1 answers PING on port $2; fails at once (status 2) if it exited.
topo_pong() {
  kill -0 "$1" 2>/dev/null || return 2
  [[ "$(redis-cli -h 127.0.0.1 -p "$2" ping 2>/dev/null)" == PONG ]]
}
# topo_up SECONDS PROGRAM PORT LOG: the process just started answers PING,
# or its log's tail and status 1 (2 when it exited: e.g. its port was taken).
topo_up() {
  local i pid=${topo_pids[-1]} rc
  for i in $(seq $(($1 * 10))); do
    rc=0
    topo_pong "$pid" "$3" || rc=$?
    ((rc != 0)) || return 0
    ((rc != 2)) || { echo "redis_topology: $2 on port $3 exited:" >&2; tail -n 3 "$4" >&2; return 2; }
    sleep 0.1
  done
  echo "redis_topology: $2 on port $3 did not answer PING within $1 s:" >&2
  tail -n 3 "$4" >&2
  return 1
}

# topo_spawn DIR LOG RUN [ARG...]: `RUN PORT PORTDIR ARG...` execs a server
# on a port picked here (in topo_port, its files in DIR/PORT, its log
# DIR/PORT/LOG); waited for, and a port taken meanwhile is picked again.
topo_spawn() {
  local dir=$1 log=$2 run=$3 try rc
  shift 3
  for try in 1 2 3 4 5; do
    topo_pick_port || return 1
    mkdir -p "$dir/$topo_port"
    "$run" "$topo_port" "$dir/$topo_port" "$@" &
    topo_pids+=($!)
    rc=0
    topo_up 10 "$run" "$topo_port" "$dir/$topo_port/$log" || rc=$?
    ((rc == 2)) || return "$rc"
  done
  return 1
}

# Runners for topo_spawn: a redis-server (ARG... added; PORT in them is its
# port), a redis-sentinel monitoring 127.0.0.1:ARG as "shmkv".
topo_redis_server() {
  local port=$1 dir=$2
  shift 2
  exec redis-server --port "$port" --bind 127.0.0.1 --repl-diskless-sync-delay 0 --save "" \
    --appendonly no --dir "$dir" --logfile "$dir/redis.log" "${@//PORT/$port}"
}
topo_redis_sentinel() {
  # A sentinel rewrites its configuration file: one of its own each.
  printf '%s\n' "port $1" "bind 127.0.0.1" "dir $2" "logfile $2/sentinel.log" \
    "sentinel monitor shmkv 127.0.0.1 $3 2" "sentinel down-after-milliseconds shmkv 500" \
    "sentinel failover-timeout shmkv 1000" >"$2/sentinel.conf"
  exec redis-sentinel "$2/sentinel.conf"
}

topo_cluster_ok() {
  local p
  for p in "$@"; do
    redis-cli -h 127.0.0.1 -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
    redis-cli -h 127.0.0.1 -p "$p" cluster info 2>/dev/null | grep -q "^cluster_known_nodes:$#" || return 1
  done
}

topo_start_cluster() {
  local dir=$1 ports=() i
  for i in 1 2 3; do
    topo_spawn "$dir" redis.log topo_redis_server --cluster-enabled yes \
      --cluster-config-file "$dir/PORT/nodes.conf" --cluster-node-timeout 1000 || return 1
    ports+=("$topo_port")
  done
  redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-yes >"$dir/create.log" 2>&1 ||
    { echo "redis_topology: redis-cli --cluster create failed:" >&2; tail -n 5 "$dir/create.log" >&2; return 1; }
  topo_wait 30 "every node reporting cluster_state:ok" topo_cluster_ok "${ports[@]}" || return 1
  topo_target="cluster:127.0.0.1:${ports[0]}"
}

# Every sentinel names the primary, and the replica's link to it is up.
# (Not waited for: the sentinels finding the replica and each other, which
# only a failover needs; W6 makes none.)
topo_sentinels_ok() {
  local primary=$1 replica=$2 s
  shift 2
  redis-cli -h 127.0.0.1 -p "$replica" info replication 2>/dev/null | grep -q '^master_link_status:up' ||
    return 1
  for s in "$@"; do
    [[ "$(redis-cli -h 127.0.0.1 -p "$s" sentinel get-master-addr-by-name shmkv 2>/dev/null | tail -n 1)" == \
      "$primary" ]] || return 1
  done
}

topo_start_sentinel() {
  local dir=$1 primary replica sentinels=() i
  topo_spawn "$dir" redis.log topo_redis_server || return 1
  primary=$topo_port
  topo_spawn "$dir" redis.log topo_redis_server --replicaof 127.0.0.1 "$primary" || return 1
  replica=$topo_port
  for i in 1 2 3; do
    topo_spawn "$dir" sentinel.log topo_redis_sentinel "$primary" || return 1
    sentinels+=("$topo_port")
  done
  topo_wait 30 "the sentinels naming the primary and its replica in step" \
    topo_sentinels_ok "$primary" "$replica" "${sentinels[@]}" || return 1
  topo_target="sentinel:$(printf '127.0.0.1:%s,' "${sentinels[@]}" | sed 's/,$//')/shmkv"
}
