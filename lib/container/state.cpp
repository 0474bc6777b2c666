#include "container/state.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "core/error.hpp"
#include "core/file_cache.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "linux/cgroup.hpp"
#include "linux/process.hpp"

namespace ctk::container {

const char* status_name(Status s) {
    switch (s) {
    case Status::creating: return "creating";
    case Status::created: return "created";
    case Status::running: return "running";
    case Status::paused: return "paused";
    case Status::stopped: return "stopped";
    }
    return "unknown";
}

Json State::to_json() const {
    Json j = {{"id", id},           {"bundle", bundle},   {"rootfs", rootfs},
              {"pid", pid},         {"pidStart", pid_start},
              {"monitorPid", monitor_pid}, {"monitorStart", monitor_start},
              {"created", created}, {"ownPidNamespace", own_pid_ns},
              {"cgroup", cgroup}};
    // the config itself is in config.json beside it; a listing needs only these
    if (!config.annotations.empty()) j["annotations"] = config.annotations;
    if (!started.empty()) j["started"] = started;
    if (!finished.empty()) j["finished"] = finished;
    if (exit_code) j["exitCode"] = *exit_code;
    return j;
}

State State::from_json(const Json& j, const std::string& what) {
    State s;
    try {
        s.id = j.at("id").get<std::string>();
        s.bundle = j.value("bundle", "");
        s.rootfs = j.value("rootfs", "");
        s.pid = j.value("pid", 0);
        s.pid_start = j.value("pidStart", uint64_t{0});
        s.monitor_pid = j.value("monitorPid", 0);
        s.monitor_start = j.value("monitorStart", uint64_t{0});
        s.created = j.value("created", "");
        s.started = j.value("started", "");
        s.finished = j.value("finished", "");
        if (j.contains("exitCode") && j["exitCode"].is_number_integer()) s.exit_code = j["exitCode"].get<int>();
        s.own_pid_ns = j.value("ownPidNamespace", false);
        s.cgroup = j.value("cgroup", Json::object());
        if (j.contains("config")) s.config = j["config"].get<oci::Spec>(); // before config.json was split off
        else if (j.contains("annotations")) s.config.annotations = j["annotations"].get<std::map<std::string, std::string>>();
    } catch (const Error& e) {
        throw e.wrap(what);
    } catch (const std::exception& e) {
        throw Error(what + ": " + e.what(), ErrorKind::invalid);
    }
    return s;
}

namespace {
// ctld asks about the same container processes at every listing
linux::AliveCache& alive_cache() {
    static linux::AliveCache cache;
    return cache;
}
bool container_alive(const State& s) {
    return file_caches_on ? alive_cache().alive(s.pid, s.pid_start) : linux::process_alive(s.pid, s.pid_start);
}

// ctld reads every running container's freezer file at every listing: each
// is kept open and read again from its start (opening a cgroup file costs
// more than reading it). A file of a cgroup since removed fails to read and
// is opened again; the ones not read since the last sweep are closed.
class HeldFiles {
public:
    std::optional<std::string> read(const std::string& path) {
        std::shared_ptr<UniqueFd> fd;
        {
            std::lock_guard<std::mutex> l(mutex_);
            if (auto it = files_.find(path); it != files_.end()) {
                it->second.asked = true;
                fd = it->second.fd;
            }
        }
        if (fd)
            if (auto text = pread_all(fd->get())) return text;
        fd = std::make_shared<UniqueFd>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        auto text = *fd ? pread_all(fd->get()) : std::nullopt;
        std::lock_guard<std::mutex> l(mutex_);
        if (text) files_[path] = {fd, true};
        else files_.erase(path);
        return text;
    }
    void sweep() {
        std::lock_guard<std::mutex> l(mutex_);
        std::erase_if(files_, [](const auto& f) { return !f.second.asked; });
        for (auto& [path, f] : files_) f.asked = false;
    }

private:
    static std::optional<std::string> pread_all(int fd) {
        char buf[256];
        ssize_t n = ::pread(fd, buf, sizeof buf, 0);
        if (n < 0) return std::nullopt;
        return std::string(buf, static_cast<size_t>(n));
    }
    struct Held {
        std::shared_ptr<UniqueFd> fd; // shared: a sweep during a read closes it after the read
        bool asked = true;
    };
    std::mutex mutex_;
    std::map<std::string, Held> files_;
};
HeldFiles& freezer_files() {
    static HeldFiles files;
    return files;
}

std::pair<std::string, std::string> freeze_probe_of(const State& s) {
    auto probe = linux::cgroup::Cgroup::from_json(s.cgroup).freeze_probe();
    return probe ? std::make_pair(probe->path, probe->frozen) : std::make_pair(std::string(), std::string());
}

bool container_frozen(const State& s) {
    auto [path, frozen] = s.freeze_probe ? *s.freeze_probe : freeze_probe_of(s);
    if (path.empty()) return false;
    auto text = file_caches_on ? freezer_files().read(path) : read_file_if_exists(path, 4096);
    return text && trim(*text) == frozen;
}
} // namespace

Status current_status(const State& s, const std::string& state_dir) {
    if (s.exit_code) return Status::stopped;
    if (!container_alive(s)) return Status::stopped;
    if (::access((state_dir + "/exec.fifo").c_str(), F_OK) == 0) return Status::created;
    if (!s.cgroup.empty()) {
        try {
            if (container_frozen(s)) return Status::paused;
        } catch (const std::exception&) {
        }
    }
    return Status::running;
}

Json oci_state(const State& s, Status status) {
    Json j = {{"ociVersion", oci::runtime_spec_version},
              {"id", s.id},
              {"status", status_name(status)},
              {"pid", status == Status::stopped ? 0 : s.pid},
              {"bundle", s.bundle},
              {"rootfs", s.rootfs},
              {"created", s.created}};
    if (!s.config.annotations.empty()) j["annotations"] = s.config.annotations;
    if (!s.started.empty()) j["started"] = s.started;
    if (status == Status::stopped) {
        if (s.exit_code) j["exitCode"] = *s.exit_code;
        if (!s.finished.empty()) j["finished"] = s.finished;
    }
    return j;
}

std::string now_rfc3339() {
    timespec ts {};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm {};
    ::gmtime_r(&ts.tv_sec, &tm);
    char buf[64];
    size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
    return buf;
}

void check_id(const std::string& id) {
    bool ok = !id.empty() && id.size() <= 1024 && id[0] != '.' && id[0] != '-';
    for (char c : id)
        ok &= (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '+' || c == '-' || c == '.';
    if (!ok) throw Error("invalid container ID " + quote(id) +
                             " (letters, digits, '_', '+', '-', '.'; not starting with '.' or '-')",
                         ErrorKind::usage);
}

static UniqueFd lock_dir(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_errno("open container state", dir);
    UniqueFd d(fd);
    while (::flock(fd, LOCK_EX) < 0)
        if (errno != EINTR) throw_errno("lock", dir);
    return d;
}

UniqueFd StateStore::create(const std::string& id) const {
    check_id(id);
    if (::mkdir(root_.c_str(), 0700) < 0 && errno != EEXIST) {
        make_dirs(root_, 0700);
    }
    std::string d = dir(id);
    if (::mkdir(d.c_str(), 0700) < 0) {
        if (errno == EEXIST) throw_conflict("container " + quote(id) + " already exists");
        throw_errno("create container state", d);
    }
    return lock_dir(d);
}

UniqueFd StateStore::lock(const std::string& id) const {
    check_id(id);
    if (!exists(id)) throw_not_found("container " + quote(id) + " does not exist");
    return lock_dir(dir(id));
}

bool StateStore::exists(const std::string& id) const {
    struct stat st {};
    return ::stat((dir(id) + "/state.json").c_str(), &st) == 0;
}

// A listing in a long-lived reader (ctld) parses only the states that changed.
static FileCache<State>& state_files() {
    static FileCache<State> cache;
    return cache;
}

namespace {
// state.json as a listing reads it: of the cgroup, only the directories that
// say whether it is frozen (v1's freezer, the unified one), so that each
// listing's status check does not convert the other nine.
Json parse_state_listed(const std::string& text, const std::string& path) {
    Json j = parse_json_selected(text, path, [](const std::vector<std::string>&, const std::string&) { return true; });
    if (auto c = j.find("cgroup"); c != j.end() && c->is_object())
        if (auto dirs = c->find("dirs"); dirs != c->end() && dirs->is_array()) {
            Json kept = Json::array();
            for (auto& d : *dirs) {
                auto ctl = d.is_object() ? d.find("controllers") : d.end();
                if (!d.is_object() || d.value("unified", false) || ctl == d.end() || !ctl->is_array() ||
                    std::find(ctl->begin(), ctl->end(), Json("freezer")) != ctl->end())
                    kept.push_back(std::move(d));
            }
            *dirs = std::move(kept);
        }
    return j;
}
} // namespace

std::shared_ptr<const State> StateStore::load_brief(const std::string& id) const {
    check_id(id);
    std::string path = dir(id) + "/state.json";
    auto s = state_files().load(path, 16u << 20, [&](const std::string& text) {
        State s = State::from_json(parse_state_listed(text, path), path);
        try {
            if (!s.cgroup.empty()) s.freeze_probe = freeze_probe_of(s);
        } catch (const std::exception&) {
            // a cgroup it cannot read: current_status says "not frozen", as before
        }
        return s;
    });
    if (!s) throw_not_found("container " + quote(id) + " does not exist");
    return s;
}

State StateStore::load(const std::string& id) const {
    check_id(id);
    std::string state_path = dir(id) + "/state.json";
    auto text = read_file_if_exists(state_path, 16u << 20);
    if (!text) throw_not_found("container " + quote(id) + " does not exist");
    State s = State::from_json(parse_json(*text, state_path), state_path);
    std::string path = dir(id) + "/config.json";
    if (auto text = read_file_if_exists(path, 16u << 20)) {
        try {
            s.config = parse_json(*text, path).get<oci::Spec>();
        } catch (const Error& e) {
            throw e.wrap(path);
        } catch (const std::exception& e) {
            throw Error(path + ": " + e.what(), ErrorKind::invalid);
        }
    }
    return s;
}

// Runtime state lives under /run and does not outlive a reboot: a rename makes
// each file atomic, an fsync would only cost time.
static void replace_state_file(const std::string& dir, const std::string& name, const std::string& text) {
    std::string path = dir + "/" + name, tmp = dir + "/." + name + ".tmp";
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) throw_errno("write container state", tmp);
    write_all(fd.get(), text, tmp);
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) < 0) throw_errno("rename", tmp);
}

void StateStore::save(const State& s) const {
    // config.json first: a state.json never names a config that is not there
    std::string d = dir(s.id);
    replace_state_file(d, "config.json", dump_compact(Json(s.config)));
    replace_state_file(d, "state.json", dump_compact(s.to_json()));
}

void StateStore::remove(const std::string& id) const {
    check_id(id);
    remove_tree(dir(id));
}

std::vector<std::string> StateStore::ids(bool checked) const {
    std::vector<std::string> out;
    DIR* d = ::opendir(root_.c_str());
    if (!d) return out;
    while (auto* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        std::string id = e->d_name;
        struct stat st {};
        // exists(id), from the directory already open
        if (!checked || ::fstatat(::dirfd(d), (id + "/state.json").c_str(), &st, 0) == 0) out.push_back(id);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    std::set<std::string> paths;
    for (const auto& id : out) paths.insert(dir(id) + "/state.json");
    state_files().keep_only(paths);
    if (file_caches_on) {
        // the processes and cgroups of containers gone since the last listing
        alive_cache().sweep();
        freezer_files().sweep();
    }
    return out;
}

} // namespace ctk::container
