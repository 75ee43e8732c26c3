#!/usr/bin/env bash
# tests/gdb/gdb_test.sh PROGRAM SCRIPT INSTALLED_SCRIPT SANITIZERS — the GDB
# extension (runtime/gdb/goro_gdb.py) on tests/gdb/parked.cpp:
#   1. the live process, stopped in gdb_checkpoint, with the extension
#      auto-loaded through the program's .debug_gdb_scripts entry: info
#      fibers, fiber ID bt for every fiber, fiber apply all bt, print ch and
#      print mu; then gcore;
#   2. the core file, with auto-load off and the script sourced by hand: the
#      same checks, the fiber ids taken from the first session's list.
# Under a sanitizer the test is skipped (exit 77): gcore of a process with
# the sanitizer's shadow memory reserved takes minutes (docs/debugging.md).
set -euo pipefail
program=$1 script=$2 installed=$3 sanitizers=${4:-none}
if [[ $sanitizers != none && -n $sanitizers ]]; then
  echo "gdb: skipped under -Db_sanitize=$sanitizers (see docs/debugging.md)"
  exit 77
fi
command -v gdb >/dev/null || { echo "gdb: gdb is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }

work=$(mktemp -d /tmp/goro-gdb-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect() {  # expect FILE REGEX WHAT
  grep -Eq -- "$2" "$1" || fail "$3: no match for /$2/ in $1"
}

# The entries the linker kept: libgoro's (the installed path) and the test's.
readelf -p .debug_gdb_scripts "$program" >"$work/section" 2>&1 || true
expect "$work/section" "$installed" "libgoro's .debug_gdb_scripts entry"
expect "$work/section" "$script" "the test's .debug_gdb_scripts entry"

# The script keeps its own copy of the wait reasons' names; the live
# session compares it with the runtime's wait_reason_name, called in the
# inferior, for every enumerator.
cat >"$work/reasons.py" <<'PY'
def check_reason_names():
    t = gdb.lookup_type("goro::detail::wait_reason")
    bad = []
    for value, name in sorted(_enum_names(t).items()):
        runtime = gdb.parse_and_eval("goro::detail::wait_reason_name((goro::detail::wait_reason)%d)" % value).string()
        if _reason_text.get(name, name) != runtime:
            bad.append("%s: script %r, runtime %r" % (name, _reason_text.get(name, name), runtime))
    print("reason names: " + ("; ".join(bad) if bad else "all %d agree" % len(_enum_names(t))))
PY

# Session 1: live. `fiber ID bt` for each listed fiber goes through Python
# only because the ids are not known before the list is printed.
gdb -batch -nx -iex 'set auto-load safe-path /' -iex 'set pagination off' -iex 'set confirm off' \
  -ex 'set startup-with-shell off' \
  -ex 'break gdb_checkpoint' -ex run \
  -ex 'info auto-load python-scripts' -ex "source $work/reasons.py" \
  -ex 'echo ==info fibers\n' -ex 'info fibers' \
  -ex 'echo ==fiber bt\n' \
  -ex 'python for f in fibers(): print("==fiber %d" % f.id); gdb.execute("fiber %d bt" % f.id)' \
  -ex 'echo ==apply all\n' -ex 'fiber apply all bt' \
  -ex 'python check_reason_names()' \
  -ex 'echo ==print\n' -ex 'print ch' -ex 'print mu' \
  -ex 'echo ==thread bt\n' -ex 'bt' \
  -ex kill \
  "$program" >"$work/live" 2>&1 || fail "gdb on the live process exited with $?"

# The core, from a second run stopped at the same place. GDB 13's gcore
# cannot read a mapping with MADV_GUARD_INSTALL guard pages in it and would
# leave every stack slab out, so this run guards its stacks with mprotect
# (docs/debugging.md).
GORO_STACK_GUARD=mprotect gdb -batch -nx -iex 'set auto-load python-scripts off' -iex 'set confirm off' \
  -ex 'set startup-with-shell off' -ex 'break gdb_checkpoint' -ex run -ex "gcore $work/core" -ex kill \
  "$program" >"$work/gcore" 2>&1 || fail "gdb's gcore exited with $?"

# Session 2: the core file.
ids() { grep -E "$1" "$work/live.fibers" | head -n 1 | sed -E 's/^[* ] +([0-9]+).*/\1/'; }
sed -n '/^==info fibers/,/^==fiber bt/p' "$work/live" >"$work/live.fibers"
main_id=$(ids '"main"') receiver_id=$(ids '\[chan receive\]') sleeper_id=$(ids '\[sleep\]') mutex_id=$(ids '\[mutex\]')
if [[ -f $work/core ]]; then
  gdb -batch -nx -iex 'set auto-load python-scripts off' -iex 'set pagination off' \
    -ex "source $script" \
    -ex 'echo ==info fibers\n' -ex 'info fibers' \
    -ex "echo ==fiber $receiver_id\\n" -ex "fiber $receiver_id bt" \
    -ex "echo ==fiber $sleeper_id\\n" -ex "fiber $sleeper_id bt" \
    -ex "echo ==fiber $mutex_id\\n" -ex "fiber $mutex_id bt" \
    -ex "echo ==fiber $main_id\\n" -ex "fiber $main_id bt" \
    -ex 'echo ==apply all\n' -ex 'fiber apply all bt' \
    -ex 'echo ==print\n' -ex "fiber $main_id print ch" -ex "fiber $main_id print mu" \
    "$program" "$work/core" >"$work/core.out" 2>&1 || fail "gdb on the core file exited with $?"
else
  fail "gcore wrote no core file"
fi

check() {  # check OUTPUT WHAT
  local out=$1 what=$2
  local list
  list=$(sed -n '/^==info fibers/,/^==fiber/p' "$out")
  echo "$list" >"$out.list"
  # Every fiber, with the wait reason goro::dump_fibers gives it.
  expect "$out.list" '^\* +1 +\[running on M[0-9]+, thread [0-9]+\] "main" +spawned at .*parked\.cpp:[0-9]+ in (int )?main' "$what: info fibers, main"
  expect "$out.list" '^ +[0-9]+ +\[chan receive\] "receiver" +spawned at .*parked\.cpp:[0-9]+' "$what: info fibers, receiver"
  expect "$out.list" '^ +[0-9]+ +\[sleep\] +spawned at .*parked\.cpp' "$what: info fibers, sleeper"
  expect "$out.list" '^ +[0-9]+ +\[mutex\] +spawned at .*parked\.cpp' "$what: info fibers, mutex waiter"
  grep -q 'not in memory' "$out.list" && fail "$what: info fibers says fibers are missing"
  local n
  n=$(grep -cE '^[* ] +[0-9]+ +\[' "$out.list" || true)
  [[ $n -eq 4 ]] || fail "$what: info fibers lists $n fibers, not 4"
  # Each fiber's own stack, user frames included.
  for pair in "$receiver_id:wait_on_channel" "$sleeper_id:sleep_a_long_time" "$mutex_id:wait_on_mutex" "$main_id:gdb_checkpoint"; do
    local id=${pair%%:*} fn=${pair#*:}
    sed -n "/^==fiber $id\$/,/^==/p" "$out" >"$out.bt$id"
    expect "$out.bt$id" "#[0-9]+ .*$fn" "$what: fiber $id bt shows $fn"
    expect "$out.bt$id" "#[0-9]+ .*main" "$what: fiber $id bt reaches the fiber's lambda or main"
  done
  # fiber apply all bt: a header and the known function for every fiber.
  sed -n '/^==apply all/,/^==print/p' "$out" >"$out.all"
  for fn in wait_on_channel sleep_a_long_time wait_on_mutex gdb_checkpoint; do
    expect "$out.all" "#[0-9]+ .*$fn" "$what: fiber apply all bt shows $fn"
  done
  n=$(grep -cE '^fiber [0-9]+' "$out.all" || true)
  [[ $n -eq 4 ]] || fail "$what: fiber apply all bt covers $n fibers, not 4"
  # The pretty-printers.
  sed -n '/^==print/,$p' "$out" >"$out.print"
  expect "$out.print" 'goro::chan<int> = \{len = 2, cap = 4, closed = false, waiting_receivers = 0, waiting_senders = 0, \[0\] = 7, \[1\] = 8\}' "$what: print ch"
  expect "$out.print" 'goro::mutex = \{locked = true, waiters = 1, starving = false\}' "$what: print mu"
}

# Once the command is over, the thread's own backtrace is as it was: the
# fiber view left nothing behind.
sed -n '/^==thread bt/,$p' "$work/live" >"$work/live.thread"
expect "$work/live.thread" '^#0 +gdb_checkpoint' "live: bt after the fiber commands"
grep -q wait_on_channel "$work/live.thread" && fail "live: bt after the fiber commands still shows a parked fiber"

expect "$work/live" "Yes +$script" "auto-load of the script through .debug_gdb_scripts"
expect "$work/live" '^reason names: all [0-9]+ agree' "the script's wait reason names"
sed -i 's/^==fiber bt$//' "$work/live"
check "$work/live" live
[[ -f $work/core ]] && check "$work/core.out" core

if ((failures > 0)); then
  for f in live gcore core.out; do
    [[ -f $work/$f ]] && { echo "----- gdb output: $f"; cat "$work/$f"; }
  done
  exit 1
fi
grep "^reason names" "$work/live"
echo "gdb: info fibers, fiber ID bt, fiber apply all bt and the printers agree on the live process and its core"
