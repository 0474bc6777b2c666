#include "engine/container_archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "engine/timefmt.hpp"

namespace ctk::engine {

Json PathStat::to_json() const {
    return Json{{"name", name}, {"size", size}, {"mode", mode}, {"mtime", mtime}, {"linkTarget", link_target}};
}

uint32_t go_file_mode(uint32_t m) {
    uint32_t out = m & 0777;
    switch (m & S_IFMT) {
    case S_IFDIR: out |= 1u << 31; break;
    case S_IFLNK: out |= 1u << 27; break;
    case S_IFIFO: out |= 1u << 25; break;
    case S_IFSOCK: out |= 1u << 24; break;
    case S_IFBLK: out |= 1u << 26; break;
    case S_IFCHR: out |= (1u << 26) | (1u << 21); break;
    default: break;
    }
    if (m & S_ISUID) out |= 1u << 23;
    if (m & S_ISGID) out |= 1u << 22;
    if (m & S_ISVTX) out |= 1u << 20;
    return out;
}

namespace {

// "/a/b/" -> {"/a", "b"}; "/" -> {"/", ""}
std::pair<std::string, std::string> parent_and_name(std::string p) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    if (p.empty() || p == "/") return {"/", ""};
    auto slash = p.rfind('/');
    if (slash == std::string::npos) return {"/", p};
    return {slash == 0 ? "/" : p.substr(0, slash), p.substr(slash + 1)};
}

std::vector<std::string> components(const std::string& p) {
    std::vector<std::string> out;
    for (const auto& c : split(p, '/'))
        if (!c.empty() && c != ".") out.push_back(c);
    return out;
}

[[noreturn]] void archive_fail(archive* a, const std::string& what) {
    const char* m = archive_error_string(a);
    throw Error(what + ": " + (m ? m : "unexpected end of archive"), ErrorKind::invalid);
}

void add_tree(archive* a, int dirfd, const std::string& name, const std::string& entry_name) {
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("stat", entry_name);
    archive_entry* e = archive_entry_new();
    ScopeGuard free_entry([&] { archive_entry_free(e); });
    archive_entry_copy_stat(e, &st);
    std::string path = entry_name;
    if (S_ISDIR(st.st_mode) && (path.empty() || path.back() != '/')) path += "/";
    archive_entry_set_pathname(e, path.c_str());
    UniqueFd file;
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = ::readlinkat(dirfd, name.c_str(), target, sizeof target - 1);
        if (n < 0) throw_errno("readlink", entry_name);
        target[n] = 0;
        archive_entry_set_symlink(e, target);
        archive_entry_set_size(e, 0);
    } else if (S_ISREG(st.st_mode)) {
        file.reset(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!file) throw_errno("open", entry_name);
    } else {
        archive_entry_set_size(e, 0);
    }
    if (archive_write_header(a, e) != ARCHIVE_OK) archive_fail(a, "tar of " + entry_name);
    if (file) {
        char buf[1 << 16];
        for (;;) {
            ssize_t n = ::read(file.get(), buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw_errno("read", entry_name);
            if (n == 0) break;
            if (archive_write_data(a, buf, static_cast<size_t>(n)) < 0) archive_fail(a, "tar of " + entry_name);
        }
    }
    if (S_ISDIR(st.st_mode)) {
        UniqueFd d(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!d) throw_errno("open", entry_name);
        std::vector<std::string> names;
        if (DIR* dir = ::fdopendir(::dup(d.get()))) {
            while (dirent* de = ::readdir(dir)) {
                std::string n = de->d_name;
                if (n != "." && n != "..") names.push_back(n);
            }
            ::closedir(dir);
        }
        std::sort(names.begin(), names.end());
        for (const auto& n : names) add_tree(a, d.get(), n, (entry_name.empty() ? "" : entry_name + "/") + n);
    }
}

// The directory `path` inside the root, each missing component made (0755).
UniqueFd make_dirs_in_root(int root_fd, const std::string& path) {
    UniqueFd cur = open_in_root(root_fd, "/", O_PATH | O_DIRECTORY);
    std::string walked;
    for (const auto& c : components(path)) {
        if (c == "..") throw Error("tar entry leaves the destination: " + quote(path), ErrorKind::invalid);
        walked += "/" + c;
        UniqueFd next = try_open_in_root(root_fd, walked, O_PATH | O_DIRECTORY);
        if (!next) {
            if (errno != ENOENT) throw_errno("open", walked);
            if (::mkdirat(cur.get(), c.c_str(), 0755) < 0 && errno != EEXIST) throw_errno("mkdir", walked);
            next = open_in_root(root_fd, walked, O_PATH | O_DIRECTORY);
        }
        cur = std::move(next);
    }
    return cur;
}

void set_metadata(int dirfd, const std::string& name, archive_entry* e, bool keep_owner, bool is_link) {
    if (keep_owner)
        ::fchownat(dirfd, name.c_str(), static_cast<uid_t>(archive_entry_uid(e)), static_cast<gid_t>(archive_entry_gid(e)),
                   AT_SYMLINK_NOFOLLOW);
    // AT_SYMLINK_NOFOLLOW: glibc changes the mode through an O_PATH fd, so an
    // entry swapped for a symlink meanwhile is not followed
    if (!is_link) ::fchmodat(dirfd, name.c_str(), archive_entry_perm(e) & 07777, AT_SYMLINK_NOFOLLOW);
    timespec t[2];
    t[0].tv_sec = archive_entry_atime_is_set(e) ? archive_entry_atime(e) : archive_entry_mtime(e);
    t[0].tv_nsec = 0;
    t[1].tv_sec = archive_entry_mtime(e);
    t[1].tv_nsec = archive_entry_mtime_nsec(e);
    ::utimensat(dirfd, name.c_str(), t, AT_SYMLINK_NOFOLLOW);
}

} // namespace

PathStat stat_in_root(int root_fd, const std::string& path) {
    auto [parent, name] = parent_and_name(path.empty() ? "/" : path);
    PathStat ps;
    struct stat st;
    UniqueFd pfd = try_open_in_root(root_fd, parent, O_PATH | O_DIRECTORY);
    bool ok;
    if (name.empty()) ok = pfd && ::fstat(pfd.get(), &st) == 0;
    else ok = pfd && ::fstatat(pfd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (!ok) throw_not_found("no such file or directory: " + path);
    ps.name = name.empty() ? "/" : name;
    ps.size = st.st_size;
    ps.mode = go_file_mode(st.st_mode);
    ps.mtime = format_rfc3339_nano(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = ::readlinkat(pfd.get(), name.c_str(), target, sizeof target - 1);
        if (n > 0) ps.link_target.assign(target, static_cast<size_t>(n));
    }
    return ps;
}

void write_tar(int root_fd, const std::string& path, const std::string& name, int out_fd) {
    auto [parent, last] = parent_and_name(path.empty() ? "/" : path);
    UniqueFd pfd = try_open_in_root(root_fd, parent, O_PATH | O_DIRECTORY);
    if (!pfd) throw_not_found("no such file or directory: " + path);
    archive* a = archive_write_new();
    ScopeGuard free_archive([&] { archive_write_free(a); });
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    if (archive_write_open_fd(a, out_fd) != ARCHIVE_OK) archive_fail(a, "tar");
    if (last.empty()) {
        UniqueFd root = open_in_root(root_fd, "/", O_RDONLY | O_DIRECTORY);
        add_tree(a, root.get(), ".", name.empty() ? "." : name);
    } else {
        add_tree(a, pfd.get(), last, name);
    }
    if (archive_write_close(a) != ARCHIVE_OK) archive_fail(a, "tar");
}

void extract_tar(int root_fd, const std::string& dest, int in_fd, const ExtractOptions& o) {
    {
        UniqueFd d = try_open_in_root(root_fd, dest, O_PATH | O_DIRECTORY);
        if (!d) throw_not_found("no such directory: " + dest);
    }
    archive* a = archive_read_new();
    ScopeGuard free_archive([&] { archive_read_free(a); });
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    archive_read_support_filter_all(a);
    if (archive_read_open_fd(a, in_fd, 1 << 16) != ARCHIVE_OK) archive_fail(a, "Error processing tar file");
    std::string base = dest;
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    for (;;) {
        archive_entry* e = nullptr;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) archive_fail(a, "Error processing tar file");
        std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
        auto parts = components(name);
        for (const auto& p : parts)
            if (p == "..") throw Error("Error processing tar file: entry " + quote(name) + " leaves the destination", ErrorKind::invalid);
        if (parts.empty()) continue; // "./" itself
        std::string rel;
        for (size_t i = 0; i + 1 < parts.size(); i++) rel += "/" + parts[i];
        UniqueFd dir = make_dirs_in_root(root_fd, (base == "/" ? "" : base) + rel);
        UniqueFd dirw(::openat(dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dirw) throw_errno("open", base + rel);
        const std::string& leaf = parts.back();
        std::string shown = base + rel + "/" + leaf;
        mode_t type = archive_entry_filetype(e);
        struct stat existing;
        bool exists = ::fstatat(dirw.get(), leaf.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0;
        bool is_dir_entry = type == AE_IFDIR;
        if (exists && o.no_overwrite_dir_non_dir && S_ISDIR(existing.st_mode) != is_dir_entry)
            throw Error("cannot overwrite " + std::string(S_ISDIR(existing.st_mode) ? "directory" : "non-directory") + " " +
                            quote(shown) + " with " + (is_dir_entry ? "directory" : "non-directory"),
                        ErrorKind::conflict);
        if (exists && !is_dir_entry) {
            if (S_ISDIR(existing.st_mode)) remove_tree_at(dirw.get(), leaf);
            else if (!(type == AE_IFREG && S_ISREG(existing.st_mode))) ::unlinkat(dirw.get(), leaf.c_str(), 0);
        } else if (exists && is_dir_entry && !S_ISDIR(existing.st_mode)) {
            ::unlinkat(dirw.get(), leaf.c_str(), 0);
            exists = false;
        }
        const char* hardlink = archive_entry_hardlink(e);
        if (hardlink) {
            auto tparts = components(hardlink);
            for (const auto& p : tparts)
                if (p == "..") throw Error("Error processing tar file: link " + quote(hardlink) + " leaves the destination", ErrorKind::invalid);
            std::string tpath = base == "/" ? "" : base;
            for (size_t i = 0; i + 1 < tparts.size(); i++) tpath += "/" + tparts[i];
            UniqueFd tdir = try_open_in_root(root_fd, tpath.empty() ? "/" : tpath, O_PATH | O_DIRECTORY);
            if (!tdir || tparts.empty() || ::linkat(tdir.get(), tparts.back().c_str(), dirw.get(), leaf.c_str(), 0) < 0)
                throw_errno("link", shown);
            continue;
        }
        switch (type) {
        case AE_IFDIR:
            if (!exists && ::mkdirat(dirw.get(), leaf.c_str(), 0755) < 0 && errno != EEXIST) throw_errno("mkdir", shown);
            set_metadata(dirw.get(), leaf, e, o.keep_owner, false);
            break;
        case AE_IFREG: {
            UniqueFd f(::openat(dirw.get(), leaf.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
            if (!f) throw_errno("create", shown);
            const void* buf;
            size_t size;
            la_int64_t off;
            for (;;) {
                int rr = archive_read_data_block(a, &buf, &size, &off);
                if (rr == ARCHIVE_EOF) break;
                if (rr < ARCHIVE_WARN) archive_fail(a, "Error processing tar file");
                if (::lseek(f.get(), off, SEEK_SET) < 0) throw_errno("seek", shown);
                write_all(f.get(), std::string_view(static_cast<const char*>(buf), size), shown);
            }
            f.reset();
            set_metadata(dirw.get(), leaf, e, o.keep_owner, false);
            break;
        }
        case AE_IFLNK: {
            const char* target = archive_entry_symlink(e);
            if (::symlinkat(target ? target : "", dirw.get(), leaf.c_str()) < 0) throw_errno("symlink", shown);
            set_metadata(dirw.get(), leaf, e, o.keep_owner, true);
            break;
        }
        case AE_IFIFO:
        case AE_IFCHR:
        case AE_IFBLK: {
            mode_t m = (type == AE_IFIFO ? S_IFIFO : type == AE_IFCHR ? S_IFCHR : S_IFBLK) | (archive_entry_perm(e) & 0777);
            if (::mknodat(dirw.get(), leaf.c_str(), m, archive_entry_rdev(e)) < 0) throw_errno("mknod", shown);
            set_metadata(dirw.get(), leaf, e, o.keep_owner, false);
            break;
        }
        default: break; // sockets and unknown types are skipped, as tar does
        }
    }
}

} // namespace ctk::engine
