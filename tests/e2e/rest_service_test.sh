#!/usr/bin/env bash
# End-to-end test of examples/rest_service against the Go program it was
# ported from (examples/go/rest_service): one curl script
# (rest_service.requests) played against each, from a fresh start; the two
# transcripts — every status line, the headers a client acts on
# (Content-Type, Allow, Location, X-Content-Type-Options) and every body —
# must be the same bytes. A few answers are also checked against what the API
# promises, so that two wrong programs cannot pass by agreeing.
#
#   tests/e2e/rest_service_test.sh build/examples/rest_service
#   REST_TRANSCRIPT=FILE keeps a copy of goro's transcript.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

command -v go >/dev/null || fail "go not found (scripts/install-deps.sh installs golang-go)"
GOCACHE=$work/gocache GO111MODULE=off go build -o "$work/rest_service_go" "$root/examples/go/rest_service/main.go" ||
    fail "building examples/go/rest_service failed"

# play LABEL: runs the script against the server now listening; the
# transcript goes to $work/LABEL.txt.
play() {
    local out=$work/$1.txt method path body n=0
    : >"$out"
    while IFS=$'\t' read -r method path body; do
        [[ -z $method || $method == \#* ]] && continue
        n=$((n + 1))
        local args=(-sS --max-time 10 -X "$method" -D "$work/h" -o "$work/b")
        [[ $method == HEAD ]] && args=(-sS --max-time 10 -I -D "$work/h" -o /dev/null)
        if [[ $method == POST || $method == PUT || $method == PATCH ]]; then
            args+=(-H 'Content-Type: application/json' --data-binary "$body")
        fi
        : >"$work/b"
        curl "${args[@]}" "http://$address$path" || fail "$1: curl $method $path failed"
        {
            echo "== $n: $method $path $body"
            head -1 "$work/h" | tr -d '\r'
            { grep -iE '^(content-type|allow|location|x-content-type-options):' "$work/h" || true; } | tr -d '\r' |
                awk -F': ' '{ print tolower($1) ": " $2 }' | sort
            cat "$work/b"
            echo
        } >>"$out"
    done <"$here/rest_service.requests"
    echo "$1: $n requests played"
}

start_server goro
play goro
stop_server

server_bin=$work/rest_service_go
start_server go
play go
stop_server

expect_same "goro's answers against Go's" "$work/go.txt" "$work/goro.txt"
[[ -n ${REST_TRANSCRIPT:-} ]] && cp "$work/goro.txt" "$REST_TRANSCRIPT"
echo "ok: rest_service answers the script byte for byte as its Go twin does"

# What the API promises, checked in goro's transcript.
expect_line() {  # expect_line WHAT LINE: LINE appears in the transcript
    grep -qxF -- "$2" "$work/goro.txt" || fail "$1: no line '$2' in the transcript:
$(cat "$work/goro.txt")"
}
expect_line "the first POST" '{"id":1,"name":"milk","done":false}'
expect_line "a 201" 'HTTP/1.1 201 Created'
expect_line "Location" 'location: /items/1'
expect_line "JSON unescaped as Go's SetEscapeHTML(false)" '{"id":3,"name":"café <crème> & \"tea\"","done":false}'
expect_line "the list after the updates" \
    '[{"id":1,"name":"milk","done":true},{"id":2,"name":"sourdough","done":false},{"id":3,"name":"café <crème> & \"tea\"","done":false}]'
expect_line "a bad body" '{"error":"the body must be a JSON object"}'
expect_line "a wrong type" '{"error":"\"done\" must be a boolean"}'
expect_line "a missing item" '{"error":"item 99 not found"}'
expect_line "a bad id" '{"error":"bad item id \"abc\""}'
expect_line "405's Allow" 'allow: DELETE, GET, HEAD, PUT'
expect_line "a 204" 'HTTP/1.1 204 No Content'
expect_line "404 elsewhere" '404 page not found'
echo "ok: the answers are the ones the API promises"
echo "PASS: rest_service"
