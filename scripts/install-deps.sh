#!/usr/bin/env bash
# usage: scripts/install-deps.sh
#   Install (apt-get, as root) every Debian 12 package that building ctk, its
#   tools, its tests and its benchmarks need. Idempotent: does nothing when all
#   are present.
set -euo pipefail

build=(meson ninja-build g++ pkg-config
       libarchive-dev libseccomp-dev libcap-dev libmnl-dev
       libnftnl-dev nlohmann-json3-dev rapidjson-dev libcurl4-openssl-dev libssl-dev libcli11-dev
       libgtest-dev libzstd-dev zlib1g-dev libboost-dev libdeflate-dev liblz4-dev libacl1-dev
       clang libclang-rt-14-dev)  # scripts/fuzz.sh: libFuzzer, ASan, UBSan
peers=(runc crun umoci skopeo docker-registry containernetworking-plugins busybox-static
       containerd docker.io docker-compose buildah
       podman python3-grpcio python3-grpc-tools)  # peers-podman; peers-cri: the CRI client (gRPC)
tools=(hyperfine jq curl debootstrap zstd python3 iproute2 nftables util-linux tar gzip
       coreutils procps psmisc shellcheck iperf3
       apache2-utils openssl  # reg-fetch tests: htpasswd (bcrypt) and certificates
       s6 runit)  # examples/init: the supervisors the s6 and runit examples run
vm=(qemu-system-x86 seabios ipxe-qemu e2fsprogs)  # scripts/vm-test.sh (and debootstrap above):
                                                  # the guest lane; seabios/ipxe are only
                                                  # Recommends of qemu, which needs them

missing=()
for p in "${build[@]}" "${peers[@]}" "${tools[@]}" "${vm[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
[[ $(id -u) -eq 0 ]] || { echo "install-deps: needs root to install: ${missing[*]}" >&2; exit 1; }
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the packages' own services (docker-registry on :5000,
# dockerd, containerd) from starting: the tests start what they need themselves.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
fi
trap '[[ $made_policy == 1 ]] && rm -f "$policy"' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
