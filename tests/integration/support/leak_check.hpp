// The leak check of the integration harness: what a test made on the host and
// left behind once its clean-ups ran. ToolTest takes a HostSnapshot when a test
// starts and compares at its end: a mount, network namespace, network
// interface, nftables rule, set element or table, cgroup (any hierarchy) or
// process that is new and carries the test's identity is a leak, and so is a
// file left in its CTK_RUN or a temporary file in its CTK_ROOT.
//
// Other programs run at the same time (meson runs two test programs at once,
// and other people run theirs), so an object counts only when it is the test's:
// a path into the test's directory, a name with the test program's pid in the
// ctkt pattern (ctkt-<pid>-N, ctkt-group-<pid>, ctkt<pid>...), or a name made
// from an id the test's store held at some point (container ids, network and
// endpoint ids, bridge and veth names: LeakScope::watch_store polls for them).
// New objects with ctk's name patterns that carry no identity are only noted.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace ctk::test {

struct HostSnapshot {
    std::map<std::string, int> mounts; // "mount_point (fstype source root)" -> count
    std::set<std::string> netns;       // names in /var/run/netns
    std::set<std::string> links;       // names in /sys/class/net
    std::map<std::string, std::string>
        nft; // "table ip ctk", "rule ip ctk guard #12", "element ip ctk bridges x" -> text
    std::set<std::string> cgroups;   // directories below /sys/fs/cgroup/<hierarchy>/
    std::set<std::string> processes; // "pid:starttime" of every process
    static HostSnapshot take();
};

struct Leak {
    enum class Kind { mount, netns, link, nft, cgroup, process, file } kind;
    std::string what;   // one line for the report
    std::string handle; // what clean() needs: a path, a name, an nft handle, a pid
};

class LeakScope {
public:
    // dir: the test's private directory; store_root/store_run: its CTK_ROOT, CTK_RUN.
    LeakScope(std::string dir, std::string store_root, std::string store_run);
    ~LeakScope();
    LeakScope(const LeakScope&) = delete;
    LeakScope& operator=(const LeakScope&) = delete;

    // Names containing `token` belong to the test (a prefix it names things with).
    void claim(const std::string& token);
    // Paths at or below `path` may stay (the test keeps them on purpose).
    void keep(const std::string& path);
    // Starts polling the store for ids every few milliseconds; stop() ends it
    // after a last look. Ids are collected, never forgotten.
    void watch_store();
    void stop();
    // Collects the ids the store holds now.
    void scan_store();

    bool owns(const std::string& name) const;
    // What is new since `before` and the test's. files: also look at CTK_ROOT/CTK_RUN.
    std::vector<Leak> find(const HostSnapshot& before, bool files = true) const;
    // New ctk-looking objects that carry no identity of the test (a note, not a failure).
    std::vector<std::string> unowned(const HostSnapshot& before) const;
    // Removes what find() reported (processes killed first). Returns what failed.
    std::vector<std::string> clean(const std::vector<Leak>& leaks) const;

    static std::string describe(const std::vector<Leak>& leaks);

private:
    bool kept(const std::string& path) const;
    void add_ids_from(const std::string& path);

    std::string dir_, root_, run_;
    pid_t pid_;
    std::vector<std::string> kept_;
    mutable std::mutex mu_;
    std::set<std::string> hex_ids_; // ids seen in the store: 8-char prefixes of hex ids
    std::set<std::string> names_;   // exact names: bridges, host veths, container names of ids
    std::vector<std::string> claims_;
    std::atomic<bool> stop_{false};
    std::thread poller_;
};

} // namespace ctk::test
