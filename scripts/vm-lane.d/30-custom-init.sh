#!/usr/bin/env bash
# Guest lane step (scripts/vm-lane.sh): a guest whose PID 1 is
# examples/init/custom-init.sh (no systemd): it mounts what it needs, makes a
# bridge with net-bridge, starts two containers with ns-run and exits 0 when
# the client container fetched the server container's page over the bridge.
set -euo pipefail
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
exec "$top/scripts/vm-test.sh" --init examples/init/custom-init.sh
