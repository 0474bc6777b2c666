#!/usr/bin/env bash
# Guest lane step (scripts/vm-lane.sh): systemd as PID 1 runs the init-system
# examples and units: examples/init/systemd (Type=notify through ns-run's
# NOTIFY_SOCKET relay), contrib/systemd (ctld socket activation, the
# ctl-container@ template). The checks: tests/vm/systemd-notify.sh.
set -euo pipefail
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
exec "$top/scripts/vm-test.sh" --run tests/vm/systemd-notify.sh
