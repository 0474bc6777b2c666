#include "build/copy.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "build/dockerignore.hpp"
#include "build/shell_words.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "image/tree_archive.hpp"

namespace ctk::build {

namespace {

struct Owner {
    bool keep = false; // keep the source's owners (ADD of an archive)
    uid_t uid = 0;
    gid_t gid = 0;
};

// mkdir -p inside a root; new directories get 0755 and `owner`.
UniqueFd make_dirs_in_root(int rootfd, const std::string& path, const Owner& owner) {
    UniqueFd cur = open_in_root(rootfd, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    std::string sofar;
    for (const auto& comp : split(path, '/')) {
        if (comp.empty() || comp == ".") continue;
        sofar += "/" + comp;
        UniqueFd next = try_open_in_root(rootfd, sofar, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (!next) {
            if (::mkdirat(cur.get(), comp.c_str(), 0755) < 0 && errno != EEXIST) throw_errno("mkdir", sofar);
            next = open_in_root(rootfd, sofar, O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (::fchownat(next.get(), "", owner.uid, owner.gid, AT_EMPTY_PATH) < 0) throw_errno("chown", sofar);
        }
        cur = std::move(next);
    }
    return cur;
}

void set_meta(int dirfd, const std::string& name, const struct stat& st, const Owner& owner, bool is_link,
              std::optional<mode_t> chmod) {
    uid_t u = owner.keep ? st.st_uid : owner.uid;
    gid_t g = owner.keep ? st.st_gid : owner.gid;
    if (::fchownat(dirfd, name.c_str(), u, g, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("chown", name);
    if (!is_link) {
        mode_t mode = chmod ? *chmod : (st.st_mode & 07777);
        if (::fchmodat(dirfd, name.c_str(), mode, 0) < 0) throw_errno("chmod", name);
    }
    struct timespec ts[2] = {st.st_mtim, st.st_mtim};
    ::utimensat(dirfd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

void remove_existing(int dirfd, const std::string& name, bool want_dir) {
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return;
    if (S_ISDIR(st.st_mode) && want_dir) return;
    if (S_ISDIR(st.st_mode)) remove_tree_at(dirfd, name);
    else if (::unlinkat(dirfd, name.c_str(), 0) < 0) throw_errno("unlink", name);
}

struct CopyCtx {
    Owner owner;
    std::optional<mode_t> chmod;
    const IgnoreMatcher* ignore = nullptr; // context sources only
};

// Copies the entry `name` of `sdir` (relative path `rel` in its source, for
// .dockerignore) to `dname` in `ddir`.
void copy_entry(int sdir, const std::string& name, const std::string& rel, int ddir, const std::string& dname,
                const CopyCtx& c) {
    struct stat st;
    if (::fstatat(sdir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("stat", rel);
    if (S_ISDIR(st.st_mode)) {
        remove_existing(ddir, dname, true);
        if (::mkdirat(ddir, dname.c_str(), 0755) < 0 && errno != EEXIST) throw_errno("mkdir", dname);
        UniqueFd s(::openat(sdir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!s) throw_errno("open", rel);
        UniqueFd d(::openat(ddir, dname.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!d) throw_errno("open", dname);
        std::vector<std::string> names = entry_names(s.get(), rel);
        std::sort(names.begin(), names.end());
        for (const auto& n : names) {
            std::string r = rel.empty() || rel == "." ? n : rel + "/" + n;
            if (ignored_entry(c.ignore, s.get(), n, r)) continue;
            copy_entry(s.get(), n, r, d.get(), n, c);
        }
        set_meta(ddir, dname, st, c.owner, false, c.chmod);
        return;
    }
    remove_existing(ddir, dname, false);
    if (S_ISREG(st.st_mode)) {
        UniqueFd in(::openat(sdir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!in) throw_errno("open", rel);
        UniqueFd out(::openat(ddir, dname.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!out) throw_errno("create", dname);
        off_t left = st.st_size;
        while (left > 0) {
            ssize_t n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, static_cast<size_t>(left), 0);
            if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS)) {
                char buf[65536];
                ssize_t r = ::read(in.get(), buf, sizeof buf);
                if (r < 0) throw_errno("read", rel);
                if (r == 0) break;
                write_all(out.get(), std::string_view(buf, static_cast<size_t>(r)), dname);
                left -= r;
                continue;
            }
            if (n < 0) throw_errno("copy", rel);
            if (n == 0) break;
            left -= n;
        }
    } else if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = ::readlinkat(sdir, name.c_str(), target, sizeof target - 1);
        if (n < 0) throw_errno("readlink", rel);
        target[n] = 0;
        if (::symlinkat(target, ddir, dname.c_str()) < 0) throw_errno("symlink", dname);
        set_meta(ddir, dname, st, c.owner, true, std::nullopt);
        return;
    } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        if (::mknodat(ddir, dname.c_str(), st.st_mode, st.st_rdev) < 0) throw_errno("mknod", dname);
    } else {
        return; // sockets
    }
    set_meta(ddir, dname, st, c.owner, false, c.chmod);
}

// Extracts a local tar (plain, gzip, bzip2, xz, zstd) into `dir` with the
// layer extractor (img-pack extract's): entries stay inside `dir`, owners kept.
void extract_archive(const std::string& file, const std::string& dir) {
    UniqueFd in = open_path(file, O_RDONLY | O_CLOEXEC);
    UniqueFd root = open_dir(dir);
    image::ExtractOptions o;
    o.layer = false;
    try {
        image::extract_tree_tar(root.get(), "/", in.get(), o);
    } catch (const Error& e) {
        throw e.wrap("ADD " + file);
    }
}

// /etc/passwd and /etc/group of a rootfs (read in-root).
std::optional<std::pair<uint32_t, uint32_t>> lookup_db(int rootfd, const std::string& file, const std::string& name) {
    UniqueFd fd = try_open_in_root(rootfd, file, O_RDONLY | O_CLOEXEC);
    if (!fd) return std::nullopt;
    for (const auto& line : split(read_fd(fd.get(), 4u << 20), '\n')) {
        auto f = split(line, ':');
        // passwd: name:x:uid:gid:…  group: name:x:gid[:members]
        if (f.size() >= 3 && f[0] == name) {
            auto a = parse_uint(f[2]);
            auto b = f.size() >= 4 ? parse_uint(f[3]) : std::nullopt;
            if (!b) b = a; // a group line: members, not a gid
            if (a && b) return std::make_pair(uint32_t(*a), uint32_t(*b));
        }
    }
    return std::nullopt;
}

Owner parse_chown(const std::string& spec, int rootfd) {
    Owner o;
    if (spec.empty()) return o;
    auto parts = split_once(spec, ':');
    std::string user = parts ? parts->first : spec;
    std::string group = parts ? parts->second : "";
    if (auto n = parse_uint(user)) {
        o.uid = uid_t(*n);
        o.gid = gid_t(*n);
    } else {
        auto e = rootfd >= 0 ? lookup_db(rootfd, "/etc/passwd", user) : std::nullopt;
        if (!e) throw_invalid("unable to convert uid/gid chown string to host mapping: can't find uid for user " + user);
        o.uid = e->first;
        o.gid = e->second;
    }
    if (!group.empty()) {
        if (auto n = parse_uint(group)) {
            o.gid = gid_t(*n);
        } else {
            auto e = rootfd >= 0 ? lookup_db(rootfd, "/etc/group", group) : std::nullopt;
            if (!e) throw_invalid("unable to convert uid/gid chown string to host mapping: can't find gid for group " + group);
            o.gid = e->first;
        }
    }
    return o;
}

} // namespace

void make_dir_in_root(const std::string& rootfs, const std::string& path) {
    UniqueFd root = open_dir(rootfs);
    make_dirs_in_root(root.get(), path, Owner{});
}

void copy_into_root(const std::string& rootfs, const CopySpec& spec) {
    const char* name = spec.add ? "ADD" : "COPY";
    IgnoreMatcher ignore_rules;
    if (!spec.dockerignore.empty()) ignore_rules = IgnoreMatcher::parse(spec.dockerignore);
    const IgnoreMatcher* ignore = spec.dockerignore.empty() ? nullptr : &ignore_rules;
    UniqueFd srcfd = open_dir(spec.from);
    UniqueFd root = open_dir(rootfs);
    std::string dest_clean = spec.dest;
    Owner owner = parse_chown(spec.chown, root.get());
    CopyCtx cc;
    cc.owner = owner;
    if (!spec.chmod.empty()) {
        char* end = nullptr;
        unsigned long m = std::strtoul(spec.chmod.c_str(), &end, 8);
        if (spec.chmod.empty() || *end || m > 07777) throw_invalid(std::string(name) + ": --chmod=" + spec.chmod + ": not an octal mode");
        cc.chmod = static_cast<mode_t>(m);
    }
    cc.ignore = ignore;
    // An existing directory at the destination takes files by their names.
    UniqueFd existing = try_open_in_root(root.get(), dest_clean, O_PATH | O_DIRECTORY | O_CLOEXEC);
    std::vector<CopySource> sources = match_sources(spec.from, spec.sources, ignore, spec.add);
    if (sources.size() > 1 && !spec.dest_dir)
        throw_invalid(std::string("When using ") + name + " with more than one source file, the destination must be a directory and end with a /");
    bool into_dir = spec.dest_dir || sources.size() > 1 || bool(existing);
    for (const auto& so : sources) {
        const std::string& rel = so.rel;
        std::string parent_rel = rel.find('/') == std::string::npos ? "" : rel.substr(0, rel.rfind('/'));
        std::string base = rel.substr(rel.rfind('/') == std::string::npos ? 0 : rel.rfind('/') + 1);
        UniqueFd pd = open_in_root(srcfd.get(), parent_rel.empty() ? "/" : parent_rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        bool archive = so.archive;
        if (so.dir || archive) {
            UniqueFd dd = make_dirs_in_root(root.get(), dest_clean, owner);
            UniqueFd d(::openat(dd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            if (!d) throw_errno("open", dest_clean);
            if (archive) {
                TempDir x("add", rootfs.substr(0, rootfs.find_last_of('/') == std::string::npos ? 0 : rootfs.find_last_of('/')));
                extract_archive(spec.from + "/" + rel, x.path());
                UniqueFd xd = open_dir(x.path());
                CopyCtx keep = cc;
                keep.owner.keep = spec.chown.empty();
                keep.ignore = nullptr;
                std::vector<std::string> names;
                list_tree(xd.get(), "", names);
                for (const auto& n : names)
                    if (n.find('/') == std::string::npos) copy_entry(xd.get(), n, n, d.get(), n, keep);
                continue;
            }
            UniqueFd sd = rel.empty() ? UniqueFd(::dup(srcfd.get()))
                                      : UniqueFd(::openat(pd.get(), base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sd) throw_errno("open", rel);
            std::vector<std::string> names = entry_names(sd.get(), rel);
            std::sort(names.begin(), names.end());
            for (const auto& n : names) {
                std::string r = rel.empty() ? n : rel + "/" + n;
                if (ignored_entry(ignore, sd.get(), n, r)) continue;
                copy_entry(sd.get(), n, r, d.get(), n, cc);
            }
            continue;
        }
        std::string target_dir = into_dir ? dest_clean : dest_clean.substr(0, dest_clean.rfind('/'));
        std::string target_name = into_dir ? base : dest_clean.substr(dest_clean.rfind('/') + 1);
        if (target_dir.empty()) target_dir.push_back('/'); // (= "/" trips g++ 12's -Wrestrict here)
        UniqueFd dd = make_dirs_in_root(root.get(), target_dir, owner);
        UniqueFd d(::openat(dd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!d) throw_errno("open", target_dir);
        copy_entry(pd.get(), base, rel, d.get(), target_name, cc);
    }
}

} // namespace ctk::build
