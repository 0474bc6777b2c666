#!/usr/bin/env bash
# usage: examples/admin/mirror-images.sh SOURCE DESTINATION IMAGE[:TAG]...
#   Copies each IMAGE from the registry SOURCE (host:port) to DESTINATION
#   under the same name and tag, with reg-fetch only: pull into a temporary
#   OCI layout (every platform of an index), then push. Manifests and blobs
#   keep their bytes, so the digests are the same on both sides (checked).
#   Credentials: ~/.docker/config.json (reg-fetch login).
#   Example: mirror-images.sh 127.0.0.1:5000 127.0.0.1:5001 tiny:latest tiny:multiarch
set -euo pipefail
# shellcheck source=examples/admin/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[[ $# -ge 3 ]] || { sed -n '2,9s/^# \{0,1\}//p' "$0" >&2; exit 2; }
src="$1" dst="$2"
shift 2
REG="$(tool reg-fetch)"
layout="$(mktemp -d "${TMPDIR:-/tmp}/ctk-mirror.XXXXXX")"
trap 'rm -rf "$layout"' EXIT
status=0
for image in "$@"; do
    [[ $image == *:* ]] || image="$image:latest"
    tag="t$(printf '%s' "$image" | sha256sum | cut -c1-12)"
    if ! "$REG" pull --quiet --all-platforms --layout "$layout" --tag "$tag" "$src/$image" >/dev/null; then
        echo "$image: pull from $src failed" >&2; status=1; continue
    fi
    if ! "$REG" push --quiet "$layout:$tag" "$dst/$image" >/dev/null; then
        echo "$image: push to $dst failed" >&2; status=1; continue
    fi
    a="$("$REG" inspect --raw "$src/$image" | sha256sum | cut -d' ' -f1)"
    b="$("$REG" inspect --raw "$dst/$image" | sha256sum | cut -d' ' -f1)"
    if [[ $a == "$b" ]]; then echo "$image: sha256:$a"
    else echo "$image: digests differ ($src sha256:$a, $dst sha256:$b)" >&2; status=1; fi
done
exit $status
