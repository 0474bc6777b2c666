#include "volume/bundle.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "volume/copy_up.hpp"
#include "volume/host_path.hpp"
#include "volume/mount_options.hpp"

namespace ctk::volume {

oci::Mount bind_entry(const std::string& source, const MountRequest& r) {
    oci::Mount m;
    m.destination = r.target;
    m.type = "bind";
    m.source = source;
    m.options.push_back(r.nonrecursive ? "bind" : "rbind");
    if (r.readonly) {
        m.options.push_back("ro");
        if (!r.readonly_nonrecursive) m.options.push_back("rro");
    }
    if (r.type == MountType::bind) m.options.push_back(r.propagation.empty() ? "rprivate" : r.propagation);
    return m;
}

oci::Mount tmpfs_entry(const MountRequest& r) {
    oci::Mount m;
    m.destination = r.target;
    m.type = "tmpfs";
    m.source = "tmpfs";
    m.options = merge_tmpfs_options(r.tmpfs_options);
    return m;
}

static size_t depth(const std::string& p) {
    return static_cast<size_t>(std::count(p.begin(), p.end(), '/'));
}

static bool below(const std::string& child, const std::string& parent) {
    if (parent == "/") return child != "/";
    return child.size() > parent.size() && child.compare(0, parent.size(), parent) == 0 &&
           child[parent.size()] == '/';
}

std::vector<oci::Mount> merge_mounts(std::vector<oci::Mount> existing, const std::vector<oci::Mount>& added) {
    std::set<std::string> targets;
    for (const auto& a : added) targets.insert(clean_path(a.destination));
    std::erase_if(existing, [&](const oci::Mount& m) { return targets.count(clean_path(m.destination)) > 0; });
    std::vector<oci::Mount> sorted = added;
    std::stable_sort(sorted.begin(), sorted.end(), [](const oci::Mount& a, const oci::Mount& b) {
        return depth(clean_path(a.destination)) < depth(clean_path(b.destination));
    });
    for (const auto& a : sorted) {
        std::string dest = clean_path(a.destination);
        auto at = std::find_if(existing.begin(), existing.end(),
                               [&](const oci::Mount& m) { return below(clean_path(m.destination), dest); });
        existing.insert(at, a);
    }
    return existing;
}

void check_container_id(const std::string& id) {
    auto alnum = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    };
    bool ok = !id.empty() && alnum(id[0]) && id.size() <= 253;
    for (char c : id) ok = ok && (alnum(c) || c == '_' || c == '.' || c == '-');
    if (!ok)
        throw_invalid("container id " + quote(id) + " is invalid: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
}

Json Resolution::to_json() const {
    Json vols = Json::array();
    for (const auto& v : volumes)
        vols.push_back({{"Name", v.name}, {"Mountpoint", v.mountpoint}, {"Created", v.created},
                        {"CopiedUp", v.copied_up}});
    return Json{{"mounts", mounts}, {"volumes", vols}, {"mount_points", mount_points}};
}

Json docker_mount_point(const MountRequest& r, const oci::Mount& entry, const std::string& volume_name) {
    Json j{{"Type", to_string(r.type)},
           {"Source", r.type == MountType::tmpfs ? std::string() : entry.source},
           {"Destination", r.target},
           {"Mode", r.mode},
           {"RW", !r.readonly},
           {"Propagation", r.type == MountType::bind ? (r.propagation.empty() ? "rprivate" : r.propagation) : ""}};
    if (r.type == MountType::volume) {
        j["Name"] = volume_name;
        j["Driver"] = "local";
    }
    return j;
}

Json ApplyResult::to_json() const {
    Json j = resolution.to_json();
    j["bundle"] = bundle;
    j["config"] = bundle + "/config.json";
    j["id"] = id;
    return j;
}

Json ReleaseResult::to_json() const {
    return Json{{"id", id}, {"released", released}, {"removed", removed}};
}

namespace {

// Undo steps for a change that must be all or nothing; run in reverse unless committed.
class Undo {
public:
    ~Undo() {
        if (committed_) return;
        while (!steps_.empty()) {
            try {
                steps_.back()();
            } catch (...) {
                // Best effort: the original error is the one to report.
            }
            steps_.pop_back();
        }
    }
    void add(std::function<void()> f) { steps_.push_back(std::move(f)); }
    void commit() { committed_ = true; }

private:
    std::vector<std::function<void()>> steps_;
    bool committed_ = false;
};

void clear_directory(const std::string& path) {
    UniqueFd dir = open_dir(path);
    int dupfd = ::fcntl(dir.get(), F_DUPFD_CLOEXEC, 0);
    DIR* d = dupfd >= 0 ? ::fdopendir(dupfd) : nullptr;
    if (!d) return;
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d))
        if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..") names.emplace_back(e->d_name);
    ::closedir(d);
    for (const auto& n : names) remove_tree_at(dir.get(), n);
}

struct Resolver {
    VolumeStore& store;
    Undo& undo;
    int rootfs = -1; // the bundle's rootfs, for copy-up and file-target checks
    std::map<std::string, Volume> volumes; // every volume touched, by name

    // Checks that need no change, so bad input fails before anything is made.
    void check(const std::vector<MountRequest>& requests) {
        check_duplicate_targets(requests);
        for (const auto& r : requests) {
            try {
                check_one(r);
            } catch (const Error& e) {
                throw e.wrap(r.raw.empty() ? r.target : r.describe());
            }
        }
    }

    void check_one(const MountRequest& r) {
        if (r.type == MountType::volume) {
            if (!r.source.empty()) check_volume_name(r.source);
            if (!r.source.empty() && store.find(r.source)) {
                // An existing volume keeps its own options and labels, as in Docker.
            } else {
                check_driver_options(r.volume_options);
            }
            if (rootfs >= 0 && !r.nocopy) {
                int fd = -1;
                auto kind = open_copy_up_source(rootfs, r.target, fd);
                UniqueFd owner(fd);
                if (kind == CopyUpSource::not_directory)
                    throw_invalid("cannot mount a volume on " + r.target + ": it is not a directory in the image");
            }
        } else if (r.type == MountType::bind) {
            struct stat st;
            if (::stat(r.source.c_str(), &st) < 0) {
                if (errno != ENOENT) throw_errno("stat bind source", r.source);
                if (!r.create_source) throw_not_found("bind source path does not exist: " + r.source);
                if (rootfs >= 0) {
                    UniqueFd t = try_open_in_root(rootfs, r.target, O_PATH);
                    struct stat tst;
                    if (t && ::fstat(t.get(), &tst) == 0 && !S_ISDIR(tst.st_mode))
                        throw_not_found("bind source path does not exist: " + r.source + " (" + r.target +
                                        " is a file in the image, so no directory is made for it)");
                }
            } else {
                check_source_propagation(r.source, r.propagation);
            }
        } else {
            merge_tmpfs_options(r.tmpfs_options);
        }
    }

    Volume& volume_for(const MountRequest& r, UsedVolume& used) {
        std::string name = r.source;
        if (!name.empty()) {
            auto it = volumes.find(name);
            if (it != volumes.end()) return it->second;
            if (auto v = store.find(name)) {
                auto [pos, ok] = volumes.emplace(name, std::move(*v));
                Volume saved = pos->second;
                undo.add([this, saved] { store.save_locked(saved); });
                return pos->second;
            }
        }
        CreateOptions opts{r.volume_labels, r.volume_options};
        if (name.empty()) opts.labels[anonymous_label] = "";
        Volume v = store.create_locked(name, opts);
        undo.add([this, v] { store.remove_locked(v); });
        used.created = true;
        auto [pos, ok] = volumes.emplace(v.name, std::move(v));
        return pos->second;
    }

    void copy_up(Volume& v, const MountRequest& r, UsedVolume& used) {
        if (rootfs < 0 || r.nocopy || v.copied_up) return;
        int fd = -1;
        if (open_copy_up_source(rootfs, r.target, fd) != CopyUpSource::directory) return;
        UniqueFd src(fd);
        UniqueFd dst(::open(v.mountpoint().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!dst) throw_errno("open", v.mountpoint());
        if (!directory_empty(dst.get())) return;
        std::string data = v.mountpoint();
        undo.add([data] { clear_directory(data); });
        try {
            copy_tree(src.get(), dst.get());
            copy_dir_attributes(src.get(), dst.get());
        } catch (const Error& e) {
            throw e.wrap("volume " + quote(v.name) + ": copy-up of " + r.target);
        }
        v.copied_up = used.copied_up = true;
        store.save_locked(v);
    }

    oci::Mount resolve(const MountRequest& r, std::vector<UsedVolume>& used_out) {
        switch (r.type) {
        case MountType::volume: {
            UsedVolume used;
            Volume& v = volume_for(r, used);
            if (!v.options.empty() && !store.active(v)) {
                store.activate_locked(v);
                undo.add([this, v]() mutable { store.deactivate_locked(v); });
            }
            copy_up(v, r, used);
            used.name = v.name;
            used.mountpoint = v.mountpoint();
            used_out.push_back(used);
            return bind_entry(v.mountpoint(), r);
        }
        case MountType::bind: {
            HostPath p = resolve_host_path(r.source, r.create_source);
            if (!p.created.empty()) undo.add([p] { remove_created(p); });
            if (!p.created.empty()) check_source_propagation(p.path, r.propagation);
            return bind_entry(p.path, r);
        }
        case MountType::tmpfs:
            return tmpfs_entry(r);
        }
        throw_invalid("unknown mount type");
    }

    Resolution run(const std::vector<MountRequest>& requests) {
        check(requests);
        Resolution res;
        for (const auto& r : requests) {
            try {
                res.mounts.push_back(resolve(r, res.volumes));
                std::string name = r.type == MountType::volume ? res.volumes.back().name : "";
                res.mount_points.push_back(docker_mount_point(r, res.mounts.back(), name));
            } catch (const Error& e) {
                throw e.wrap(r.raw.empty() ? r.target : r.describe());
            }
        }
        return res;
    }
};

std::string absolute_dir(const std::string& path) {
    char buf[4096];
    if (!::realpath(path.c_str(), buf)) throw_errno("bundle", path);
    struct stat st;
    if (::stat(buf, &st) < 0 || !S_ISDIR(st.st_mode)) throw_errno("bundle", path, ENOTDIR);
    return buf;
}

std::string basename_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

} // namespace

Resolution resolve_mounts(VolumeStore& store, const std::vector<MountRequest>& requests) {
    FileLock lock = store.lock();
    Undo undo;
    Resolver resolver{store, undo, -1, {}};
    Resolution res = resolver.run(requests);
    undo.commit();
    return res;
}

ApplyResult apply_to_bundle(VolumeStore& store, const std::string& bundle_arg,
                            const std::vector<MountRequest>& requests, std::string id) {
    ApplyResult result;
    result.bundle = absolute_dir(bundle_arg);
    result.id = id.empty() ? basename_of(result.bundle) : id;
    check_container_id(result.id);
    std::string config_path = result.bundle + "/config.json";
    oci::Spec spec = oci::Spec::load(config_path);

    UniqueFd rootfs;
    if (spec.root) {
        std::string root = spec.root->path;
        if (root.empty() || root.front() != '/') root = result.bundle + "/" + root;
        rootfs = UniqueFd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!rootfs && errno != ENOENT) throw_errno("open rootfs", root);
    }

    FileLock lock = store.lock();
    Undo undo;
    Resolver resolver{store, undo, rootfs ? rootfs.get() : -1, {}};
    result.resolution = resolver.run(requests);

    spec.mounts = merge_mounts(std::move(spec.mounts), result.resolution.mounts);

    // moby: a [r]shared bind needs a shared rootfs, a [r]slave one at least a slave rootfs,
    // or the propagation stops at the container's root mount.
    for (const auto& r : requests) {
        if (r.type != MountType::bind || r.propagation.empty()) continue;
        bool shared = r.propagation == "shared" || r.propagation == "rshared";
        bool slave = r.propagation == "slave" || r.propagation == "rslave";
        if (!shared && !slave) continue;
        if (!spec.linux) spec.linux = oci::Linux{};
        std::string& rp = spec.linux->rootfs_propagation;
        bool root_shared = rp == "shared" || rp == "rshared";
        bool root_slave = rp == "slave" || rp == "rslave";
        if (shared && !root_shared) rp = "shared";
        else if (slave && !root_shared && !root_slave) rp = "rslave";
    }

    // Users: this container uses exactly the store's volumes its config now mounts.
    std::set<std::string> mounted_sources;
    for (const auto& m : spec.mounts) mounted_sources.insert(m.source);
    for (Volume v : store.list()) {
        if (auto it = resolver.volumes.find(v.name); it != resolver.volumes.end()) v = it->second;
        bool uses = mounted_sources.count(v.mountpoint()) > 0;
        auto has = std::find_if(v.users.begin(), v.users.end(), [&](const VolumeUser& u) { return u.id == result.id; });
        VolumeUser me{result.id, result.bundle};
        if (uses && has != v.users.end() && *has == me) continue;
        if (!uses && has == v.users.end()) continue;
        if (!resolver.volumes.count(v.name)) {
            Volume saved = v;
            undo.add([&store, saved] { store.save_locked(saved); });
        }
        std::erase_if(v.users, [&](const VolumeUser& u) { return u.id == result.id; });
        if (uses) v.users.push_back(me);
        store.save_locked(v);
    }

    spec.save(config_path);
    undo.commit();
    return result;
}

ReleaseResult release_bundle(VolumeStore& store, const std::string& bundle_arg, std::string id,
                             bool remove_anonymous) {
    ReleaseResult result;
    std::string bundle = bundle_arg;
    char buf[4096];
    if (::realpath(bundle_arg.c_str(), buf)) bundle = buf;
    else if (!bundle.empty() && bundle.front() != '/') bundle = clean_path(std::string(::getcwd(buf, sizeof buf) ? buf : "/") + "/" + bundle);
    result.id = id.empty() ? basename_of(clean_path(bundle)) : id;
    check_container_id(result.id);

    FileLock lock = store.lock();
    for (Volume v : store.list()) {
        size_t before = v.users.size();
        std::erase_if(v.users, [&](const VolumeUser& u) { return u.id == result.id; });
        if (v.users.size() == before) continue;
        store.save_locked(v);
        result.released.push_back(v.name);
        if (!store.live_users(v).empty()) continue;
        if (remove_anonymous && v.anonymous()) {
            store.remove_locked(v);
            result.removed.push_back(v.name);
        } else if (!v.options.empty()) {
            store.deactivate_locked(v);
        }
    }
    return result;
}

} // namespace ctk::volume
