#include "leak_check.hpp"

#include "core/fs.hpp"
#include "core/json.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "linux/mount.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <optional>
#include <signal.h>
#include <sstream>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace ctk::test {

namespace {

std::vector<std::string> dir_names(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        out.push_back(it->path().filename().string());
    return out;
}

// /proc files and store files come and go under our feet: a read that fails is no file.
std::optional<std::string> read_quiet(const std::string& path) {
    try {
        return read_file_if_exists(path);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

bool is_hex_id(const std::string& s) {
    return s.size() >= 12 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

bool under(const std::string& path, const std::string& dir) {
    return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                           path[dir.size()] == '/');
}

bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

// `token` occurs in `s` as a whole name: not inside a longer name.
bool has_word(const std::string& s, const std::string& token) {
    if (token.empty()) return false;
    for (size_t pos = s.find(token); pos != std::string::npos; pos = s.find(token, pos + 1)) {
        bool left = pos == 0 || !name_char(s[pos - 1]);
        size_t end = pos + token.size();
        bool right = end == s.size() || !name_char(s[end]);
        if (left && right) return true;
    }
    return false;
}

// The ctkt names tests make with their pid: ctkt-<pid>-N, ctkt<pid>, ctkt-group-<pid>...
bool has_pid_name(const std::string& s, const std::string& pid) {
    for (size_t pos = s.find("ctkt"); pos != std::string::npos; pos = s.find("ctkt", pos + 1)) {
        size_t j = pos + 4;
        while (j < s.size() && (std::islower(static_cast<unsigned char>(s[j])) || s[j] == '-'))
            ++j;
        if (s.compare(j, pid.size(), pid) == 0 &&
            (j + pid.size() == s.size() ||
             !std::isdigit(static_cast<unsigned char>(s[j + pid.size()]))))
            return true;
    }
    return false;
}

// ctk's naming patterns, for the note about objects nobody claims.
bool ctk_like(const std::string& name) {
    return name.rfind("ctk", 0) == 0 || name.rfind("veth", 0) == 0 || name.rfind("vctk", 0) == 0 ||
           name.rfind("cni-", 0) == 0;
}

std::string cgroup_relative(const std::string& path) {
    // /sys/fs/cgroup/<hierarchy>/<rest> -> <rest>
    const std::string base = "/sys/fs/cgroup/";
    if (path.rfind(base, 0) != 0) return path;
    size_t slash = path.find('/', base.size());
    return slash == std::string::npos ? "" : path.substr(slash + 1);
}

std::string read_link(const std::string& path) {
    std::error_code ec;
    auto target = fs::read_symlink(path, ec);
    return ec ? "" : target.string();
}

struct ProcInfo {
    pid_t pid = 0;
    pid_t ppid = 0;
    char state = '?';
    std::string start; // start time in clock ticks: a pid with another start is another process
    std::string cmdline;
};

std::vector<ProcInfo> list_processes() {
    std::vector<ProcInfo> out;
    for (const auto& name : dir_names("/proc")) {
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
        auto stat = read_quiet("/proc/" + name + "/stat");
        if (!stat) continue;
        size_t close = stat->rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream rest(stat->substr(close + 2));
        ProcInfo p;
        p.pid = std::stoi(name);
        std::string field;
        rest >> p.state >> p.ppid;
        for (int i = 5; i < 22 && rest >> field; ++i) {
        }                // fields 5..21
        rest >> p.start; // field 22: starttime
        auto cmd = read_quiet("/proc/" + name + "/cmdline").value_or("");
        std::replace(cmd.begin(), cmd.end(), '\0', ' ');
        while (!cmd.empty() && cmd.back() == ' ')
            cmd.pop_back();
        p.cmdline = cmd;
        out.push_back(std::move(p));
    }
    return out;
}

std::string proc_key(const ProcInfo& p) {
    return std::to_string(p.pid) + ":" + p.start;
}

int run_quiet(const std::vector<std::string>& argv) {
    RunOptions o;
    o.timeout_ms = 30000;
    try {
        return run_process(argv, o).status;
    } catch (const std::exception&) {
        return -1;
    }
}

} // namespace

HostSnapshot HostSnapshot::take() {
    HostSnapshot s;
    for (const auto& m : linux::read_mountinfo())
        ++s.mounts[m.mount_point + " (" + m.fstype + " " + m.source + " " + m.root + ")"];
    for (const auto& n : dir_names("/var/run/netns"))
        s.netns.insert(n);
    for (const auto& n : dir_names("/sys/class/net"))
        s.links.insert(n);

    RunOptions o;
    o.timeout_ms = 30000;
    ProcessResult r;
    try {
        r = run_process({"nft", "-j", "list", "ruleset"}, o);
    } catch (const std::exception&) {
        r.status = -1;
    }
    if (r.status == 0) {
        Json doc;
        try {
            doc = Json::parse(r.out);
        } catch (const std::exception&) {
        }
        if (doc.is_object() && doc.contains("nftables") && doc["nftables"].is_array())
            for (const auto& item : doc["nftables"]) {
                if (!item.is_object()) continue;
                if (item.contains("table")) {
                    const auto& t = item["table"];
                    s.nft["table " + t.value("family", "") + " " + t.value("name", "")] = t.dump();
                } else if (item.contains("rule")) {
                    const auto& ru = item["rule"];
                    s.nft["rule " + ru.value("family", "") + " " + ru.value("table", "") + " " +
                          ru.value("chain", "") + " #" + std::to_string(ru.value("handle", 0))] =
                        ru.dump();
                } else if (item.contains("set")) {
                    const auto& set = item["set"];
                    if (!set.contains("elem") || !set["elem"].is_array()) continue;
                    for (const auto& e : set["elem"]) {
                        std::string v = e.is_string() ? e.get<std::string>() : e.dump();
                        s.nft["element " + set.value("family", "") + " " + set.value("table", "") +
                              " " + set.value("name", "") + " " + v] = v;
                    }
                }
            }
    }

    for (const auto& h : dir_names("/sys/fs/cgroup")) {
        std::string top = "/sys/fs/cgroup/" + h;
        std::error_code ec;
        if (fs::is_symlink(top, ec) || !fs::is_directory(top, ec)) continue;
        for (fs::recursive_directory_iterator
                 it(top, fs::directory_options::skip_permission_denied, ec),
             end;
             !ec && it != end; it.increment(ec)) {
            std::error_code ec2;
            if (it->is_directory(ec2) && !it->is_symlink(ec2))
                s.cgroups.insert(it->path().string());
        }
    }

    for (const auto& p : list_processes())
        s.processes.insert(proc_key(p));
    return s;
}

LeakScope::LeakScope(std::string dir, std::string store_root, std::string store_run)
    : dir_(std::move(dir)), root_(std::move(store_root)), run_(std::move(store_run)),
      pid_(::getpid()) {}

LeakScope::~LeakScope() {
    stop();
}

void LeakScope::claim(const std::string& token) {
    std::lock_guard lock(mu_);
    claims_.push_back(token);
}

void LeakScope::keep(const std::string& path) {
    kept_.push_back(path);
}

bool LeakScope::kept(const std::string& path) const {
    return std::any_of(kept_.begin(), kept_.end(),
                       [&](const std::string& k) { return under(path, k); });
}

void LeakScope::watch_store() {
    if (poller_.joinable()) return;
    stop_ = false;
    poller_ = std::thread([this] {
        while (!stop_) {
            scan_store();
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    });
}

void LeakScope::stop() {
    stop_ = true;
    if (poller_.joinable()) poller_.join();
    scan_store();
}

void LeakScope::add_ids_from(const std::string& path) {
    auto text = read_quiet(path);
    if (!text) return;
    Json doc;
    try {
        doc = Json::parse(*text);
    } catch (const std::exception&) {
        return; // mid-write by someone not writing atomically: the next look sees it
    }
    std::vector<const Json*> todo = {&doc};
    std::lock_guard lock(mu_);
    while (!todo.empty()) {
        const Json* j = todo.back();
        todo.pop_back();
        if (j->is_array()) {
            for (const auto& e : *j)
                todo.push_back(&e);
        } else if (j->is_object()) {
            for (auto it = j->begin(); it != j->end(); ++it) {
                if (it->is_string()) {
                    const std::string& key = it.key();
                    std::string v = it->get<std::string>();
                    if (key == "id" || key == "Id" || key == "bridge" || key == "host_ifname") {
                        if (is_hex_id(v))
                            hex_ids_.insert(v.substr(0, 8));
                        else if (!v.empty())
                            names_.insert(v);
                    }
                } else {
                    todo.push_back(&*it);
                }
            }
        }
    }
}

void LeakScope::scan_store() {
    std::vector<std::string> hex;
    for (const auto& id : dir_names(root_ + "/containers"))
        if (is_hex_id(id)) hex.push_back(id);
    // Runtime state: ns-run's state dirs, netns files, per-container dirs, named by id.
    std::error_code ec;
    for (fs::recursive_directory_iterator
             it(run_, fs::directory_options::skip_permission_denied, ec),
         end;
         !ec && it != end; it.increment(ec)) {
        if (it.depth() >= 3) it.disable_recursion_pending();
        std::string n = it->path().filename().string();
        if (n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0) n = n.substr(0, n.size() - 5);
        if (is_hex_id(n)) hex.push_back(n);
    }
    {
        std::lock_guard lock(mu_);
        for (const auto& h : hex)
            hex_ids_.insert(h.substr(0, 8));
    }
    for (const auto& n : dir_names(root_ + "/networks"))
        if (n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0)
            add_ids_from(root_ + "/networks/" + n);
}

bool LeakScope::owns(const std::string& name) const {
    if (name.find(dir_) != std::string::npos) return true;
    if (has_pid_name(name, std::to_string(pid_))) return true;
    std::lock_guard lock(mu_);
    for (const auto& c : claims_)
        if (name.find(c) != std::string::npos) return true;
    for (const auto& h : hex_ids_)
        if (name.find(h) != std::string::npos) return true;
    for (const auto& n : names_)
        if (has_word(name, n)) return true;
    return false;
}

std::vector<Leak> LeakScope::find(const HostSnapshot& before, bool files) const {
    std::vector<Leak> leaks;
    HostSnapshot now = HostSnapshot::take();

    // Processes first: what still runs explains most of the rest.
    auto procs = list_processes();
    std::map<pid_t, pid_t> parent;
    for (const auto& p : procs)
        parent[p.pid] = p.ppid;
    for (const auto& p : procs) {
        if (p.pid == pid_ || before.processes.count(proc_key(p))) continue;
        bool descendant = false;
        for (pid_t q = p.ppid, n = 0; q > 1 && n < 64; q = parent.count(q) ? parent[q] : 0, ++n)
            if (q == pid_) descendant = true;
        std::string base = "/proc/" + std::to_string(p.pid);
        bool inside = under(read_link(base + "/cwd"), dir_) ||
                      under(read_link(base + "/root"), dir_) ||
                      p.cmdline.find(dir_) != std::string::npos;
        if (!descendant && !inside) continue;
        leaks.push_back(
            {Leak::Kind::process,
             "process " + std::to_string(p.pid) + " (state " + p.state + "): " + p.cmdline,
             std::to_string(p.pid)});
    }

    std::set<std::string> mount_points;
    for (const auto& m : linux::read_mountinfo()) {
        std::string key = m.mount_point + " (" + m.fstype + " " + m.source + " " + m.root + ")";
        bool fresh = now.mounts[key] > (before.mounts.count(key) ? before.mounts.at(key) : 0);
        bool ours = under(m.mount_point, dir_) || (fresh && owns(key));
        if (!ours || kept(m.mount_point) || !mount_points.insert(m.mount_point).second) continue;
        leaks.push_back({Leak::Kind::mount, "mount " + key, m.mount_point});
    }
    for (const auto& n : now.netns)
        if (!before.netns.count(n) && owns(n))
            leaks.push_back({Leak::Kind::netns, "network namespace /var/run/netns/" + n, n});
    for (const auto& n : now.links)
        if (!before.links.count(n) && owns(n))
            leaks.push_back({Leak::Kind::link, "network interface " + n, n});
    for (const auto& [key, text] : now.nft)
        if (!before.nft.count(key) && (owns(key) || owns(text)))
            leaks.push_back({Leak::Kind::nft, "nftables " + key + ": " + text, key});
    for (const auto& c : now.cgroups)
        if (!before.cgroups.count(c) && owns(cgroup_relative(c)))
            leaks.push_back({Leak::Kind::cgroup, "cgroup " + c, c});

    if (files) {
        // CTK_RUN holds the state of running things: once the test cleaned up,
        // only empty directories, lock files and ns-run's seccomp cache may stay.
        std::error_code ec;
        for (fs::recursive_directory_iterator
                 it(run_, fs::directory_options::skip_permission_denied, ec),
             end;
             !ec && it != end; it.increment(ec)) {
            std::string p = it->path().string();
            std::error_code ec2;
            if (it->is_directory(ec2) && !it->is_symlink(ec2)) continue;
            if (kept(p) || under(p, run_ + "/locks") || under(p, run_ + "/seccomp-cache")) continue;
            leaks.push_back({Leak::Kind::file, "file " + p, p});
        }
        // CTK_ROOT keeps images, layers, volumes...: its temporary files
        // (made next to their target, or in CTK_ROOT and CTK_ROOT/tmp) must be
        // gone. File systems of layers, containers and volumes are content.
        static const std::set<std::string> content = {"diff", "rootfs", "_data", "upper", "work", "merged"};
        for (fs::recursive_directory_iterator
                 it(root_, fs::directory_options::skip_permission_denied, ec),
             end;
             !ec && it != end; it.increment(ec)) {
            std::string p = it->path().string();
            std::string n = it->path().filename().string();
            std::error_code ec3;
            if (content.count(n) && it->is_directory(ec3)) {
                it.disable_recursion_pending();
                continue;
            }
            bool top = it.depth() == 0;
            bool temp = n.rfind(".tmp", 0) == 0 || n.find(".tmp-") != std::string::npos ||
                        n.rfind(".rootfs-", 0) == 0 ||
                        (top && (n.rfind("commit-", 0) == 0 || n.rfind("build-context-", 0) == 0)) ||
                        (n.size() > 8 && n.compare(n.size() - 8, 8, ".partial") == 0) ||
                        p == root_ + "/tmp";
            if (!temp || kept(p)) continue;
            std::error_code ec2;
            if (p == root_ + "/tmp" && fs::is_empty(p, ec2)) continue;
            if (it->is_directory(ec2)) it.disable_recursion_pending();
            leaks.push_back({Leak::Kind::file, "temporary file " + p, p});
        }
    }
    return leaks;
}

std::vector<std::string> LeakScope::unowned(const HostSnapshot& before) const {
    std::vector<std::string> out;
    HostSnapshot now = HostSnapshot::take();
    for (const auto& n : now.netns)
        if (!before.netns.count(n) && !owns(n) && ctk_like(n))
            out.push_back("network namespace " + n);
    for (const auto& n : now.links)
        if (!before.links.count(n) && !owns(n) && ctk_like(n))
            out.push_back("network interface " + n);
    for (const auto& c : now.cgroups) {
        std::string rel = cgroup_relative(c);
        std::string base = fs::path(rel).filename().string();
        if (!before.cgroups.count(c) && !owns(rel) && (ctk_like(base) || is_hex_id(base)))
            out.push_back("cgroup " + c);
    }
    return out;
}

std::vector<std::string> LeakScope::clean(const std::vector<Leak>& leaks) const {
    std::vector<std::string> failed;
    std::vector<Leak> sorted = leaks;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const Leak& a, const Leak& b) { return a.kind < b.kind; });
    // Processes: killed, then waited for (reaped when they are children).
    std::vector<pid_t> killed;
    for (const auto& l : sorted)
        if (l.kind == Leak::Kind::process) {
            pid_t pid = std::stoi(l.handle);
            if (::kill(pid, SIGKILL) == 0) killed.push_back(pid);
        }
    for (pid_t pid : killed)
        for (int i = 0; i < 200; ++i) {
            ::waitpid(pid, nullptr, WNOHANG);
            auto stat = read_quiet("/proc/" + std::to_string(pid) + "/stat");
            if (!stat || stat->find(") Z ") != std::string::npos) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    // Deepest mounts and cgroups first.
    std::vector<std::string> mounts, cgroups;
    for (const auto& l : sorted) {
        switch (l.kind) {
        case Leak::Kind::mount:
            mounts.push_back(l.handle);
            break;
        case Leak::Kind::cgroup:
            cgroups.push_back(l.handle);
            break;
        case Leak::Kind::netns:
            if (run_quiet({"ip", "netns", "del", l.handle}) != 0) failed.push_back(l.what);
            break;
        case Leak::Kind::link:
            if (run_quiet({"ip", "link", "del", l.handle}) != 0) failed.push_back(l.what);
            break;
        case Leak::Kind::nft: {
            auto w = split(l.handle, ' ');
            std::vector<std::string> argv;
            if (w.size() == 3 && w[0] == "table") argv = {"nft", "delete", "table", w[1], w[2]};
            if (w.size() == 5 && w[0] == "rule")
                argv = {"nft", "delete", "rule", w[1], w[2], w[3], "handle", w[4].substr(1)};
            if (w.size() >= 5 && w[0] == "element")
                argv = {"nft", "delete", "element", w[1], w[2], w[3], "{ " + w[4] + " }"};
            if (!argv.empty() && run_quiet(argv) != 0) failed.push_back(l.what);
            break;
        }
        default:
            break;
        }
    }
    auto deepest_first = [](const std::string& a, const std::string& b) {
        return a.size() > b.size();
    };
    std::sort(mounts.begin(), mounts.end(), deepest_first);
    for (const auto& m : mounts)
        if (::umount2(m.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
            failed.push_back("mount " + m);
    std::sort(cgroups.begin(), cgroups.end(), deepest_first);
    for (const auto& c : cgroups) {
        bool gone = false;
        for (int i = 0; i < 100 && !gone; ++i) {
            gone = ::rmdir(c.c_str()) == 0 || errno == ENOENT;
            if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        if (!gone) failed.push_back("cgroup " + c);
    }
    return failed;
}

std::string LeakScope::describe(const std::vector<Leak>& leaks) {
    std::string out;
    for (const auto& l : leaks)
        out += "\n  " + l.what;
    return out;
}

} // namespace ctk::test
