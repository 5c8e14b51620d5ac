# Shared by scripts/start-data-server, stop-data-server, start-fetchers and status (sourced, not
# run). What a run dir is and how a pipeline in it is found, locked and stopped:
#
#   <run-dir>/lock              flock'ed by the launcher, then by supervisord for as long as it
#                               runs: one pipeline per run dir at a time
#   <run-dir>/owner             who holds the lock (pid, start time, data root), for refusals
#   <run-dir>/supervisord.conf  written by scripts/lib/write-supervisord-conf
#   <run-dir>/logs/             supervisord's and every program's log (appended across runs)
#
# Every program supervisord starts carries QLIR_RUN_DIR=<run-dir> and QLIR_ROLE=<program> in its
# environment, so processes left behind by a killed supervisord are still found and stopped.
# Exit codes come from common/exit_codes.h (EXIT_Done, EXIT_Usage, ...): one table for all.

qlir_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# EXIT_Done=0 EXIT_Internal=1 EXIT_DoneWithFailures=2 EXIT_Stopped=3 EXIT_Usage=64
# EXIT_CannotStart=69 EXIT_Temporary=75, and QLIR_FINAL_EXIT_CODES="0,2,3,64,69".
qlir_load_exit_codes() {
  local h=$qlir_top/common/exit_codes.h defs
  defs=$(sed -n 's/^ *kExit\([A-Za-z]*\) = \([0-9]*\),.*/EXIT_\1=\2/p' "$h" 2>/dev/null) || true
  if [[ -z $defs ]]; then
    echo "$(basename "$0"): cannot read the exit-code table $h" >&2
    exit 1
  fi
  eval "$defs"
  QLIR_FINAL_EXIT_CODES=$(sed -n 's/.*kFinalExitCodesForSupervisord = "\([0-9,]*\)".*/\1/p' "$h")
}
qlir_load_exit_codes

# The meaning of an exit code, for the launcher's last line.
qlir_exit_meaning() {
  case $1 in
    "$EXIT_Done") echo "complete" ;;
    "$EXIT_Internal") echo "internal error" ;;
    "$EXIT_DoneWithFailures") echo "complete, with failures for good" ;;
    "$EXIT_Stopped") echo "stopped before completion" ;;
    "$EXIT_Usage") echo "bad usage" ;;
    "$EXIT_CannotStart") echo "cannot start" ;;
    "$EXIT_Temporary") echo "temporary failure outlasted its deadline" ;;
    *) echo "status $1" ;;
  esac
}

# Pids of the processes started for run dir $1 (QLIR_RUN_DIR in their environment), with their
# role: "pid role" lines. $2 (optional) keeps only that role.
qlir_run_dir_pids() {
  local dir=$1 want=${2:-} env p role
  # One grep over every process's environment (unreadable ones, and zombies, are skipped).
  while IFS= read -r env; do
    p=${env#/proc/}; p=${p%/environ}
    [[ $p == "$$" || $p == "${BASHPID:-}" ]] && continue
    role=$(grep -azF QLIR_ROLE= "$env" 2>/dev/null | tr -d '\0') || true
    role=${role#QLIR_ROLE=}
    [[ -z $want || $role == "${want}" || ($want == unknown && -z $role) ]] && echo "$p ${role:-unknown}"
  done < <(grep -lzxF "QLIR_RUN_DIR=$dir" /proc/[0-9]*/environ 2>/dev/null)
  return 0
}

# The pid of the supervisord of run dir $1 when it is alive, else nothing (status 1).
qlir_supervisord_pid() {
  local dir=$1 pid
  pid=$(cat "$dir/supervisord.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF "$dir/supervisord.conf" || return 1
  echo "$pid"
}

# True while process $1 runs (a zombie waiting for its parent counts as gone).
qlir_alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && ${st:0:1} != Z && ${st:0:1} != X ]]
}

# Waits up to $2 seconds for every pid in $1 (space separated) to exit; status 1 on time-out.
qlir_wait_pids() {
  local pids=$1 limit=$2 p alive i
  for ((i = 0; i < limit * 10; i++)); do
    alive=0
    for p in $pids; do qlir_alive "$p" && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  return 1
}

# Takes the run dir's lock on a new descriptor (left in QLIR_LOCK_FD) for `who` ($2, a line for
# the owner file). On refusal prints why, naming the holder, and returns 1.
qlir_lock_run_dir() {
  local dir=$1 who=$2 holder
  exec {QLIR_LOCK_FD}<>"$dir/lock"
  if ! flock -n "$QLIR_LOCK_FD"; then
    holder=$(cat "$dir/owner" 2>/dev/null) || true
    exec {QLIR_LOCK_FD}>&-
    echo "$(basename "$0"): cannot start: the run dir $dir is in use by another pipeline" \
      "(${holder:-its owner is still starting}); stop it with" \
      "scripts/stop-data-server --run-dir $dir, or pass another --run-dir" >&2
    return 1
  fi
  printf '%s\n' "$who" >"$dir/owner"
  local left
  left=$(qlir_run_dir_pids "$dir" | while read -r p r; do printf '%s pid %s, ' "$r" "$p"; done)
  if [[ -n $left ]]; then
    echo "$(basename "$0"): cannot start: processes of an earlier pipeline still run from" \
      "$dir (their supervisord is gone): ${left%, };" \
      "stop them with scripts/stop-data-server --run-dir $dir" >&2
    exec {QLIR_LOCK_FD}>&-
    return 1
  fi
  return 0
}

# Stops everything of run dir $1 and returns only when it has all exited: supervisord's
# shutdown (planner, then fetchers, then the persister: see write-supervisord-conf), then any
# process left behind by a killed supervisord (fetchers and planner first, the persister last,
# SIGTERM then SIGKILL after their stop time). Prints what it did unless $2 is "quiet".
# Status 1 when something would not stop.
qlir_stop_run_dir() {
  local dir=$1 quiet=${2:-} sd pids role rc=0 say=echo
  [[ $quiet == quiet ]] && say=:
  if sd=$(qlir_supervisord_pid "$dir"); then
    supervisorctl -c "$dir/supervisord.conf" shutdown >/dev/null 2>&1 || kill -TERM "$sd" 2>/dev/null || true
    # supervisord waits for each group's stopwaitsecs (60 s at most) before the next.
    if ! qlir_wait_pids "$sd" 150; then
      $say "$(basename "$0"): supervisord (pid $sd) did not stop within 150 s; killing it" >&2
      kill -KILL "$sd" 2>/dev/null || true
      qlir_wait_pids "$sd" 10 || rc=1
    fi
  fi
  # Left behind (supervisord killed, or it gave up on one): planner and fetchers, then persister.
  for role in planner fetcher unknown persister; do
    pids=$(qlir_run_dir_pids "$dir" "$role" | cut -d' ' -f1 | tr '\n' ' ')
    [[ -n ${pids// /} ]] || continue
    $say "$(basename "$0"): stopping $role process(es) left behind by supervisord: $pids" >&2
    kill -TERM $pids 2>/dev/null || true
    if ! qlir_wait_pids "$pids" 65; then
      $say "$(basename "$0"): $role pid(s) $pids did not stop within 65 s of SIGTERM; SIGKILL" >&2
      kill -KILL $pids 2>/dev/null || true
      qlir_wait_pids "$pids" 10 || rc=1
    fi
  done
  return $rc
}

# Shell-quotes each word and doubles '%' (supervisord expands %(name)s in commands).
qlir_quote() {
  local out= a
  for a in "$@"; do out+=" $(printf '%q' "$a")"; done
  out=${out# }
  printf '%s' "${out//%/%%}"
}
