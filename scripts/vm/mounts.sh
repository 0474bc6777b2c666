# shellcheck shell=bash
# Sourced in the guest by job.sh and init.sh (copied to the 9p share "job" by
# scripts/vm-test.sh, with job.env beside it). Mounts the host's trees at the
# host's own paths, so the build tree's absolute paths (meson, rpaths, the
# tests' CTK_* variables) hold: each 9p share read-only, under an overlay whose
# writes go to the guest's disk (a throw-away snapshot), never to the host.

ctk_vm_9p() { # TAG DIR
    mkdir -p "$2"
    mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro "$1" "$2"
}

ctk_vm_overlay() { # TAG DIR
    local lower="/mnt/ctk-9p/$1" state="/var/tmp/ctk-overlay/$1"
    ctk_vm_9p "$1" "$lower" || return 1
    mkdir -p "$state/upper" "$state/work" "$2"
    mount -t overlay overlay -o "lowerdir=$lower,upperdir=$state/upper,workdir=$state/work" "$2"
}

ctk_vm_mount_all() {
    local tag dir
    for tag in "${!CTK_VM_SHARES[@]}"; do
        dir="${CTK_VM_SHARES[$tag]}"
        ctk_vm_overlay "$tag" "$dir" || { echo "vm: cannot mount the share $tag at $dir" >&2; return 1; }
    done
}
