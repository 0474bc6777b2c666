// Processes as the runtime handles them: clone3, pidfds, signals by name,
// rlimits by name, and the start time that tells a live pid from a reused one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <utility>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/fd.hpp"

namespace ctk::linux {

struct CloneArgs {
    uint64_t flags = 0;     // CLONE_NEW* and friends; CLONE_PIDFD is added by clone3()
    int cgroup_fd = -1;     // >= 0: CLONE_INTO_CGROUP (cgroup v2 directory fd)
};

struct Cloned {
    pid_t pid = -1;         // 0 in the child
    UniqueFd pidfd;         // the parent's pidfd of the child
};

// clone3(2) without CLONE_VM: a fork whose child starts in new namespaces
// (and, with cgroup_fd, directly in its cgroup). Returns pid 0 in the child.
// The caller must be single-threaded. glibc's cached thread id is stale in the
// child, which only matters for pthread internals; raise() and abort() ask the
// kernel for the tid since glibc 2.34.
Cloned clone3(const CloneArgs& args);

// pidfd_open(2); throws not_found when the process is gone.
UniqueFd pidfd_open(pid_t pid);
// The same, empty (errno set) instead of throwing.
UniqueFd try_pidfd_open(pid_t pid);
// pidfd_send_signal(2); returns false when the process has already exited.
bool pidfd_send_signal(int pidfd, int sig);

// Field 22 of /proc/<pid>/stat (clock ticks since boot), nullopt when the
// process does not exist. With the pid it names one process for good.
std::optional<uint64_t> process_start_time(pid_t pid);
// Whether pid runs and is the process that started at start_time (0: any).
bool process_alive(pid_t pid, uint64_t start_time);

// process_alive for a long-lived reader that asks about the same processes
// again and again (ctld listing a thousand containers): a process once found
// alive is held by a pidfd, which names it for good, and is asked again with
// one poll(2) instead of reading /proc/<pid>/stat. Thread-safe.
class AliveCache {
public:
    bool alive(pid_t pid, uint64_t start_time);
    // Lets go of the processes not asked about since the last sweep.
    void sweep();
    size_t held() const;

private:
    struct Held {
        UniqueFd pidfd;
        bool asked = true;
    };
    mutable std::mutex mutex_;
    std::map<std::pair<pid_t, uint64_t>, Held> held_;
};

// "KILL", "SIGKILL", "9", "SIGRTMIN+2", "RTMAX-1" -> signal number; throws invalid.
int parse_signal(std::string_view name);
std::string signal_name(int sig);

// "RLIMIT_NOFILE" -> RLIMIT_NOFILE; nullopt when unknown.
std::optional<int> parse_rlimit(std::string_view name);

// This process's read-only file mappings that hold no copied pages (its
// program's code and constants). drop_pages() removes their page-table
// entries: pages used again come back on the next fault, the rest (start-up
// code, everything a long idle loop never runs) stops counting as the
// process's memory. The page cache is left alone.
std::vector<std::pair<uintptr_t, size_t>> droppable_file_pages();
void drop_pages(const std::vector<std::pair<uintptr_t, size_t>>& ranges);

// Closes every fd >= 3 that is not in `keep` (close_range(2) over the gaps).
void close_fds_except(std::vector<int> keep);

// Marks every fd >= first close-on-exec (close_range(2) CLOSE_RANGE_CLOEXEC).
void cloexec_from(int first);

} // namespace ctk::linux
