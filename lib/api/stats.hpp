// GET /containers/{id}/stats: Docker's stats object from the container's
// cgroups (v1, v2 or the hybrid layout, found through /proc/PID/cgroup of its
// first process) and its network namespace's /proc/PID/net/dev.
#pragma once

#include "api/daemon.hpp"

namespace ctk::api {

// One sample: cpu_stats, memory_stats, pids_stats, networks (pid 0: zeros).
Json stats_sample(pid_t pid);

void container_stats(Daemon& d, Request& req, Response& res);

} // namespace ctk::api
