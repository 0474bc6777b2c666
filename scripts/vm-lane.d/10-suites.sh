#!/usr/bin/env bash
# Guest lane step (scripts/vm-lane.sh): one boot of the Debian 12 guest with
# pure cgroup v2 (kernel 6.1, TCG where KVM is unusable) running the unit
# suite, then the integration programs that exercise cgroup v2: ns-run's
# lifecycle, namespaces (cgroup namespace), mounts (device filter, cgroup
# mount), cgroups (limits, OOM, freezer, eBPF device filter, delegated and
# non-delegated systemd scopes), shim (update, events --stats, OOM events),
# console and differential (runc, crun). The whole integration suite under
# TCG takes over an hour: `scripts/vm-test.sh` with no suite runs everything.
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
integration=(ns-run-lifecycle ns-run-namespaces ns-run-mounts ns-run-cgroups ns-run-shim
             ns-run-console ns-run-differential)
# Two meson runs: meson intersects --suite with test names (unit and
# integration both have a "build").
mt="meson test -C $build --no-rebuild --print-errorlogs --num-processes ${CTK_TEST_JOBS:-2} --timeout-multiplier 3"
exec "$top/scripts/vm-test.sh" --run "$mt --suite unit | cat; u=\${PIPESTATUS[0]}; $mt ${integration[*]} | cat; i=\${PIPESTATUS[0]}; echo \"unit: \$u, integration: \$i\"; exit \$(( u | i ))"
