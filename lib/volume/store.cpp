#include "volume/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <set>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "linux/mount.hpp"
#include "volume/host_path.hpp"
#include "volume/mount_options.hpp"
#include "volume/spec.hpp"

namespace ctk::volume {

std::string now_rfc3339() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

bool Volume::anonymous() const { return labels.count(anonymous_label) != 0; }

Json Volume::docker_json() const {
    return Json{{"Name", name},        {"Driver", "local"}, {"Mountpoint", mountpoint()},
                {"CreatedAt", created_at}, {"Labels", labels},  {"Scope", "local"},
                {"Options", options}};
}

Json Volume::record_json() const {
    Json j = extra;
    j["Name"] = name;
    j["Driver"] = "local";
    j["CreatedAt"] = created_at;
    j["Labels"] = labels;
    j["Options"] = options;
    j["Scope"] = "local";
    Json users_json = Json::array();
    for (const auto& u : users) users_json.push_back({{"Id", u.id}, {"Bundle", u.bundle}});
    j["Users"] = users_json;
    j["CopiedUp"] = copied_up;
    return j;
}

Json VolumeListing::to_json() const {
    Json j = volume.docker_json();
    Json u = Json::array();
    for (const auto& user : users) u.push_back({{"Id", user.id}, {"Bundle", user.bundle}});
    j["Users"] = u;
    return j;
}

Json PruneResult::docker_json() const {
    return Json{{"VolumesDeleted", deleted}, {"SpaceReclaimed", space_reclaimed}};
}

void check_driver_options(const std::map<std::string, std::string>& options) {
    static const std::set<std::string> valid = {"type", "device", "o", "size"};
    for (const auto& [k, v] : options)
        if (!valid.count(k)) throw_invalid("invalid option: " + quote(k));
    if (options.count("size"))
        throw_invalid("quota size requested but no quota support (option \"size\")");
    // moby volume/local: mandatory companions.
    static const std::map<std::string, std::vector<std::string>> needs = {
        {"device", {"type"}}, {"type", {"device"}}, {"o", {"device", "type"}}};
    for (const auto& [opt, reqs] : needs)
        if (options.count(opt))
            for (const auto& r : reqs)
                if (!options.count(r)) throw_invalid("missing required option: " + quote(r));
    auto type = options.find("type");
    if (type == options.end()) return;
    auto o = options.count("o") ? options.at("o") : std::string();
    auto parsed = parse_mount_options(o);
    if (parsed.flags & MS_BIND) {
        const std::string& dev = options.at("device");
        if (dev.empty() || dev.front() != '/')
            throw_invalid("option device " + quote(dev) + ": a bind needs an absolute host path");
    } else if (type->second == "tmpfs") {
        for (const auto& w : split(parsed.data, ','))
            if (!w.empty()) check_tmpfs_option(w);
    } else if (type->second == "none") {
        throw_invalid("option type \"none\" needs o=bind (a bind of device)");
    }
}

std::map<std::string, std::string> parse_opt_args(const std::vector<std::string>& args) {
    std::map<std::string, std::string> out;
    for (const auto& arg : args) {
        std::vector<std::string> pieces;
        size_t start = 0;
        for (size_t i = 0; i < arg.size(); i++) {
            if (arg[i] != ',') continue;
            std::string_view rest(arg.data() + i + 1, arg.size() - i - 1);
            if (rest.rfind("type=", 0) == 0 || rest.rfind("device=", 0) == 0 || rest.rfind("o=", 0) == 0) {
                pieces.push_back(arg.substr(start, i - start));
                start = i + 1;
            }
        }
        pieces.push_back(arg.substr(start));
        for (const auto& p : pieces) {
            auto kv = split_once(p, '=');
            if (!kv || kv->first.empty()) throw_invalid("option " + quote(p) + " is not KEY=VALUE");
            out[kv->first] = kv->second;
        }
    }
    return out;
}

std::map<std::string, std::string> parse_label_args(const std::vector<std::string>& args) {
    std::map<std::string, std::string> out;
    for (const auto& a : args) {
        auto kv = split_once(a, '=');
        std::string key = kv ? kv->first : a;
        if (key.empty()) throw_invalid("label " + quote(a) + " has no key");
        out[key] = kv ? kv->second : "";
    }
    return out;
}

VolumeStore::VolumeStore(store::Paths paths) : paths_(std::move(paths)) {}

FileLock VolumeStore::lock() const {
    make_dirs(paths_.locks(), 0700);
    return FileLock(paths_.locks() + "/volumes.lock");
}

Volume VolumeStore::load(const std::string& name) const {
    Volume v;
    v.name = name;
    v.path = paths_.volume(name);
    std::string record = v.path + "/volume.json";
    auto text = read_file_if_exists(record, 1u << 20);
    if (!text) {
        struct stat st;
        if (::stat(v.path.c_str(), &st) == 0) {
            std::tm tm{};
            ::gmtime_r(&st.st_mtime, &tm);
            char buf[32];
            std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
            v.created_at = buf;
        }
        return v;
    }
    Json j = parse_json(*text, record);
    try {
        ObjectReader r(j, record);
        std::string ignored;
        r.optional("Name", ignored);
        r.optional("Driver", ignored);
        r.optional("Scope", ignored);
        r.optional("CreatedAt", v.created_at);
        r.optional("Labels", v.labels);
        r.optional("Options", v.options);
        r.optional("CopiedUp", v.copied_up);
        Json users = Json::array();
        r.optional("Users", users);
        for (const auto& u : users) {
            VolumeUser user;
            ObjectReader ur(u, record + ": Users");
            ur.required("Id", user.id);
            ur.optional("Bundle", user.bundle);
            v.users.push_back(std::move(user));
        }
        v.extra = r.rest();
    } catch (const Json::exception& e) {
        throw Error(record + ": " + e.what(), ErrorKind::invalid);
    }
    return v;
}

std::optional<Volume> VolumeStore::find(const std::string& name) const {
    if (!valid_volume_name(name)) return std::nullopt;
    struct stat st;
    if (::lstat(paths_.volume(name).c_str(), &st) < 0) {
        if (errno == ENOENT) return std::nullopt;
        throw_errno("stat", paths_.volume(name));
    }
    if (!S_ISDIR(st.st_mode)) return std::nullopt;
    return load(name);
}

Volume VolumeStore::get(const std::string& name) const {
    auto v = find(name);
    if (!v) throw_not_found("volume " + quote(name) + ": no such volume");
    return *v;
}

std::vector<Volume> VolumeStore::list() const {
    std::vector<Volume> out;
    DIR* d = ::opendir(dir().c_str());
    if (!d) {
        if (errno == ENOENT) return out;
        throw_errno("opendir", dir());
    }
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d))
        if (valid_volume_name(e->d_name)) names.emplace_back(e->d_name);
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& n : names)
        if (auto v = find(n)) out.push_back(std::move(*v));
    return out;
}

std::vector<VolumeListing> VolumeStore::list_with_users() const {
    std::vector<VolumeListing> out;
    for (auto& v : list()) {
        auto users = live_users(v);
        out.push_back({std::move(v), std::move(users)});
    }
    return out;
}

Json VolumeStore::docker_list_json() const {
    Json vols = Json::array();
    for (const auto& v : list()) vols.push_back(v.docker_json());
    return Json{{"Volumes", vols}, {"Warnings", Json::array()}};
}

static bool bundle_mounts(const std::string& bundle, const std::string& source) {
    std::optional<std::string> text;
    try {
        text = read_file_if_exists(bundle + "/config.json", 16u << 20);
    } catch (const Error&) {
        return true; // unreadable: count it, rather than free a volume someone uses
    }
    if (!text) return false;
    try {
        Json j = parse_json_text(*text, "volumes.json");
        if (!j.contains("mounts") || !j["mounts"].is_array()) return false;
        for (const auto& m : j["mounts"])
            if (m.is_object() && m.value("source", "") == source) return true;
        return false;
    } catch (const std::exception&) {
        return true;
    }
}

std::vector<VolumeUser> VolumeStore::live_users(const Volume& v) const {
    std::vector<VolumeUser> out;
    for (const auto& u : v.users)
        if (u.bundle.empty() || bundle_mounts(u.bundle, v.mountpoint())) out.push_back(u);
    return out;
}

Volume VolumeStore::create_locked(const std::string& requested, const CreateOptions& options) {
    std::string name = requested.empty() ? generate_volume_name() : requested;
    check_volume_name(name);
    check_driver_options(options.options);
    if (find(name)) throw_conflict("volume " + quote(name) + ": already exists");
    make_dirs(dir(), 0701);
    Volume v;
    v.name = name;
    v.path = paths_.volume(name);
    v.created_at = now_rfc3339();
    v.labels = options.labels;
    v.options = options.options;

    // Made under a temporary name and renamed: a crash leaves no half volume under its name.
    std::string tmp = dir() + "/.new-" + name + "-" + random_hex(4);
    if (::mkdir(tmp.c_str(), 0701) < 0) throw_errno("mkdir", tmp);
    ScopeGuard cleanup([&] {
        try {
            remove_tree(tmp);
        } catch (...) {
        }
    });
    if (::mkdir((tmp + "/_data").c_str(), 0755) < 0) throw_errno("mkdir", tmp + "/_data");
    write_json_file(tmp + "/volume.json", v.record_json());
    if (::rename(tmp.c_str(), v.path.c_str()) < 0) throw_errno("rename to", v.path);
    cleanup.dismiss();
    sync_parent_dir(v.path);
    return v;
}

void VolumeStore::save_locked(const Volume& v) const {
    write_json_file(v.path + "/volume.json", v.record_json());
}

bool VolumeStore::active(const Volume& v) const { return linux::is_mount_point(v.mountpoint()); }

void VolumeStore::activate_locked(const Volume& v) const {
    if (v.options.empty() || !v.options.count("type") || active(v)) return;
    const std::string& type = v.options.at("type");
    const std::string& device = v.options.at("device");
    auto o = parse_mount_options(v.options.count("o") ? v.options.at("o") : "");
    std::string target = v.mountpoint();
    try {
        if (o.flags & MS_BIND) {
            std::string source = resolve_host_path(device, false).path;
            linux::mount(source, target, "", MS_BIND | (o.flags & MS_REC));
            unsigned long rest = o.flags & ~(MS_BIND | MS_REC);
            if (rest) {
                try {
                    linux::mount("", target, "", MS_BIND | MS_REMOUNT | rest);
                } catch (...) {
                    linux::unmount(target, MNT_DETACH, true);
                    throw;
                }
            }
        } else {
            linux::mount(device, target, type, o.flags, o.data);
        }
        if (o.propagation) linux::mount("", target, "", o.propagation);
    } catch (const Error& e) {
        throw e.wrap("volume " + quote(v.name));
    }
}

void VolumeStore::deactivate_locked(Volume& v) const {
    if (!active(v)) return;
    linux::unmount(v.mountpoint(), MNT_DETACH, true);
    if (active(v)) throw_errno("unmount", v.mountpoint(), EBUSY);
    // The files of a tmpfs volume are gone with its mount: a later first use copies up again.
    if (v.options.count("type") && v.options.at("type") == "tmpfs" && v.copied_up) {
        v.copied_up = false;
        save_locked(v);
    }
}

void VolumeStore::remove_locked(const Volume& v) const {
    Volume copy = v;
    deactivate_locked(copy);
    // remove_tree does not cross into mounts, but a bind of the same filesystem
    // has the same st_dev: never delete through a mount on _data.
    if (active(v)) throw_conflict("volume " + quote(v.name) + ": " + v.mountpoint() + " is still mounted");
    std::string doomed = dir() + "/.rm-" + v.name + "-" + random_hex(4);
    if (::rename(v.path.c_str(), doomed.c_str()) < 0) throw_errno("rename", v.path);
    remove_tree(doomed);
}

Volume VolumeStore::create(const std::string& name, const CreateOptions& options) {
    FileLock l = lock();
    return create_locked(name, options);
}

RemoveResult VolumeStore::remove(const std::vector<std::string>& names, bool force) {
    RemoveResult result;
    FileLock l = lock();
    for (const auto& name : names) {
        try {
            auto v = find(name);
            if (!v) {
                if (force) continue;
                if (!valid_volume_name(name)) check_volume_name(name);
                throw_not_found("volume " + quote(name) + ": no such volume");
            }
            auto users = live_users(*v);
            if (!users.empty() && !force) {
                std::vector<std::string> ids;
                for (const auto& u : users) ids.push_back(u.id);
                throw_conflict("volume " + quote(name) + " is in use by " + join(ids, ", ") +
                               " (release it, or use -f)");
            }
            remove_locked(*v);
            result.removed.push_back(name);
        } catch (const Error& e) {
            result.failed.emplace_back(name, e);
        }
    }
    return result;
}

PruneResult VolumeStore::prune(bool all) {
    PruneResult result;
    FileLock l = lock();
    for (auto& v : list()) {
        if (!all && !v.anonymous()) continue;
        if (in_use(v)) continue;
        uint64_t size = active(v) ? 0 : directory_size(v.mountpoint());
        remove_locked(v);
        result.deleted.push_back(v.name);
        result.space_reclaimed += size;
    }
    return result;
}

static void size_below(int dirfd, dev_t dev, std::set<std::pair<dev_t, ino_t>>& seen, uint64_t& total) {
    int dupfd = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (dupfd < 0) return;
    DIR* d = ::fdopendir(dupfd);
    if (!d) {
        ::close(dupfd);
        return;
    }
    while (struct dirent* e = ::readdir(d)) {
        if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
        struct stat st;
        if (::fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (st.st_dev != dev) continue;
            int sub = ::openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) continue;
            UniqueFd owner(sub);
            size_below(sub, dev, seen, total);
        } else if (S_ISREG(st.st_mode) && seen.insert({st.st_dev, st.st_ino}).second) {
            total += static_cast<uint64_t>(st.st_size);
        }
    }
    ::closedir(d);
}

uint64_t directory_size(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return 0;
    UniqueFd owner(fd);
    struct stat st;
    if (::fstat(fd, &st) < 0) return 0;
    std::set<std::pair<dev_t, ino_t>> seen;
    uint64_t total = 0;
    size_below(fd, st.st_dev, seen, total);
    return total;
}

} // namespace ctk::volume
