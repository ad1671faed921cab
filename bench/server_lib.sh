# bench/server_lib.sh - a planverify server for the benchmark scripts that
# drive one (run_grpc_bench.sh, bench_memory.sh). Sourced, not run.
#
# The sourcing script sets PV (the planverify binary) and tmp (its scratch
# directory), and defines die. This file installs an EXIT trap that stops a
# server still running and removes $tmp.

server_pid=""
port=""
# A second server a script runs beside server_pid, and the clients
# (`timeout` running bench_grpc) it runs in the background: stopped with it.
other_server_pid=""
client_pid=""
other_client_pid=""

server_cleanup() {
    local c
    for c in "$client_pid" "$other_client_pid"; do
        [[ -n $c ]] && kill -TERM "$c" 2>/dev/null
    done
    if [[ -n $other_server_pid ]]; then
        kill -KILL "$other_server_pid" 2>/dev/null || true
    fi
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        sleep 1
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap server_cleanup EXIT

# start_server THREADS SPECS LOG [OPTION...]: `planverify serve` on a free
# port of 127.0.0.1 with its stderr in LOG, and the options given (such as
# --solver-only); sets server_pid and port, or dies (showing LOG) when it
# does not start listening within 10 s.
start_server() {
    local threads=$1 specs=$2 log=$3
    shift 3
    "$PV" serve --listen 127.0.0.1:0 --threads "$threads" --specs "$specs" "$@" 2>"$log" &
    server_pid=$!
    port=""
    for _ in $(seq 100); do
        port=$(sed -n 's/^planverify: listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$log")
        [[ -n $port ]] && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$log" >&2
    die "the server with $threads thread(s) did not start listening"
}
