#!/bin/bash
# Runs in the guest (ctk-vm-job.service), copied to the 9p share "job" by
# scripts/vm-test.sh with job.env: mounts the host's trees, starts the loopback
# registry from the fixture layouts, runs the meson suites, exits with
# meson's status (ctk-vm-job hands it to the host through the share).
set -uo pipefail
. /run/ctk-job/job.env
. /run/ctk-job/mounts.sh
log() { printf '[vm %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

log "up after $(cut -d' ' -f1 /proc/uptime) s: kernel $(uname -r), /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup)"
if grep -q ' cgroup ' /proc/mounts; then log "warning: a cgroup v1 hierarchy is mounted"; fi
ctk_vm_mount_all || exit 1

export HOME=/root CTK_CACHE="$CTK_VM_CACHE"
# The tests' temporary directories on a tmpfs without nosuid,nodev, like the
# host's /dev/shm (systemd mounts the guest's nosuid,nodev: device nodes there
# are EACCES, and a read-only rootfs keeps those flags under ns-run but loses
# them under runc 1.1, which the differential tests would report).
mkdir -p /mnt/ctk-test-tmp
mount -t tmpfs -o mode=1777,size=50% ctk-test-tmp /mnt/ctk-test-tmp
export CTK_TEST_TMPDIR=/mnt/ctk-test-tmp
export CTK_TEST_REGISTRY=127.0.0.1:5000
rm -rf "$CTK_CACHE/run"     # the host's registry pidfiles (a whiteout in the overlay)
# The host pushed the fixture images into its registry's storage before the
# boot (make-images.sh is slow under TCG); the guest's registry serves a copy.
if [[ $CTK_VM_REGISTRY_STORAGE != registry-5000 ]]; then
    rm -rf "$CTK_CACHE/registry-5000"
    ln -s "$CTK_VM_REGISTRY_STORAGE" "$CTK_CACHE/registry-5000"
fi
fixtures="$CTK_VM_SHARED/fixtures"
"$fixtures/registry.sh" start 5000 || exit 1
log "registry ready on $CTK_TEST_REGISTRY after $(cut -d' ' -f1 /proc/uptime) s"

# The suites (and --run's command) run in a transient scope with Delegate=yes:
# systemd hands its cgroup to them, so ns-run may move their processes into a
# leaf (ctk-callers) and enable controllers beneath (cgroup v2's
# no-internal-process rule; man/ns-run.8, Cgroups). The job's own service is
# not delegated; the cgroups tests check that case themselves.
delegated=(systemd-run --scope -p Delegate=yes --quiet --collect --)
log "cgroup: $(cut -d: -f3 /proc/self/cgroup), running in a delegated scope"

if [[ -n $CTK_VM_COMMAND ]]; then
    log "$CTK_VM_COMMAND"
    (cd "$CTK_VM_SRC" && exec "${delegated[@]}" bash -c "$CTK_VM_COMMAND")
    status=$?
    log "the command exited $status"
    "$fixtures/registry.sh" stop 5000 >/dev/null 2>&1 || true
    exit $status
fi

args=(meson test -C "$CTK_VM_BUILD" --no-rebuild --print-errorlogs
      --num-processes "$CTK_VM_JOBS" --timeout-multiplier "$CTK_VM_TIMEOUT_MULTIPLIER")
for s in "${CTK_VM_SUITES[@]}"; do args+=(--suite "$s"); done
args+=("${CTK_VM_MESON_ARGS[@]}")
log "${args[*]}"
t0=$(date +%s)
"${delegated[@]}" "${args[@]}" | cat     # not a tty: plain lines on the serial console, no spinner
status=$?
log "meson test exited $status after $(( $(date +%s) - t0 )) s"
cp "$CTK_VM_BUILD/meson-logs/testlog.txt" /run/ctk-job/testlog.txt 2>/dev/null || true
"$fixtures/registry.sh" stop 5000 >/dev/null 2>&1 || true
exit $status
