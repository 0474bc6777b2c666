#!/usr/bin/env bash
# usage: scripts/vm-test.sh [OPTIONS] [SUITE...] [-- MESON-TEST-ARGS...]
#   Runs meson test suites (default: unit and integration) inside a Debian 12
#   KVM guest (TCG when KVM is unusable) booted with pure cgroup v2
#   (systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all) and Debian's own
#   kernel, streams the guest's serial console and exits with meson's
#   status. Run as root. The suites (and --run's COMMAND) run in a systemd
#   scope with Delegate=yes (systemd-run --scope), so ns-run may manage the
#   cgroup v2 subtree beneath them (man/ns-run.8, Cgroups).
#
#   The guest image is built once from Debian packages only (debootstrap from
#   the mirror apt uses here, CTK_MIRROR overrides; the list in
#   scripts/vm/packages; Debian's kernel and initramfs) and cached under
#   $CTK_CACHE/vm/ (tree/, rootfs.img, kernels/); it is rebuilt when
#   scripts/vm/packages or scripts/vm/guest/ change. Each run boots a
#   throw-away snapshot layer over it. The guest has no network device (-nic
#   none): it starts its own registry on its loopback, serving a copy of the
#   storage the host's fixture registry has (make-images.sh runs on the host).
#   The host's source tree, build tree, ../shared and $CTK_CACHE are shared in
#   with virtio-9p read-only, at the host's own paths, each under an overlay
#   whose writes stay in the guest; the binaries are the host's build (same
#   Debian 12 userspace). Nothing is built: build first (ninja -C build).
#
# options:
#   --kernel KERNEL  6.1 (default: bookworm's linux-image-amd64), backports
#                    (bookworm-backports' linux-image-amd64, when the mirror
#                    has it), or a Debian package name linux-image-*. Each
#                    kernel is installed once into the cached tree.
#   --keep           keep the run's directory (a copy of the guest's disk,
#                    the console log, testlog.txt) and print its path
#   --init SCRIPT    boot with SCRIPT (a path in the source tree) as PID 1
#                    instead of systemd (for init-system examples); no suites
#                    run. SCRIPT gets the shares mounted, writes its exit
#                    status to $CTK_VM_STATUS and powers off (poweroff -f);
#                    arguments after -- go to SCRIPT.
#   --run COMMAND    run COMMAND (bash -c, in the source tree, the registry
#                    up) in the systemd guest instead of meson test; its status
#                    is the exit status (diagnostics, benchmarks: --run bench/start)
#   --shell          boot to a root shell on the console (autologin, no job);
#                    Ctrl-A x quits qemu. The shares are mounted by
#                    `. /run/ctk-job/job.env; . /run/ctk-job/mounts.sh;
#                    ctk_vm_mount_all` after `mount -t 9p job /run/ctk-job`.
#   --build-only     build (or refresh) the image and kernel, boot nothing
#   --rebuild        rebuild the image from scratch (new debootstrap)
#   -h, --help       this text
#   SUITE...         meson suites (--suite each); none and no MESON-TEST-ARGS:
#                    unit and integration. MESON-TEST-ARGS after -- are passed
#                    to `meson test` as they are (test names, --repeat, ...).
#
# environment: CTK_VM_MEM (MiB, default 6144), CTK_VM_CPUS (default: the
#   host's, at most 4), CTK_VM_TIMEOUT (seconds, default 5400: the guest is
#   killed after it), CTK_TEST_JOBS (meson's --num-processes, default 2),
#   CTK_VM_TIMEOUT_MULTIPLIER (meson's --timeout-multiplier, default 1 under
#   KVM, 3 under TCG), CTK_VM_ACCEL (auto, kvm or tcg; auto: KVM when
#   /dev/kvm is backed by kvm_intel/kvm_amd, else TCG with a warning),
#   CTK_MIRROR, CTK_CACHE.
#
# variations (small changes of the qemu=(...) command below):
#   several guests on one virtual link (multi-host tests): give each guest
#     -netdev dgram,id=l,local.type=unix,local.path=A.sock,remote.type=unix,remote.path=B.sock
#     -device virtio-net-pci,netdev=l,mac=52:54:00:00:00:0N  instead of -nic none
#     (two guests: swap A and B; more: -netdev socket,id=l,mcast=230.0.0.1:PORT,localaddr=127.0.0.1
#     on each, a multicast hub on the host's loopback), a different job.env per
#     guest, and addresses in 10.0.0.0/8 set by the job. No host bridge or tap
#     is needed and nothing leaves the host's loopback.
#   a guest whose PID 1 is a script of ours: --init SCRIPT (above).
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

kernel=6.1 keep=0 init_script="" shell=0 build_only=0 rebuild=0 command=""
suites=() meson_args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --kernel) [[ $# -ge 2 ]] || die "--kernel needs a value"; kernel="$2"; shift ;;
        --kernel=*) kernel="${1#*=}" ;;
        --keep) keep=1 ;;
        --init) [[ $# -ge 2 ]] || die "--init needs a script"; init_script="$2"; shift ;;
        --init=*) init_script="${1#*=}" ;;
        --shell) shell=1 ;;
        --run) [[ $# -ge 2 ]] || die "--run needs a command"; command="$2"; shift ;;
        --run=*) command="${1#*=}" ;;
        --build-only) build_only=1 ;;
        --rebuild) rebuild=1 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; meson_args=("$@"); break ;;
        -*) usage >&2; exit 2 ;;
        *) suites+=("$1") ;;
    esac
    shift
done
[[ ${#suites[@]} -gt 0 || ${#meson_args[@]} -gt 0 || -n $init_script || -n $command ]] ||
    suites=(unit integration)
case "$kernel" in
    6.1|default) kernel=6.1 ;;
    backports|linux-image-*) ;;
    *) die "--kernel $kernel: expected 6.1, backports or a linux-image-* package" ;;
esac

need_root
need_shared
vmdir="$CTK_CACHE/vm"
tree="$vmdir/tree"
image="$vmdir/rootfs.img"
vmsrc="$top/scripts/vm"
mem="${CTK_VM_MEM:-6144}"
cpus="${CTK_VM_CPUS:-$(( $(nproc) < 4 ? $(nproc) : 4 ))}"
timeout_s="${CTK_VM_TIMEOUT:-5400}"

# ------------------------------------------------------------------ image
# The tree's key: what goes into it (package list, baked files, this recipe).
recipe_version=1
tree_key() {
    { echo "recipe $recipe_version"; cat "$vmsrc/packages"; cat "$vmsrc"/guest/*; } | sha256sum | cut -c1-16
}

chroot_mounts=()
chroot_umount() {
    local i
    for (( i=${#chroot_mounts[@]}-1; i>=0; i-- )); do
        umount -l "${chroot_mounts[$i]}" 2>/dev/null || true
    done
    chroot_mounts=()
}
chroot_mount() { # ROOT
    mount -t proc proc "$1/proc" && chroot_mounts+=("$1/proc")
    mount -t sysfs sysfs "$1/sys" && chroot_mounts+=("$1/sys")
    mount --bind /dev "$1/dev" && chroot_mounts+=("$1/dev")
    mount -t devpts devpts "$1/dev/pts" && chroot_mounts+=("$1/dev/pts")
}
in_chroot() { DEBIAN_FRONTEND=noninteractive LC_ALL=C chroot "$tree" "$@"; }

security_uri() {
    grep -h '^URIs:.*security' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2; exit}' ||
        true
}

build_tree() {
    local mirror sec pkgs t0=$SECONDS
    mirror="$(. "$shared/fixtures/common.sh"; ctk_mirror)"
    command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
    rm -rf --one-file-system "$tree.tmp" "$tree"
    rm -rf "$vmdir/kernels" "$image"
    mkdir -p "$vmdir"
    log "debootstrap bookworm from $mirror into $tree (first run: several minutes)"
    debootstrap --variant=minbase --include=ca-certificates bookworm "$tree.tmp" "$mirror" \
        >"$vmdir/debootstrap.log" 2>&1 || { tail -n 30 "$vmdir/debootstrap.log" >&2; die "debootstrap failed"; }
    mv "$tree.tmp" "$tree"
    {
        echo "deb $mirror bookworm main"
        echo "deb $mirror bookworm-updates main"
        sec="$(security_uri)"
        [[ -z "$sec" ]] || echo "deb $sec bookworm-security main"
    } >"$tree/etc/apt/sources.list"
    printf '#!/bin/sh\nexit 101\n' >"$tree/usr/sbin/policy-rc.d"
    chmod 755 "$tree/usr/sbin/policy-rc.d"
    mapfile -t pkgs < <(sed 's/#.*//' "$vmsrc/packages" | tr -s ' \t' '\n' | grep .)
    chroot_mount "$tree"
    log "apt-get install ${#pkgs[@]} packages in the tree"
    in_chroot apt-get update -qq >/dev/null
    in_chroot apt-get install -y -qq --no-install-recommends "${pkgs[@]}" \
        >"$vmdir/apt.log" 2>&1 || { chroot_umount; tail -n 30 "$vmdir/apt.log" >&2; die "apt-get install failed in the tree"; }
    chroot_umount
    # The initramfs (made when a kernel is installed) finds the root disk and
    # the 9p shares with these.
    printf '%s\n' virtio_pci virtio_blk virtio_console 9p 9pnet_virtio overlay ext4 \
        >>"$tree/etc/initramfs-tools/modules"

    # The guest: a root without password, autologin on the serial console,
    # our job unit, the packages' own services off (the tests start what
    # they need themselves), no timers.
    echo ctk-vm >"$tree/etc/hostname"
    printf '127.0.0.1 localhost\n127.0.1.1 ctk-vm\n::1 localhost ip6-localhost ip6-loopback\n' >"$tree/etc/hosts"
    echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' >"$tree/etc/fstab"
    in_chroot passwd -dq root
    mkdir -p "$tree/etc/systemd/system/serial-getty@ttyS0.service.d"
    printf '[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 %%I $TERM\n' \
        >"$tree/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf"
    install -m 755 "$vmsrc/guest/ctk-vm-job" "$vmsrc/guest/ctk-vm-init" "$tree/usr/local/sbin/"
    install -m 644 "$vmsrc/guest/ctk-vm-job.service" "$tree/etc/systemd/system/"
    in_chroot systemctl enable ctk-vm-job.service >/dev/null 2>&1
    local u masked=()
    for u in docker.service docker.socket containerd.service docker-registry.service \
             podman.service podman.socket podman-restart.service podman-auto-update.timer \
             apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer \
             e2scrub_reap.service fstrim.timer systemd-timesyncd.service \
             nftables.service iperf3.service; do
        [[ -e "$tree/lib/systemd/system/$u" ]] && masked+=("$u")
    done
    in_chroot systemctl mask "${masked[@]}" >/dev/null 2>&1
    rm -f "$tree/usr/sbin/policy-rc.d"
    in_chroot apt-get clean
    rm -rf "$tree"/var/lib/apt/lists/*_Packages "$tree"/var/log/apt/* "$tree"/var/cache/debconf/*-old
    tree_key >"$tree/.ctk-vm-key"
    log "tree ready in $(( SECONDS - t0 )) s ($(du -sh --one-file-system "$tree" | cut -f1))"
}

# Installs kernel $1 into the tree (once) and keeps its vmlinuz and initrd
# under $vmdir/kernels/$1/.
ensure_kernel() {
    local name="$1" dir="$vmdir/kernels/$1" before after ver pkg t0=$SECONDS
    [[ -s "$dir/vmlinuz" && -s "$dir/initrd.img" ]] && return 0
    before="$(cd "$tree/boot" && ls vmlinuz-* 2>/dev/null || true)"
    chroot_mount "$tree"
    printf '#!/bin/sh\nexit 101\n' >"$tree/usr/sbin/policy-rc.d"
    chmod 755 "$tree/usr/sbin/policy-rc.d"
    local -a install=(apt-get install -y -qq --no-install-recommends)
    case "$name" in
        6.1) pkg=linux-image-amd64 ;;
        backports)
            pkg=linux-image-amd64
            install+=(-t bookworm-backports) ;;
        *) pkg="$name" ;;
    esac
    if [[ $name != 6.1 ]]; then
        # backports only in the guest's tree, never in the host's apt
        echo "deb $(. "$shared/fixtures/common.sh"; ctk_mirror) bookworm-backports main" \
            >"$tree/etc/apt/sources.list.d/backports.list"
        in_chroot apt-get update -qq >/dev/null
        if [[ $name == backports ]] &&
           ! in_chroot apt-cache policy linux-image-amd64 | grep -q bookworm-backports; then
            rm -f "$tree/usr/sbin/policy-rc.d"; chroot_umount
            die "the mirror has no bookworm-backports kernel"
        fi
    else
        in_chroot apt-get update -qq >/dev/null
    fi
    log "installing kernel $name ($pkg) in the tree"
    in_chroot "${install[@]}" "$pkg" >"$vmdir/kernel-$name.log" 2>&1 || {
        rm -f "$tree/usr/sbin/policy-rc.d"; chroot_umount
        tail -n 30 "$vmdir/kernel-$name.log" >&2; die "installing $pkg failed"; }
    rm -f "$tree/usr/sbin/policy-rc.d"
    in_chroot apt-get clean
    chroot_umount
    after="$(cd "$tree/boot" && ls vmlinuz-*)"
    ver="$(comm -13 <(printf '%s\n' "$before" | sort) <(printf '%s\n' "$after" | sort) | head -n1)"
    if [[ -z $ver ]]; then
        # already there (e.g. 6.1 after backports): the package's own version
        ver="vmlinuz-$(in_chroot dpkg-query -W -f='${Depends}' "$pkg" | grep -o 'linux-image-[^ ,]*' | head -n1 | sed 's/^linux-image-//')"
    fi
    ver="${ver#vmlinuz-}"
    [[ -s "$tree/boot/vmlinuz-$ver" && -s "$tree/boot/initrd.img-$ver" ]] ||
        die "kernel $name: no /boot/vmlinuz-$ver or initrd.img-$ver in the tree"
    mkdir -p "$dir"
    cp "$tree/boot/vmlinuz-$ver" "$dir/vmlinuz"
    cp "$tree/boot/initrd.img-$ver" "$dir/initrd.img"
    echo "$ver" >"$dir/version"
    rm -f "$image"      # the image must carry the new kernel's modules
    log "kernel $name is $ver ($(( SECONDS - t0 )) s)"
}

make_image() {
    local used size t0=$SECONDS
    used=$(du -sm --one-file-system "$tree" | cut -f1)
    size=$(( used * 13 / 10 + 3072 ))
    log "mkfs.ext4 -d: ${size} MiB sparse image from the tree (${used} MiB)"
    rm -f "$image.tmp"
    mkfs.ext4 -q -F -L ctk-vm -E lazy_itable_init=1,lazy_journal_init=1 -d "$tree" "$image.tmp" "${size}M" >/dev/null
    mv "$image.tmp" "$image"
    log "image ready in $(( SECONDS - t0 )) s ($(du -h "$image" | cut -f1) on disk)"
}

ensure_image() {
    local t0=$SECONDS
    if [[ $rebuild == 1 || ! -s "$tree/.ctk-vm-key" || "$(cat "$tree/.ctk-vm-key")" != "$(tree_key)" ]]; then
        local avail
        avail=$(df -Pm "$CTK_CACHE" 2>/dev/null | awk 'NR==2 {print $4}' || echo 0)
        [[ ${avail:-0} -ge 8192 ]] || die "$CTK_CACHE has ${avail} MiB free; the guest needs about 8 GiB"
        build_tree
    fi
    ensure_kernel "$kernel"
    [[ -s "$image" ]] || make_image
    if (( SECONDS - t0 > 1 )); then log "guest image built in $(( SECONDS - t0 )) s"; fi
}

# ------------------------------------------------------------------ run
run=""
qemu_pid=""
cleanup() {
    if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill "$qemu_pid" 2>/dev/null || true
        for _ in $(seq 1 30); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$qemu_pid" 2>/dev/null || true
    fi
    chroot_umount
    stop_registry
    if [[ -n $run && -d $run ]]; then
        if [[ $keep == 1 ]]; then log "kept $run"; else rm -rf "$run"; fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$vmdir"
exec 9>"$vmdir/.lock"
flock 9     # one image build at a time; runs share the image read-only
ensure_image
flock -u 9
[[ $build_only == 1 ]] && exit 0

[[ -x "$build/tools/ns-run/ns-run" ]] || die "$build is not built (ninja -C $build)"
# The guest has no network: the fixture images are built and pushed on the
# host (idempotent, seconds when done before) and the guest's registry serves
# a copy of that registry's storage.
start_registry
make_images 2>"$vmdir/make-images.log" || { tail -n 20 "$vmdir/make-images.log" >&2; die "make-images.sh failed"; }
stop_registry

mkdir -p "$vmdir/runs"
run="$(mktemp -d "$vmdir/runs/run.XXXXXX")"
# The cached image stays untouched: the guest writes to a temporary snapshot
# layer, or with --keep to a sparse copy of its own kept in the run dir.
drive="file=$image,if=virtio,format=raw,snapshot=on"
if [[ $keep == 1 ]]; then
    cp --sparse=always "$image" "$run/disk.img"
    drive="file=$run/disk.img,if=virtio,format=raw"
fi
cp "$vmsrc/job.sh" "$vmsrc/init.sh" "$vmsrc/mounts.sh" "$run/"

# KVM needs /dev/kvm backed by hardware virtualization (kvm_intel/kvm_amd).
# Some hosts' /dev/kvm is a paravirtual one (kvm_pvm: nested without VT-x/SVM)
# that runs only kernels built as its guests: Debian's kernel never gets past
# its decompressor there, so those hosts get TCG too. CTK_VM_ACCEL=kvm|tcg
# overrides the choice.
accel_name="${CTK_VM_ACCEL:-auto}" tmult="${CTK_VM_TIMEOUT_MULTIPLIER:-1}"
if [[ $accel_name == auto ]]; then
    accel_name=tcg
    if [[ ! -w /dev/kvm ]]; then
        log "warning: /dev/kvm is missing: the guest runs under TCG emulation, many times slower"
    elif [[ -d /sys/module/kvm_intel || -d /sys/module/kvm_amd ]]; then
        accel_name=kvm
    else
        mods=(/sys/module/kvm_*)
        log "warning: /dev/kvm has no kvm_intel/kvm_amd behind it (${mods[0]##*/}): the guest runs under TCG emulation, many times slower"
    fi
fi
case "$accel_name" in
    kvm) accel=(-machine "q35,accel=kvm" -cpu host) ;;
    tcg) accel=(-machine "q35,accel=tcg" -cpu max)
         timeout_s=$(( timeout_s * 4 ))
         tmult="${CTK_VM_TIMEOUT_MULTIPLIER:-3}" ;;
    *) die "CTK_VM_ACCEL=$accel_name: expected auto, kvm or tcg" ;;
esac

# 9p shares: tag -> host path, mounted at the same path in the guest.
declare -A shares=([src]="$top" [shared]="$shared" [cache]="$CTK_CACHE")
case "$build/" in "$top"/*) ;; *) shares[build]="$build" ;; esac
declare -A CTK_VM_SHARES
for tag in "${!shares[@]}"; do CTK_VM_SHARES[$tag]="${shares[$tag]}"; done
CTK_VM_SRC="$top" CTK_VM_BUILD="$build" CTK_VM_SHARED="$shared" CTK_VM_CACHE="$CTK_CACHE"
CTK_VM_JOBS="${CTK_TEST_JOBS:-2}"
CTK_VM_SUITES=("${suites[@]}") CTK_VM_MESON_ARGS=("${meson_args[@]}")
CTK_VM_INIT="$init_script" CTK_VM_INIT_ARGS=("${meson_args[@]}") CTK_VM_COMMAND="$command"
CTK_VM_REGISTRY_STORAGE="registry-$registry_port" CTK_VM_TIMEOUT_MULTIPLIER="$tmult"
declare -p CTK_VM_REGISTRY_STORAGE CTK_VM_TIMEOUT_MULTIPLIER CTK_VM_SHARES CTK_VM_SRC CTK_VM_BUILD CTK_VM_SHARED CTK_VM_CACHE CTK_VM_JOBS \
    CTK_VM_SUITES CTK_VM_MESON_ARGS CTK_VM_INIT CTK_VM_INIT_ARGS CTK_VM_COMMAND >"$run/job.env"
if [[ -n $init_script ]]; then
    [[ -x "$top/$init_script" ]] || die "--init $init_script: not an executable file in $top"
fi

append="root=/dev/vda rw console=ttyS0 panic=1 systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all"
append+=" quiet loglevel=4 systemd.show_status=error"
if [[ -n $init_script ]]; then
    append+=" init=/usr/local/sbin/ctk-vm-init"
elif [[ $shell == 0 ]]; then
    append+=" ctk.job systemd.mask=serial-getty@ttyS0.service"
fi
kdir="$vmdir/kernels/$kernel"
qemu=(qemu-system-x86_64 "${accel[@]}" -m "$mem" -smp "$cpus" -nographic -vga none -no-reboot
      -nic none -device virtio-rng-pci
      -kernel "$kdir/vmlinuz" -initrd "$kdir/initrd.img" -append "$append"
      -drive "$drive"
      -virtfs "local,path=$run,mount_tag=job,security_model=passthrough")
for tag in "${!shares[@]}"; do
    qemu+=(-virtfs "local,path=${shares[$tag]},mount_tag=$tag,security_model=passthrough,readonly=on")
done

log "booting kernel $kernel ($(cat "$kdir/version")) under $accel_name, ${mem} MiB, ${cpus} CPUs; run dir $run"
t0=$SECONDS
if [[ $shell == 1 ]]; then
    "${qemu[@]}" || true
    exit 0
fi
"${qemu[@]}" </dev/null > >(tee "$run/console.log") 2>&1 &
qemu_pid=$!
deadline=$(( SECONDS + timeout_s ))
while kill -0 "$qemu_pid" 2>/dev/null; do
    if (( SECONDS > deadline )); then
        log "timeout: the guest ran for more than $timeout_s s, stopping it"
        kill "$qemu_pid" 2>/dev/null || true
        break
    fi
    sleep 1
done
wait "$qemu_pid" 2>/dev/null || true
qemu_pid=""
where=""
if [[ -s "$run/testlog.txt" ]]; then
    cp "$run/testlog.txt" "$vmdir/last-testlog.txt"
    where=" (meson log: $vmdir/last-testlog.txt)"
fi
if [[ -s "$run/status" ]]; then
    status="$(cat "$run/status")"
    log "guest finished in $(( SECONDS - t0 )) s with status $status$where"
    exit "$status"
fi
log "the guest stopped without a status after $(( SECONDS - t0 )) s (console: $run/console.log)"
keep=1
exit 1
