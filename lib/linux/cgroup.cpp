#include "linux/cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "linux/device_filter.hpp"
#include "linux/mount.hpp"

namespace ctk::linux::cgroup {

namespace {

constexpr const char* v1_controllers[] = {"cpu",     "cpuacct", "cpuset",  "memory",  "devices",
                                          "freezer", "net_cls", "net_prio", "blkio",  "perf_event",
                                          "hugetlb", "pids",    "rdma",    "misc",    "debug"};

bool is_v1_controller(const std::string& s) {
    for (const char* c : v1_controllers)
        if (s == c) return true;
    return s.rfind("name=", 0) == 0;
}

std::string join_path(const std::string& a, const std::string& b) {
    if (b.empty() || b == "/") return a.empty() ? "/" : a;
    std::string out = a;
    while (!out.empty() && out.back() == '/') out.pop_back();
    if (b[0] != '/') out += '/';
    out += b;
    return out;
}

std::string dir_of(const std::string& mount_point, const std::string& mount_root,
                   const std::string& path) {
    std::string rel = path;
    if (mount_root != "/" && (rel == mount_root || rel.rfind(mount_root + "/", 0) == 0))
        rel = rel.substr(mount_root.size());
    return join_path(mount_point, rel);
}

std::string read_text(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("read", path);
    return read_fd(fd.get(), 1 << 20);
}

std::optional<std::string> read_if(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    return read_fd(fd.get(), 1 << 20);
}

// Writes one value to a cgroup file. ENOENT means the kernel lacks the file.
bool write_value(const std::string& dir, const std::string& file, const std::string& value,
                 bool missing_ok = false) {
    std::string path = dir + "/" + file;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd) {
        if (missing_ok && errno == ENOENT) return false;
        throw_errno("open cgroup file", path);
    }
    if (::write(fd.get(), value.data(), value.size()) < 0) {
        int err = errno;
        throw Error("write " + quote(value) + " to " + quote(path) + ": " + errno_text(err),
                    err == EBUSY ? ErrorKind::conflict : ErrorKind::failed, err);
    }
    return true;
}


// mkdir -p; returns the directories it made (outermost first).
std::vector<std::string> make_path(const std::string& dir) {
    std::vector<std::string> made;
    std::vector<std::string> missing;
    std::string p = dir;
    while (!p.empty() && p != "/") {
        struct stat st {};
        if (::stat(p.c_str(), &st) == 0) break;
        missing.push_back(p);
        p = p.substr(0, p.rfind('/'));
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        if (::mkdir(it->c_str(), 0755) < 0 && errno != EEXIST) throw_errno("create cgroup", *it);
        made.push_back(*it);
    }
    return made;
}

std::string parent_of(const std::string& dir) { return dir.substr(0, dir.rfind('/')); }

std::string trimmed(const std::string& s) { return std::string(trim(s)); }

std::string num(int64_t v) { return std::to_string(v); }
std::string unum(uint64_t v) { return std::to_string(v); }

// The controllers a set of resources needs on cgroup v2.
std::vector<std::string> needed_v2(const oci::Resources* r) {
    std::vector<std::string> out;
    if (!r) return out;
    auto add = [&](const std::string& c) {
        if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
    };
    if (r->memory && (r->memory->limit || r->memory->reservation || r->memory->swap)) add("memory");
    if (r->cpu && (r->cpu->shares || r->cpu->quota || r->cpu->period || r->cpu->burst || r->cpu->idle))
        add("cpu");
    if (r->cpu && (!r->cpu->cpus.empty() || !r->cpu->mems.empty())) add("cpuset");
    if (r->pids) add("pids");
    if (r->extra.contains("blockIO")) add("io");
    if (r->extra.contains("hugepageLimits") && !r->extra["hugepageLimits"].empty()) add("hugetlb");
    for (const auto& [key, value] : r->unified) {
        auto dot = key.find('.');
        if (dot == std::string::npos) continue;
        std::string c = key.substr(0, dot);
        if (c != "cgroup") add(c);
    }
    return out;
}

std::vector<std::string> words(const std::string& s) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == ' ' || c == '\n' || c == '\t') {
            if (!cur.empty()) out.push_back(std::move(cur));
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

bool contains_word(const std::string& list, const std::string& w) {
    for (const auto& x : words(list))
        if (x == w) return true;
    return false;
}

void collect_pids(const std::string& dir, std::vector<pid_t>& out) {
    if (auto procs = read_if(dir + "/cgroup.procs"))
        for (const auto& w : words(*procs))
            if (auto n = parse_uint(w)) out.push_back(static_cast<pid_t>(*n));
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;
    while (auto* e = ::readdir(d)) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
        collect_pids(dir + "/" + e->d_name, out);
    }
    ::closedir(d);
}

void sleep_ms(int ms) {
    struct timespec ts {ms / 1000, (ms % 1000) * 1000000L};
    ::nanosleep(&ts, nullptr);
}

// Removes a cgroup directory and the child cgroups a container may have made.
void remove_dir(const std::string& dir) {
    if (DIR* d = ::opendir(dir.c_str())) {
        std::vector<std::string> children;
        while (auto* e = ::readdir(d))
            if (e->d_type == DT_DIR && e->d_name[0] != '.') children.push_back(dir + "/" + e->d_name);
        ::closedir(d);
        for (const auto& c : children) remove_dir(c);
    }
    // Tasks that just exited leave the cgroup a moment later.
    for (int attempt = 0;; attempt++) {
        if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
        if (errno != EBUSY || attempt >= 200) throw_errno("remove cgroup", dir);
        sleep_ms(attempt < 20 ? 1 : 10);
    }
}

bool cgroup_delegated(const std::string& dir) {
    // systemd marks the cgroup of a unit with Delegate=yes (trusted.*: the
    // system manager, user.*: a user's manager).
    for (const char* name : {"trusted.delegate", "user.delegate"}) {
        char value[8] {};
        ssize_t n = ::getxattr(dir.c_str(), name, value, sizeof value - 1);
        if (n > 0 && value[0] == '1') return true;
    }
    return false;
}

bool systemd_unit_cgroup(const std::string& dir) {
    std::string name = dir.substr(dir.rfind('/') + 1);
    for (const char* suffix : {".service", ".scope", ".slice"})
        if (name.size() > std::strlen(suffix) && name.ends_with(suffix)) return true;
    return false;
}

// cgroup v2's no-internal-process rule: `dir` (the caller's own cgroup) can
// enable `add` in cgroup.subtree_control only once no process lives in it. Its
// processes (ns-run among them) move into the leaf child callers_leaf.
void vacate_for_controllers(const std::string& dir, const std::string& add) {
    auto procs = [&] { return words(read_if(dir + "/cgroup.procs").value_or("")); };
    if (procs().empty()) return;
    if (systemd_unit_cgroup(dir) && !cgroup_delegated(dir))
        throw Error("cgroup v2: cannot enable " + quote(add) + " in " + quote(dir) +
                        ": it holds the caller's processes and is a systemd unit not delegated to it "
                        "(run ns-run in a unit with Delegate=yes, e.g. systemd-run --scope -p "
                        "Delegate=yes, or give an absolute cgroupsPath)",
                    ErrorKind::conflict, EBUSY);
    std::string leaf = dir + "/" + callers_leaf;
    if (::mkdir(leaf.c_str(), 0755) < 0 && errno != EEXIST) throw_errno("create cgroup", leaf);
    // Processes fork meanwhile: repeat until none is left (a few rounds).
    for (int round = 0; round < 20; round++) {
        auto pids = procs();
        if (pids.empty()) return;
        for (const auto& pid : pids) {
            UniqueFd fd(::open((leaf + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
            if (!fd) throw_errno("open cgroup file", leaf + "/cgroup.procs");
            if (::write(fd.get(), pid.data(), pid.size()) < 0 && errno != ESRCH)
                throw Error("move process " + pid + " from " + quote(dir) + " into " + quote(leaf) + ": " +
                                errno_text(errno),
                            ErrorKind::failed, errno);
        }
    }
    if (!procs().empty())
        throw Error("cgroup v2: " + quote(dir) + " still holds processes after moving them into " + quote(leaf),
                    ErrorKind::conflict, EBUSY);
}

} // namespace

const char* mode_name(Mode m) {
    switch (m) {
    case Mode::v1: return "v1";
    case Mode::v2: return "v2";
    case Mode::hybrid: return "hybrid";
    }
    return "?";
}

std::string Hierarchy::dir(const std::string& path) const { return dir_of(mount_point, mount_root, path); }
bool Hierarchy::has(const std::string& c) const {
    return std::find(controllers.begin(), controllers.end(), c) != controllers.end();
}

Layout Layout::detect(const std::string& mountinfo, const std::string& self_cgroup) {
    Layout layout;
    // the live table: only its cgroup mounts, not every mount formatted
    constexpr uint64_t cgroup_magic = 0x27e0eb, cgroup2_magic = 0x63677270;
    std::vector<MountInfo> mounts = mountinfo == "/proc/self/mountinfo"
                                        ? read_mounts_of({{cgroup_magic, "cgroup"}, {cgroup2_magic, "cgroup2"}})
                                        : read_mountinfo(mountinfo);
    for (const auto& m : mounts) {
        if (m.fstype == "cgroup") {
            Hierarchy h;
            h.mount_point = m.mount_point;
            h.mount_root = m.root;
            for (const auto& o : split(m.super_options, ','))
                if (is_v1_controller(o)) h.controllers.push_back(o);
            if (h.controllers.empty()) continue;
            std::sort(h.controllers.begin(), h.controllers.end());
            bool dup = false;
            for (const auto& e : layout.hierarchies) dup |= !e.unified && e.controllers == h.controllers;
            if (!dup) layout.hierarchies.push_back(std::move(h));
        } else if (m.fstype == "cgroup2") {
            bool dup = false;
            for (const auto& e : layout.hierarchies) dup |= e.unified;
            if (dup) continue;
            Hierarchy h;
            h.mount_point = m.mount_point;
            h.mount_root = m.root;
            h.unified = true;
            if (auto c = read_if(m.mount_point + "/cgroup.controllers")) h.controllers = words(*c);
            layout.hierarchies.push_back(std::move(h));
        }
    }
    // /proc/self/cgroup: "4:memory:/a/b", "1:name=systemd:/", "0::/"
    std::string self = read_file(self_cgroup, 1 << 20);
    for (const auto& line : split(self, '\n')) {
        auto first = line.find(':');
        auto second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) continue;
        std::string ctrls = line.substr(first + 1, second - first - 1);
        std::string path = line.substr(second + 1);
        if (ctrls.empty()) {
            for (auto& h : layout.hierarchies)
                if (h.unified) h.own = path;
            continue;
        }
        auto set = split(ctrls, ',');
        std::sort(set.begin(), set.end());
        for (auto& h : layout.hierarchies)
            if (!h.unified && h.controllers == set) h.own = path;
    }
    bool v1 = false, v2 = false;
    for (const auto& h : layout.hierarchies) (h.unified ? v2 : v1) = true;
    if (!v1 && !v2) throw Error("no cgroup hierarchy is mounted", ErrorKind::failed);
    layout.mode = v1 && v2 ? Mode::hybrid : v1 ? Mode::v1 : Mode::v2;
    // A hierarchy the caller is not listed in (not ours to use) is left out.
    std::erase_if(layout.hierarchies, [](const Hierarchy& h) { return h.own.empty(); });
    return layout;
}

Layout Layout::unified_at(const std::string& root, const std::string& own) {
    Layout layout;
    layout.mode = Mode::v2;
    Hierarchy h;
    h.mount_point = root;
    h.unified = true;
    h.own = own;
    if (auto c = read_if(root + "/cgroup.controllers")) h.controllers = words(*c);
    layout.hierarchies.push_back(std::move(h));
    return layout;
}

const Hierarchy* Layout::unified() const {
    for (const auto& h : hierarchies)
        if (h.unified) return &h;
    return nullptr;
}

const Hierarchy* Layout::find(const std::string& controller) const {
    for (const auto& h : hierarchies)
        if (!h.unified && h.has(controller)) return &h;
    for (const auto& h : hierarchies)
        if (h.unified && h.has(controller)) return &h;
    return nullptr;
}

std::string Cgroup::Dir::dir() const { return dir_of(mount_point, mount_root, path); }
bool Cgroup::Dir::has(const std::string& c) const {
    return std::find(controllers.begin(), controllers.end(), c) != controllers.end();
}

Cgroup Cgroup::plan(const Layout& layout, const std::string& cgroups_path, const std::string& id) {
    std::string rel = cgroups_path.empty() ? id : cgroups_path;
    if (rel.find(':') != std::string::npos && rel.find('/') == std::string::npos)
        throw_invalid("cgroupsPath " + quote(cgroups_path) +
                      ": systemd slice:prefix:name paths are not supported (use a path)");
    for (const auto& part : split(rel, '/'))
        if (part == "..") throw_invalid("cgroupsPath " + quote(cgroups_path) + " must not contain \"..\"");
    bool absolute = rel[0] == '/';
    Cgroup cg;
    cg.mode_ = layout.mode;
    for (const auto& h : layout.hierarchies) {
        Dir d;
        d.mount_point = h.mount_point;
        d.mount_root = h.mount_root;
        d.controllers = h.controllers;
        d.unified = h.unified;
        std::string base = h.own;
        if (h.unified && base != "/" && base.substr(base.rfind('/') + 1) == callers_leaf)
            base = parent_of(base).empty() ? "/" : parent_of(base);
        d.path = absolute ? rel : join_path(base, rel);
        if (!absolute && h.unified) d.base = base;
        if (d.path == h.own || d.path == base || d.path == "/")
            throw_invalid("cgroupsPath " + quote(cgroups_path) + " names an existing cgroup of the caller");
        cg.dirs_.push_back(std::move(d));
    }
    return cg;
}

const Cgroup::Dir* Cgroup::unified() const {
    for (const auto& d : dirs_)
        if (d.unified) return &d;
    return nullptr;
}

const Cgroup::Dir* Cgroup::find(const std::string& controller) const {
    for (const auto& d : dirs_)
        if (!d.unified && d.has(controller)) return &d;
    for (const auto& d : dirs_)
        if (d.unified && d.has(controller)) return &d;
    return nullptr;
}

void Cgroup::create(const oci::Resources* resources) {
    for (const auto& d : dirs_) {
        std::string dir = d.dir();
        if (!d.unified) {
            auto made = make_path(dir);
            // A new v1 cpuset starts with no cpus and no mems; tasks cannot join
            // it until they are copied from the parent.
            if (d.has("cpuset")) {
                for (const auto& m : made) {
                    for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
                        auto cur = read_if(m + "/" + f);
                        if (cur && trimmed(*cur).empty()) {
                            auto parent = read_if(parent_of(m) + "/" + f);
                            if (parent && !trimmed(*parent).empty())
                                write_value(m, f, trimmed(*parent));
                        }
                    }
                }
            }
            continue;
        }
        // v2: enable what the resources need in every ancestor, top down. Where
        // processes live the "no internal processes" rule forbids it, which is
        // only an error when a resource needs the controller.
        auto needed = needed_v2(resources);
        // Hybrid: what a v1 hierarchy provides is not the unified one's job.
        std::erase_if(needed, [&](const std::string& c) {
            for (const auto& other : dirs_)
                if (!other.unified && other.has(c == "io" ? "blkio" : c)) return true;
            return false;
        });
        make_path(dir);
        if (needed.empty()) continue;
        std::string root = dir_of(d.mount_point, d.mount_root, "/");
        std::vector<std::string> levels;
        for (std::string p = parent_of(dir); p.size() >= root.size() && p.rfind(root, 0) == 0;
             p = parent_of(p)) {
            levels.push_back(p);
            if (p == root) break;
        }
        std::reverse(levels.begin(), levels.end());
        for (const auto& level : levels) {
            auto enabled = read_if(level + "/cgroup.subtree_control").value_or("");
            auto avail = read_if(level + "/cgroup.controllers").value_or("");
            std::string add;
            for (const auto& c : needed) {
                if (contains_word(enabled, c)) continue;
                if (!contains_word(avail, c))
                    throw Error("cgroup v2: controller " + quote(c) + " is not available in " +
                                    quote(level) + " (the resources in config.json need it)",
                                ErrorKind::failed);
                add += (add.empty() ? "+" : " +") + c;
            }
            if (add.empty()) continue;
            if (!d.base.empty() && level == dir_of(d.mount_point, d.mount_root, d.base))
                vacate_for_controllers(level, add);
            try {
                write_value(level, "cgroup.subtree_control", add);
            } catch (const Error& e) {
                if (e.error_number() == EBUSY)
                    throw Error("cgroup v2: cannot enable " + quote(add) + " in " + quote(level) +
                                    ": it holds processes (the no-internal-process rule); run "
                                    "from a leaf cgroup or give an absolute cgroupsPath",
                                ErrorKind::conflict, EBUSY);
                throw;
            }
        }
    }
}

std::vector<oci::DeviceCgroup> default_device_rules() {
    auto rule = [](const char* type, int64_t major, int64_t minor) {
        oci::DeviceCgroup d;
        d.allow = true;
        d.type = type;
        if (major >= 0) d.major = major;
        if (minor >= 0) d.minor = minor;
        d.access = "rwm";
        return d;
    };
    std::vector<oci::DeviceCgroup> out;
    oci::DeviceCgroup mknod_c;
    mknod_c.allow = true;
    mknod_c.type = "c";
    mknod_c.access = "m";
    oci::DeviceCgroup mknod_b = mknod_c;
    mknod_b.type = "b";
    out.push_back(mknod_c);
    out.push_back(mknod_b);
    out.push_back(rule("c", 1, 3));   // null
    out.push_back(rule("c", 1, 5));   // zero
    out.push_back(rule("c", 1, 7));   // full
    out.push_back(rule("c", 1, 8));   // random
    out.push_back(rule("c", 1, 9));   // urandom
    out.push_back(rule("c", 5, 0));   // tty
    out.push_back(rule("c", 5, 1));   // console
    out.push_back(rule("c", 5, 2));   // ptmx
    out.push_back(rule("c", 136, -1)); // pts
    return out;
}

namespace {

std::vector<oci::DeviceCgroup> effective_device_rules(const std::vector<oci::DeviceCgroup>& spec,
                                                      const std::vector<oci::Device>& devices) {
    std::vector<oci::DeviceCgroup> rules = spec;
    for (auto& r : default_device_rules()) rules.push_back(r);
    for (const auto& d : devices) {
        oci::DeviceCgroup r;
        r.allow = true;
        r.type = d.type == "u" ? "c" : d.type;
        if (r.type == "p") continue; // a FIFO needs no device permission
        r.major = d.major;
        r.minor = d.minor;
        r.access = "rwm";
        rules.push_back(r);
    }
    return rules;
}

std::string v1_device_rule(const oci::DeviceCgroup& r) {
    std::string type = r.type.empty() ? "a" : r.type;
    std::string major = r.major && *r.major >= 0 ? std::to_string(*r.major) : "*";
    std::string minor = r.minor && *r.minor >= 0 ? std::to_string(*r.minor) : "*";
    std::string access = r.access.empty() ? "rwm" : r.access;
    return type + " " + major + ":" + minor + " " + access;
}

template <typename T> T get_or(const Json& j, const char* key, T fallback) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    return it->get<T>();
}

} // namespace

void Cgroup::apply(const oci::Resources& r, const std::vector<oci::Device>& devices,
                   const std::function<void(const std::string&)>& warn) {
    apply_limits(r, warn);
    // v1 device rules (v2 uses apply_device_filter).
    if (const Dir* d = find("devices"); d && !d->unified) {
        for (const auto& rule : effective_device_rules(r.devices, devices))
            write_value(d->dir(), rule.allow ? "devices.allow" : "devices.deny", v1_device_rule(rule));
    }
}

void Cgroup::apply_limits(const oci::Resources& r, const std::function<void(const std::string&)>& warn) {
    auto need = [&](const std::string& controller) -> const Dir& {
        const Dir* d = find(controller);
        if (!d)
            throw Error("cgroup controller " + quote(controller) +
                            " is not available here (the resources in config.json need it)",
                        ErrorKind::failed);
        return *d;
    };
    auto write = [&](const Dir& d, const std::string& file, const std::string& value) {
        write_value(d.dir(), file, value);
    };
    auto write_opt = [&](const Dir& d, const std::string& file, const std::string& value) {
        if (!write_value(d.dir(), file, value, true))
            warn("cgroup file " + quote(d.dir() + "/" + file) + " does not exist: " + file +
                 " not applied");
    };

    if (r.memory) {
        const auto& m = *r.memory;
        if (m.limit || m.reservation || m.swap || m.swappiness || m.disable_oom_killer || m.kernel_tcp) {
            const Dir& d = need("memory");
            if (!d.unified) {
                // memory+swap may never be below memory: when both change, the
                // order that keeps the pair valid depends on the values now set
                // (runc does the same for `update`).
                bool swap_first = false;
                if (m.limit && m.swap && *m.swap >= 0) {
                    auto now = read_if(d.dir() + "/memory.memsw.limit_in_bytes");
                    auto cur = now ? parse_uint(trimmed(*now)) : std::nullopt;
                    swap_first = cur && *m.limit > 0 && static_cast<uint64_t>(*m.limit) > *cur;
                }
                if (m.swap && swap_first) write_opt(d, "memory.memsw.limit_in_bytes", num(*m.swap));
                if (m.limit) write(d, "memory.limit_in_bytes", num(*m.limit));
                if (m.reservation) write(d, "memory.soft_limit_in_bytes", num(*m.reservation));
                if (m.swap && !swap_first) write_opt(d, "memory.memsw.limit_in_bytes", num(*m.swap));
                if (m.kernel_tcp) write_opt(d, "memory.kmem.tcp.limit_in_bytes", num(*m.kernel_tcp));
                if (m.swappiness && *m.swappiness <= 100) write(d, "memory.swappiness", unum(*m.swappiness));
                if (m.disable_oom_killer && *m.disable_oom_killer) write(d, "memory.oom_control", "1");
            } else {
                if (m.limit) write(d, "memory.max", *m.limit < 0 ? "max" : num(*m.limit));
                if (m.reservation) write(d, "memory.low", *m.reservation < 0 ? "max" : num(*m.reservation));
                if (m.swap) {
                    std::string v = swap_to_v2(*m.swap, m.limit);
                    if (!v.empty()) write_opt(d, "memory.swap.max", v);
                }
                if (m.swappiness) warn("memory.swappiness has no cgroup v2 equivalent: ignored");
                if (m.disable_oom_killer && *m.disable_oom_killer)
                    warn("memory.disableOOMKiller has no cgroup v2 equivalent: ignored");
                if (m.kernel_tcp) warn("memory.kernelTCP has no cgroup v2 equivalent: ignored");
            }
        }
    }
    if (r.cpu) {
        const auto& c = *r.cpu;
        if (c.shares || c.quota || c.period || c.burst || c.realtime_runtime || c.realtime_period || c.idle) {
            const Dir& d = need("cpu");
            if (!d.unified) {
                if (c.shares) write(d, "cpu.shares", unum(*c.shares));
                if (c.period) write(d, "cpu.cfs_period_us", unum(*c.period));
                if (c.quota) write(d, "cpu.cfs_quota_us", num(*c.quota));
                if (c.burst) write_opt(d, "cpu.cfs_burst_us", num(*c.burst));
                if (c.realtime_period) write_opt(d, "cpu.rt_period_us", unum(*c.realtime_period));
                if (c.realtime_runtime) write_opt(d, "cpu.rt_runtime_us", num(*c.realtime_runtime));
                if (c.idle) write_opt(d, "cpu.idle", num(*c.idle));
            } else {
                if (c.shares) write(d, "cpu.weight", unum(cpu_shares_to_weight(*c.shares)));
                if (c.quota || c.period) {
                    std::string quota = c.quota && *c.quota > 0 ? num(*c.quota) : "max";
                    write(d, "cpu.max", quota + " " + unum(c.period && *c.period ? *c.period : 100000));
                }
                if (c.burst) write_opt(d, "cpu.max.burst", num(*c.burst));
                if (c.idle) write_opt(d, "cpu.idle", num(*c.idle));
                if (c.realtime_runtime || c.realtime_period)
                    throw_invalid("cpu.realtimeRuntime/realtimePeriod are not supported on cgroup v2");
            }
        }
        if (!c.cpus.empty() || !c.mems.empty()) {
            const Dir& d = need("cpuset");
            if (!c.cpus.empty()) write(d, "cpuset.cpus", c.cpus);
            if (!c.mems.empty()) write(d, "cpuset.mems", c.mems);
        }
    }
    if (r.pids) {
        const Dir& d = need("pids");
        write(d, "pids.max", r.pids->limit > 0 ? num(r.pids->limit) : "max");
    }
    if (auto it = r.extra.find("blockIO"); it != r.extra.end() && it->is_object()) {
        const Json& b = *it;
        const Dir& d = need(find("blkio") ? "blkio" : "io");
        auto dev = [](const Json& e) {
            return std::to_string(get_or<int64_t>(e, "major", 0)) + ":" +
                   std::to_string(get_or<int64_t>(e, "minor", 0));
        };
        // each throttle's v1 file and io.max key
        const struct {
            const char* key;
            const char* v1_file;
            const char* v2_key;
        } throttles[] = {{"throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps"},
                         {"throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps"},
                         {"throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops"},
                         {"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops"}};
        if (!d.unified) {
            if (auto w = get_or<uint64_t>(b, "weight", 0)) {
                if (!write_value(d.dir(), "blkio.weight", unum(w), true))
                    write_opt(d, "blkio.bfq.weight", unum(w));
            }
            if (auto w = get_or<uint64_t>(b, "leafWeight", 0)) write_opt(d, "blkio.leaf_weight", unum(w));
            for (const auto& e : b.value("weightDevice", Json::array()))
                if (auto w = get_or<uint64_t>(e, "weight", 0))
                    write_opt(d, "blkio.weight_device", dev(e) + " " + unum(w));
            for (const auto& t : throttles)
                for (const auto& e : b.value(t.key, Json::array()))
                    write(d, t.v1_file, dev(e) + " " + unum(get_or<uint64_t>(e, "rate", 0)));
        } else {
            if (auto w = get_or<uint64_t>(b, "weight", 0)) {
                if (!write_value(d.dir(), "io.bfq.weight", unum(w), true))
                    write_opt(d, "io.weight", "default " + unum(blkio_weight_to_io_weight(w)));
            }
            for (const auto& e : b.value("weightDevice", Json::array()))
                if (auto w = get_or<uint64_t>(e, "weight", 0))
                    write_opt(d, "io.weight", dev(e) + " " + unum(blkio_weight_to_io_weight(w)));
            for (const auto& t : throttles)
                for (const auto& e : b.value(t.key, Json::array()))
                    write(d, "io.max", dev(e) + " " + t.v2_key + "=" + unum(get_or<uint64_t>(e, "rate", 0)));
        }
    }
    if (auto it = r.extra.find("hugepageLimits"); it != r.extra.end() && it->is_array()) {
        for (const auto& e : *it) {
            std::string size = get_or<std::string>(e, "pageSize", "");
            if (size.empty() || size.find('/') != std::string::npos)
                throw_invalid("hugepageLimits: bad pageSize " + quote(size));
            const Dir& d = need("hugetlb");
            std::string limit = unum(get_or<uint64_t>(e, "limit", 0));
            if (!d.unified) write(d, "hugetlb." + size + ".limit_in_bytes", limit);
            else write(d, "hugetlb." + size + ".max", limit);
        }
    }
    if (auto it = r.extra.find("network"); it != r.extra.end() && it->is_object()) {
        const Json& n = *it;
        if (n.contains("classID")) {
            if (const Dir* d = find("net_cls")) write(*d, "net_cls.classid", unum(n["classID"].get<uint64_t>()));
            else warn("network.classID: no net_cls cgroup here: ignored");
        }
        for (const auto& p : n.value("priorities", Json::array())) {
            if (const Dir* d = find("net_prio"))
                write(*d, "net_prio.ifpriomap",
                      get_or<std::string>(p, "name", "") + " " + unum(get_or<uint64_t>(p, "priority", 0)));
            else warn("network.priorities: no net_prio cgroup here: ignored");
        }
    }
    if (!r.unified.empty()) {
        const Dir* d = unified();
        if (!d) throw_invalid("resources.unified needs cgroup v2; this host has only v1");
        for (const auto& [key, value] : r.unified) {
            if (key.find('/') != std::string::npos || key.find('.') == std::string::npos)
                throw_invalid("resources.unified: bad file name " + quote(key));
            write(*d, key, value);
        }
    }
}

void Cgroup::apply_device_filter(const std::vector<oci::DeviceCgroup>& rules,
                                 const std::vector<oci::Device>& devices) {
    if (find("devices")) return; // v1 or hybrid: the devices controller does it
    const Dir* d = unified();
    if (!d) return;
    auto program = device_filter_program(effective_device_rules(rules, devices));
    UniqueFd prog = load_device_filter(program);
    UniqueFd dir = open_dir(d->dir());
    try {
        attach_device_filter(dir.get(), prog.get());
    } catch (const Error& e) {
        throw e.wrap("cgroup " + quote(d->dir()));
    }
}

void Cgroup::add_process(pid_t pid, bool skip_unified) const {
    std::string value = std::to_string(pid);
    for (const auto& d : dirs_) {
        if (d.unified && skip_unified) continue;
        write_value(d.dir(), "cgroup.procs", value);
    }
}

void Cgroup::add_process_unified(pid_t pid) const {
    if (const Dir* d = unified()) write_value(d->dir(), "cgroup.procs", std::to_string(pid));
}

std::vector<UniqueFd> Cgroup::open_v1_tasks() const {
    std::vector<UniqueFd> out;
    for (const auto& d : dirs_)
        if (!d.unified) out.push_back(open_path(d.dir() + "/tasks", O_WRONLY | O_CLOEXEC));
    return out;
}

void join_v1_tasks(const std::vector<int>& tasks_fds) {
    for (int fd : tasks_fds) {
        ssize_t n;
        do {
            n = ::write(fd, "0", 1);
        } while (n < 0 && errno == EINTR);
        if (n != 1) throw_errno("join the container's cgroup (v1 tasks)");
    }
}

UniqueFd Cgroup::open_unified() const {
    const Dir* d = unified();
    if (!d) return UniqueFd();
    return open_path(d->dir(), O_RDONLY | O_DIRECTORY);
}

namespace {
std::string first_line_value(const std::string& text, const std::string& key) {
    for (const auto& line : split(text, '\n')) {
        auto w = words(line);
        if (w.size() == 2 && w[0] == key) return w[1];
    }
    return "";
}
} // namespace

void Cgroup::freeze() const {
    if (const Dir* d = find("freezer"); d && !d->unified) {
        std::string dir = d->dir();
        for (int attempt = 0; attempt < 1000; attempt++) {
            // A freeze can stall on a task in an uninterruptible sleep; writing
            // FROZEN again retries it (runc does the same).
            write_value(dir, "freezer.state", "FROZEN");
            for (int i = 0; i < 10; i++) {
                if (trimmed(read_text(dir + "/freezer.state")) == "FROZEN") return;
                sleep_ms(1);
            }
        }
        write_value(dir, "freezer.state", "THAWED");
        throw Error("freeze cgroup " + quote(dir) + ": timed out", ErrorKind::failed);
    }
    const Dir* d = unified();
    if (!d) throw Error("no freezer cgroup for the container", ErrorKind::failed);
    std::string dir = d->dir();
    write_value(dir, "cgroup.freeze", "1");
    for (int i = 0; i < 5000; i++) {
        auto events = read_if(dir + "/cgroup.events");
        if (!events || first_line_value(*events, "frozen") == "1") return;
        sleep_ms(1);
    }
    write_value(dir, "cgroup.freeze", "0");
    throw Error("freeze cgroup " + quote(dir) + ": timed out", ErrorKind::failed);
}

void Cgroup::thaw() const {
    if (const Dir* d = find("freezer"); d && !d->unified) {
        write_value(d->dir(), "freezer.state", "THAWED");
        return;
    }
    if (const Dir* d = unified()) write_value(d->dir(), "cgroup.freeze", "0");
}

std::optional<Cgroup::FreezeProbe> Cgroup::freeze_probe() const {
    if (const Dir* d = find("freezer"); d && !d->unified) return FreezeProbe{d->dir() + "/freezer.state", "FROZEN"};
    if (const Dir* d = unified()) return FreezeProbe{d->dir() + "/cgroup.freeze", "1"};
    return std::nullopt;
}

bool Cgroup::frozen() const {
    auto probe = freeze_probe();
    if (!probe) return false;
    auto s = read_if(probe->path);
    return s && trimmed(*s) == probe->frozen;
}

std::vector<pid_t> Cgroup::pids() const {
    const Dir* d = nullptr;
    for (const char* c : {"pids", "freezer", "memory"})
        if ((d = find(c)) && !d->unified) break;
    if (!d || d->unified) d = unified();
    if (!d && !dirs_.empty()) d = &dirs_.front();
    std::vector<pid_t> out;
    if (d) collect_pids(d->dir(), out);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

void Cgroup::signal_all(int sig) const {
    if (sig == SIGKILL && mode_ == Mode::v2) {
        if (const Dir* d = unified(); d && write_value(d->dir(), "cgroup.kill", "1", true)) return;
    }
    // Frozen, nothing can fork between reading the list and signalling it.
    bool froze = false;
    try {
        if (!frozen()) {
            freeze();
            froze = true;
        }
    } catch (const Error&) {
    }
    for (pid_t p : pids()) ::kill(p, sig);
    if (froze || sig == SIGKILL) {
        try {
            thaw();
        } catch (const Error&) {
        }
    }
}

void Cgroup::remove() const {
    // Deepest hierarchy paths last does not matter: each directory is its own.
    for (const auto& d : dirs_) remove_dir(d.dir());
}

Json Cgroup::to_json() const {
    Json dirs = Json::array();
    for (const auto& d : dirs_) {
        Json e = {{"mount", d.mount_point}, {"controllers", d.controllers}, {"path", d.path}};
        if (d.mount_root != "/") e["root"] = d.mount_root;
        if (d.unified) e["unified"] = true;
        dirs.push_back(std::move(e));
    }
    return {{"mode", mode_name(mode_)}, {"dirs", std::move(dirs)}};
}

Cgroup Cgroup::from_json(const Json& j) {
    Cgroup cg;
    std::string mode = j.value("mode", "v2");
    cg.mode_ = mode == "v1" ? Mode::v1 : mode == "hybrid" ? Mode::hybrid : Mode::v2;
    for (const auto& e : j.value("dirs", Json::array())) {
        Dir d;
        d.mount_point = e.value("mount", "");
        d.mount_root = e.value("root", "/");
        d.controllers = e.value("controllers", std::vector<std::string>{});
        d.unified = e.value("unified", false);
        d.path = e.value("path", "");
        cg.dirs_.push_back(std::move(d));
    }
    return cg;
}

uint64_t cpu_shares_to_weight(uint64_t shares) {
    if (shares == 0) return 0;
    if (shares < 2) shares = 2;
    if (shares > 262144) shares = 262144;
    return 1 + ((shares - 2) * 9999) / 262142;
}

std::string swap_to_v2(int64_t swap, std::optional<int64_t> limit) {
    if (swap == -1) return "max";
    if (swap == 0) return "";
    int64_t mem = limit.value_or(-1);
    if (mem == -1) return "max";
    if (mem <= 0) throw_invalid("memory.swap needs a memory.limit");
    if (swap < mem) throw_invalid("memory.swap (memory+swap) must not be below memory.limit");
    return std::to_string(swap - mem);
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
    if (weight == 0) return 0;
    if (weight < 10) weight = 10;
    if (weight > 1000) weight = 1000;
    return 1 + (weight - 10) * 9999 / 990;
}

} // namespace ctk::linux::cgroup
