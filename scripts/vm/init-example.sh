#!/bin/bash
# An example PID 1 for scripts/vm-test.sh --init: boot the guest with this as
# init (`scripts/vm-test.sh --init scripts/vm/init-example.sh [-- ARGS]`). It
# shows what such a script gets (PID 1, the shares mounted, pure cgroup v2,
# no systemd), runs ARGS if any (a command in the source tree, e.g. an
# init-system example), writes the exit status to $CTK_VM_STATUS and powers
# the guest off; vm-test.sh exits with that status.
set -u
echo "init-example: pid $$, kernel $(uname -r), /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup)"
echo "init-example: cgroup controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
status=0
if [[ $$ -ne 1 ]]; then
    echo "init-example: not PID 1"; status=1
fi
if [[ $# -gt 0 ]]; then
    (cd "$CTK_VM_SRC" && exec "./$1" "${@:2}")
    status=$?
fi
echo "$status" >"$CTK_VM_STATUS"
sync
umount /run/ctk-job 2>/dev/null
poweroff -f || echo o >/proc/sysrq-trigger
