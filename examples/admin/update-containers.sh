#!/usr/bin/env bash
# usage: examples/admin/update-containers.sh [--dry-run]
#   Re-creates every container whose image has a newer digest in its
#   registry (what watchtower does for docker):
#   1. for each image reference the containers were made from, asks the
#      registry for the reference's digest (reg-fetch inspect) and pulls it
#      (ctl pull) when the local image is not that digest;
#   2. each container whose image is no longer the one its reference names
#      is removed and made again from the new image with the settings it was
#      made with (name, command and entrypoint, environment, labels, user,
#      working directory, published ports, binds, network, restart policy,
#      init), and started again if it was running.
#   Prints one line per container it re-creates (or would, with --dry-run:
#   then nothing is pulled, and a container is listed when its reference's
#   digest changed, even if only the layers' compression did).
#   Containers made from an image ID (no reference) are left alone.
set -euo pipefail
# shellcheck source=examples/admin/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
dry=0
case "${1:-}" in
    --dry-run) dry=1 ;;
    "") ;;
    *) sed -n '2,18s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
CTL="$(tool ctl)" REG="$(tool reg-fetch)"

mapfile -t ids < <("$CTL" ps -a -q --no-trunc)
[[ ${#ids[@]} -gt 0 ]] || exit 0
containers="$("$CTL" inspect "${ids[@]}")"

# 1. the references, each pulled when the registry has another digest
declare -A current # reference -> local image ID after the check
while IFS= read -r ref; do
    [[ -n $ref && $ref != sha256:* ]] || continue
    remote="$("$REG" inspect "$ref" 2>/dev/null | jq -r .Digest)" || { echo "$ref: registry unreachable, skipped" >&2; continue; }
    local_digests="$("$CTL" image inspect "$ref" 2>/dev/null | jq -r '.[0].RepoDigests[]? // empty')"
    if ! grep -qx ".*@$remote" <<<"$local_digests"; then
        if [[ $dry == 1 ]]; then
            echo "$ref: would pull $remote"
            current[$ref]=pending   # its image changes unless only the compression did
            continue
        fi
        "$CTL" pull -q "$ref" >/dev/null
    fi
    current[$ref]="$("$CTL" image inspect --format '{{.Id}}' "$ref" 2>/dev/null || true)"
done < <(jq -r '.[].Config.Image' <<<"$containers" | sort -u)

# 2. containers whose image is not their reference's any more
n=$(jq length <<<"$containers")
for ((i = 0; i < n; i++)); do
    c="$(jq ".[$i]" <<<"$containers")"
    ref="$(jq -r .Config.Image <<<"$c")" old="$(jq -r .Image <<<"$c")"
    new="${current[$ref]:-}"
    [[ -n $new && $new != "$old" ]] || continue
    name="$(jq -r '.Name | ltrimstr("/")' <<<"$c")"
    running="$(jq -r .State.Running <<<"$c")"
    # What the container had beyond its old image's defaults.
    image="$("$CTL" image inspect "$old" 2>/dev/null | jq '.[0].Config' || echo '{}')"
    [[ -n $image ]] || image='{}'
    mapfile -t args < <(jq -r --argjson img "$image" '
        def differs(f): (f // null) != ($img | f // null);
        (
        (.Config.Env // []) - ($img.Env // []) | .[] | "--env", .
      ), (
        (.Config.Labels // {}) | to_entries[] | select(($img.Labels // {})[.key] != .value) | "--label", "\(.key)=\(.value)"
      ), (
        if differs(.User) and (.Config.User // "") != "" then "--user", .Config.User else empty end
      ), (
        if .Config.WorkingDir != ($img.WorkingDir // "") and (.Config.WorkingDir // "") != "" then "--workdir", .Config.WorkingDir else empty end
      ), (
        (.HostConfig.PortBindings // {}) | to_entries[] | .key as $p | (.value // [])[] |
        "--publish", ((if (.HostIp // "") != "" then .HostIp + ":" else "" end) + (.HostPort // "") + ":" + $p)
      ), (
        (.HostConfig.Binds // [])[] | "--volume", .
      ), (
        .HostConfig.NetworkMode // "default" | select(. != "default" and . != "bridge") | "--network", .
      ), (
        .HostConfig.RestartPolicy // {} | select((.Name // "no") != "no" and (.Name // "") != "") |
        "--restart", (if .Name == "on-failure" and (.MaximumRetryCount // 0) > 0 then "on-failure:\(.MaximumRetryCount)" else .Name end)
      ), (
        if .HostConfig.Init == true then "--init" else empty end
      ), (
        if (.Config.Entrypoint // null) != ($img.Entrypoint // null) then "--entrypoint", ((.Config.Entrypoint // [""])[0]) else empty end
      )' <<<"$c")
    mapfile -t cmd < <(jq -r --argjson img "$image" '
        if (.Config.Cmd // null) != ($img.Cmd // null) or ((.Config.Entrypoint // null) != ($img.Entrypoint // null))
        then ((.Config.Entrypoint // [])[1:] + (.Config.Cmd // []))[] else empty end' <<<"$c")
    if [[ $dry == 1 ]]; then
        echo "$name: $ref ${old:7:12} -> the pulled image (dry run)"
        continue
    fi
    echo "$name: $ref ${old:7:12} -> ${new:7:12}"
    "$CTL" rm -f "$name" >/dev/null
    "$CTL" create --name "$name" "${args[@]}" "$ref" "${cmd[@]}" >/dev/null
    [[ $running == true ]] && "$CTL" start "$name" >/dev/null
done
exit 0
