#!/usr/bin/env bash
# usage: examples/admin/ports-health.sh
#   Every container (running or not) as one JSON array on stdout:
#   [{"name": "web", "id": "…", "image": "…", "state": "running",
#     "ports": [{"container": "80/tcp", "host_ip": "127.0.0.1", "host_port": "8080"}],
#     "health": "none"}, …]
#   ports: the published ones (HostConfig.PortBindings, as `docker port`
#   shows them). health: State.Health.Status as `ctl inspect` gives it, or
#   "none" when the container has no health state. ctk has no healthchecks
#   today, so every container says "none"; the field is here so that scripts
#   written against docker's inspect keep working.
set -euo pipefail
# shellcheck source=examples/admin/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[[ $# -eq 0 ]] || { sed -n '2,12s/^# \{0,1\}//p' "$0" >&2; exit 2; }
CTL="$(tool ctl)"
mapfile -t ids < <("$CTL" ps -a -q --no-trunc)
if [[ ${#ids[@]} -eq 0 ]]; then echo '[]'; exit 0; fi
"$CTL" inspect "${ids[@]}" | jq '[.[] | {
    name: (.Name | ltrimstr("/")),
    id: .Id,
    image: .Config.Image,
    state: .State.Status,
    ports: [(.HostConfig.PortBindings // {}) | to_entries[] | .key as $p | (.value // [])[] |
            {container: $p, host_ip: (.HostIp // ""), host_port: (.HostPort // "")}],
    health: (.State.Health.Status // "none")
  }]'
