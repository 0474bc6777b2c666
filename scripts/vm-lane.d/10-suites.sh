#!/usr/bin/env bash
# Guest lane step (scripts/vm-lane.sh): the unit suite and the cgroup-v2
# relevant integration programs in a Debian 12 guest with pure cgroup v2.
set -euo pipefail
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
exec "$top/scripts/vm-test.sh" unit
