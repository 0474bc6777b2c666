// The monitor of a detached container: the parent of its first process, it
// writes the stdio log, reaps the process and records the exit in state.json.
// It re-executes the binary into this small loop so its memory is only what
// the loop touches (the goal: under 1 MiB private).
#pragma once

#include <sys/types.h>

#include <string>

#include "container/state.hpp"

namespace ctk::container {

// Records exitCode and finished (no-op when the container was deleted meanwhile).
void record_exit(const StateStore& store, const std::string& id, int status);

// Replaces the calling process (the container process's parent) by the
// monitor loop. stdio goes to /dev/null. Never returns.
[[noreturn]] void become_monitor(const StateStore& store, const std::string& id, pid_t pid,
                                 const std::string& stdio_log, int out, int err);

// The loop itself (also used when re-executing fails).
[[noreturn]] void monitor_loop(const StateStore& store, const std::string& id, pid_t pid,
                               const std::string& stdio_log, int out, int err);

} // namespace ctk::container
