#!/usr/bin/env bash
# Run every Molecule scenario, JOBS at a time (default 2), longest first, each
# into its own log; print each one's result and time, and the tail of the log
# of each that failed. Exit 1 if any failed.
#   tools/molecule-all.sh [scenario ...]
# Most of a scenario's time is spent waiting (systemd boot, podman, the load
# generators' wall clock), so two lanes shorten CI on two cores; every
# scenario has its own instance names and state directory.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${MOLECULE_JOBS:-2}
# As the Makefile sets them: this checkout's Ansible home and collections.
export ANSIBLE_HOME=${ANSIBLE_HOME:-$root/.ansible}
export ANSIBLE_COLLECTIONS_PATH=${ANSIBLE_COLLECTIONS_PATH:-$root/.ansible/collections}
logs=$root/.ansible/molecule-logs
mkdir -p "$logs"
# Longest first (seconds measured on a quiet 2-core machine), so that the
# lanes end together; a scenario not listed here runs after these.
order=(fleet incident remediate_under_load logrotate_schedule check_mode faults audit_schedule
  php_flock_logging nginx_timeouts queue_facts kernel_queues php_fpm_backlog php_fpm_backlog_rollback
  nginx_timeouts_restart nginx_timeouts_rollback nginx_running_config)
if (($#)); then
  scenarios=("$@")
else
  present=()
  for file in "$root"/molecule/*/molecule.yml; do
    present+=("$(basename "$(dirname "$file")")")
  done
  scenarios=()
  for name in "${order[@]}"; do
    [[ " ${present[*]} " == *" $name "* ]] && scenarios+=("$name")
  done
  for name in "${present[@]}"; do
    [[ " ${scenarios[*]} " == *" $name "* ]] || scenarios+=("$name")
  done
fi
# shellcheck disable=SC2317  # called through xargs
run_one() {
  local name=$1 started rc
  started=$(date +%s)
  PATH=$root/.venv/bin:$PATH "$root/.venv/bin/molecule" test -s "$name" >"$logs/$name.log" 2>&1
  rc=$?
  echo "$name $rc $(($(date +%s) - started))" >"$logs/$name.result"
  echo "== molecule test -s $name: $([[ $rc == 0 ]] && echo passed || echo FAILED) in $(($(date +%s) - started)) s"
}
export -f run_one
export root logs
rm -f "$logs"/*.result
printf '%s\n' "${scenarios[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}'
failed=0
for name in "${scenarios[@]}"; do
  read -r _name rc _seconds <"$logs/$name.result" 2>/dev/null || rc=missing
  if [[ $rc != 0 ]]; then
    failed=1
    echo "== $name failed (rc $rc); the end of $logs/$name.log:"
    tail -60 "$logs/$name.log"
  fi
done
exit $failed
