#!/usr/bin/env bash
# usage: scripts/vm-lane.sh
#   CI's guest lane (run by scripts/test.sh after the host suites): runs every
#   scripts/vm-lane.d/*.sh in name order, each one guest boot through
#   scripts/vm-test.sh (10-suites.sh: the test suites on pure cgroup v2;
#   further steps boot the guest with --init or --run). Prints each step's
#   time and exits 1 if any step failed (all steps run). CTK_SKIP_VM=1 skips
#   the lane with a message (machines without KVM or qemu, where TCG is too
#   slow). Run as root.
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [[ ${CTK_SKIP_VM:-0} == 1 ]]; then
    log "guest lane skipped (CTK_SKIP_VM=1): scripts/vm-lane.d/*.sh not run"
    exit 0
fi
need_root
status=0 summary=()
t_lane=$SECONDS
for step in "$top"/scripts/vm-lane.d/*.sh; do
    [[ -e $step ]] || continue
    name="${step##*/}"
    log "guest lane: $name"
    t0=$SECONDS
    if "$step"; then r=ok; else r="FAILED ($?)"; status=1; fi
    summary+=("$(printf '%-28s %5d s  %s' "$name" $(( SECONDS - t0 )) "$r")")
done
log "guest lane: $(( SECONDS - t_lane )) s"
for line in "${summary[@]}"; do log "  $line"; done
exit $status
