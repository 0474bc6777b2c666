// What ctld's connections wait for: a container started, exited (with which
// status) or removed. ctld keeps no container state of its own beyond this
// (the store and ns-run hold it); after a restart the hub is rebuilt from the
// runtime's states.
//
// The exit of a running container is seen through a pidfd of its process
// (one epoll thread for all of them); the status then comes from the
// runtime's record (`ns-run wait`), written by the container's monitor after
// it has flushed the last log line.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "core/fd.hpp"

namespace ctk::api {

// A level an eventfd wakes: poll fd(), then call clear() and re-read the state.
class Wakeup {
public:
    Wakeup();
    int fd() const { return efd_.get(); }
    void notify();
    void clear();

private:
    UniqueFd efd_;
};

struct ContainerSignals {
    uint64_t starts = 0;
    uint64_t exits = 0;
    int exit_code = 0;
    bool removed = false;
};

class Hub {
public:
    // Registers `w` for changes of container `id` until the returned handle goes.
    std::shared_ptr<void> listen(const std::string& id, std::shared_ptr<Wakeup> w);
    ContainerSignals get(const std::string& id);
    void started(const std::string& id);
    void exited(const std::string& id, int code);
    void removed(const std::string& id);
    // Wakes every listener of `id` (a change it should look up itself).
    void poke(const std::string& id);

private:
    void notify(const std::string& id);
    std::mutex m_;
    std::map<std::string, ContainerSignals> signals_;
    unsigned removed_since_sweep_ = 0;
    std::multimap<std::string, std::weak_ptr<Wakeup>> listeners_;
};

// Calls on_exit(id) (on a thread of its own) once the process `pid` of
// container `id` has ended. A pid that is already gone counts as ended.
class ExitWatcher {
public:
    explicit ExitWatcher(std::function<void(const std::string&)> on_exit);
    ~ExitWatcher();
    void watch(const std::string& id, pid_t pid);
    bool watching(const std::string& id);

private:
    void loop();
    std::function<void(const std::string&)> on_exit_;
    UniqueFd epoll_;
    UniqueFd stop_;
    std::mutex m_;
    std::map<int, std::pair<std::string, UniqueFd>> by_fd_;
    std::set<std::string> ids_;
    std::thread thread_;
};

} // namespace ctk::api
