// CVE-2019-5736: a container must never reach the runtime's own binary in a
// writable way. Every ns-run process that enters a container was forked from
// one that runs the binary through a read-only, detached bind mount of itself
// (or, where the mount API is missing, a sealed memfd copy). /proc/PID/exe of
// such a process, and anything re-executed through it, is that read-only file:
// opening it for writing fails with EROFS (or EPERM on the sealed copy).
#pragma once

namespace ctk::container {

// Whether /proc/self/exe is on a read-only mount or a write-sealed memfd.
bool exe_is_protected();

// Re-executes the running program (same argv and environment) from a
// protected copy of itself unless it already runs from one. Returns only when
// the process is protected. Call it first thing in main, before any work.
void ensure_protected_exe(char** argv);

} // namespace ctk::container
