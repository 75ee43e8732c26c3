# shellcheck shell=bash
# tests/e2e/lib.sh: the harness the end-to-end tests of the example servers
# share. Each tests/e2e/NAME_test.sh takes the server binary as its only
# argument and begins with
#
#   source "$(dirname "$0")/lib.sh"
#
# which checks that argument (exit 2 if it is not an executable) and sets
#
#   server_name   NAME, from the script's file name ("echo_server")
#   server_bin    the binary
#   work          a temporary directory, removed on exit with every
#                 background job stopped
#
# and gives these functions:
#
#   fail MESSAGE                   the test fails here: prints MESSAGE and the
#                                  server's stderr, exits 1
#   expect_same NAME EXPECTED GOT  the two files are the same, or fail
#   start_server [LABEL [ARG...]]  starts the server on a free loopback port,
#                                  with ARGs after --listen, under the command
#                                  in the array server_wrapper if it is set
#                                  (e.g. server_wrapper=(prlimit --nofile=64));
#                                  sets server_pid, address, host and port
#   stop_server [SIGNAL]           SIGTERM (or SIGNAL) to the server, which must
#                                  exit with status 0 within 5 s, or fail
#
# Works with and without `set -e`.

server_name=$(basename "$0" _test.sh)
if [[ $# -ne 1 || ! -x $1 ]]; then
    echo "usage: $0 path/to/$server_name" >&2
    exit 2
fi
server_bin=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/${server_name}_test.XXXXXX")
server_pid=
server_err=$work/server.err  # the running (or last) server's stderr
server_wrapper=()            # a command to run the server under (start_server)

# TERM, not KILL: the server and the clients run under timeout, which passes
# TERM on (and KILLs a server that ignores it 5 s later); killing timeout
# itself would leave its child running.
cleanup() {
    local pids
    pids=$(jobs -p)
    if [[ -n $pids ]]; then kill -TERM $pids 2>/dev/null || true; fi
    { wait; } 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT   # so that cleanup runs when the test itself is stopped
trap 'exit 143' TERM

fail() {
    echo "FAIL: $*" >&2
    if [[ -s $server_err ]]; then
        echo "--- server stderr:" >&2
        cat "$server_err" >&2
    fi
    exit 1
}

# expect_same NAME EXPECTED_FILE GOT_FILE
expect_same() {
    if ! cmp -s "$2" "$3"; then
        echo "--- expected ($1):" >&2
        head -c 2000 "$2" | cat -A >&2
        echo "--- got ($1):" >&2
        head -c 2000 "$3" | cat -A >&2
        fail "$1: output differs"
    fi
}

# start_server [LABEL [ARG...]]: runs the server with --listen 127.0.0.1:0 and
# the ARGs, and reads the address it got from the first line of its stdout (up
# to 5 s). Its stdout and stderr go to $work/LABEL.out and $work/LABEL.err
# (LABEL: "server"). A wrapper in server_wrapper must exec the server (as
# prlimit and env do), so that signals sent to it reach the server.
#
# The server runs under timeout: a signal sent to timeout reaches the server,
# and a server that ignores it is killed 5 s later (exit status 137).
# --foreground, because without it timeout follows the signal with a SIGCONT
# to the server; arriving late, that SIGCONT cancels the SIGSTOP by which
# LeakSanitizer's exit-time check stops the process, and the check waits for
# that stop forever.
start_server() {
    local label=${1:-server} i
    shift || true
    server_err=$work/$label.err
    timeout --foreground -k 5 300 "${server_wrapper[@]}" "$server_bin" --listen 127.0.0.1:0 "$@" \
        >"$work/$label.out" 2>"$server_err" &
    server_pid=$!
    address=
    for i in $(seq 100); do
        if IFS= read -r address <"$work/$label.out"; then break; fi  # fails until a whole line is there
        kill -0 "$server_pid" 2>/dev/null || fail "$label exited before printing its address"
        sleep 0.05
    done
    [[ $address =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "$label: first stdout line: expected 127.0.0.1:PORT, got '$address'"
    host=${address%:*}
    port=${address##*:}
    echo "$server_name listening on $address"
}

# stop_server [SIGNAL]: SIGNAL defaults to TERM.
stop_server() {
    local signal=${1:-TERM} status=0
    kill -"$signal" "$server_pid"
    wait "$server_pid" || status=$?
    server_pid=
    [[ $status -eq 0 ]] || fail "after SIG$signal: expected exit status 0, got $status (124/137: it did not exit within 5 s)"
}
