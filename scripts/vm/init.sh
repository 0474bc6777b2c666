#!/bin/bash
# Runs in the guest as PID 1 for scripts/vm-test.sh --init SCRIPT (exec'd by
# the image's ctk-vm-init): mounts the host's trees as job.sh does, then execs
# SCRIPT (a path in the source tree) as PID 1. SCRIPT owns the guest from then
# on: it writes its exit status to $CTK_VM_STATUS and powers the guest off
# (poweroff -f, or `echo o >/proc/sysrq-trigger`); if PID 1 exits the kernel
# panics and the guest stops without a status (vm-test.sh reports a failure).
. /run/ctk-job/job.env
. /run/ctk-job/mounts.sh
ip link set lo up 2>/dev/null
ctk_vm_mount_all || { echo o >/proc/sysrq-trigger; sleep 10; }
export CTK_VM_STATUS=/run/ctk-job/status HOME=/root CTK_CACHE="$CTK_VM_CACHE"
export CTK_VM_SRC CTK_VM_BUILD CTK_VM_SHARED
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
exec "$CTK_VM_SRC/$CTK_VM_INIT" "${CTK_VM_INIT_ARGS[@]}"
