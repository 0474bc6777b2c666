#!/usr/bin/env bash
# shellcheck disable=SC2016 # the single-quoted scripts run inside the containers
# usage: examples/tour.sh [REGISTRY]
#   A walk through every Docker object with ctl, in order: registry, image,
#   container, network, volume. Each step prints the command it runs, and for
#   the interesting ones the tool pipeline behind it (ctl --explain).
#   Needs root and the loopback registry with the fixture images
#   (../shared/fixtures/registry.sh start; make-images.sh), default 127.0.0.1:5000.
#   Uses a temporary store (CTK_ROOT, CTK_RUN) and networks in 10.216.0.0/16, and
#   removes everything it made at the end.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REG="${1:-127.0.0.1:5000}"
case "$REG" in 127.*) ;; *) echo "tour: the registry must be on loopback" >&2; exit 2 ;; esac
CTL="${CTL:-$here/../build/tools/ctl/ctl}"
[[ -x "$CTL" ]] || CTL="$(command -v ctl)"
[[ $(id -u) -eq 0 ]] || { echo "tour: run as root" >&2; exit 2; }

T="$(mktemp -d /tmp/ctk-tour.XXXXXX)"
export CTK_ROOT="$T/root" CTK_RUN="$T/run" CTK_CONFIG="$T/ctk.json"
echo '{"network": {"default_subnet": "10.216.0.0/24", "default_bridge": "ctktour0", "dns": []}}' >"$CTK_CONFIG"
cleanup() {
    set +e
    local id
    for id in $("$CTL" ps -aq); do "$CTL" rm -f -v "$id" >/dev/null 2>&1; done
    "$CTL" network rm tour-net >/dev/null 2>&1
    "$CTL" volume rm -f tour-data >/dev/null 2>&1
    "$(dirname "$CTL")/../net-bridge/net-bridge" rm bridge >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ ctl %s\n' "$*"; "$CTL" "$@"; }

step "Registry: pull an image from $REG into the store's OCI layout"
run pull "$REG/tiny:latest"
run tag "$REG/tiny:latest" "$REG/tour/tiny:v1"
run push "$REG/tour/tiny:v1"

step "Image: what is in the store"
run images
run image inspect --format '{{.Id}} cmd={{json .Config.Cmd}} layers={{len .RootFS.Layers}}' "$REG/tiny:latest"

step "Container: run one, and see how ctl does it"
run run --rm "$REG/tiny" echo "hello from a container"
echo "\$ ctl --explain run --rm $REG/tiny echo hello   (the tools behind it, abridged)"
"$CTL" --explain run --rm "$REG/tiny" echo hello | grep -E '^(img-unpack|net-bridge|vol-mount|ns-run|unshare|mkdir -p .*netns)' || true
run run -d --name tour-app "$REG/tiny" sh -c 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done'
sleep 1
run ps
run exec tour-app sh -c 'echo "exec: pid $$ in $(hostname)"'
run pause tour-app
run ps --filter name=tour-app --format '{{.Names}}: {{.Status}}'
run unpause tour-app
run logs --tail 3 tour-app
run rm -f tour-app

step "Network: two containers talking by name, and a published port"
run network create tour-net --subnet 10.216.100.0/24
run run -d --name tour-web --network tour-net -p 127.0.0.1:18080:80 "$REG/tiny" \
    sh -c 'mkdir -p /www && echo "served by tour-web" > /www/index.html && httpd -f -p 80 -h /www'
sleep 0.5
run run --rm --network tour-net "$REG/tiny" wget -qO- http://tour-web/index.html
echo "\$ wget -qO- http://127.0.0.1:18080/index.html   (from the host, through the published port)"
wget -qO- http://127.0.0.1:18080/index.html
run port tour-web
run rm -f tour-web
run network rm tour-net

step "Volume: data that outlives a container"
run volume create tour-data
run run --rm -v tour-data:/data "$REG/tiny" sh -c 'echo "written at $(date)" > /data/note'
run run --rm -v tour-data:/data:ro "$REG/tiny" cat /data/note
run volume inspect --format '{{.Name}} at {{.Mountpoint}}' tour-data
run volume rm tour-data

step "Done: every object made by the tour is removed again"
