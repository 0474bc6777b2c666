#include "image/extract.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <exception>
#include <optional>
#include <unordered_set>
#include <utility>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "image/entry_path.hpp"
#include "image/union_view.hpp"

namespace ctk::image {

namespace {

std::string join_key(const std::string& parent, const std::string& name) {
    return parent.empty() ? name : parent + "/" + name;
}

UniqueFd dup_fd(int fd, int flags) {
    int r = ::openat(fd, ".", flags | O_DIRECTORY | O_CLOEXEC);
    if (r < 0) throw_errno("open directory");
    return UniqueFd(r);
}

// overlayfs takes its private xattrs from the layers: a layer could plant
// whiteouts, opaque markers or redirects that way, so tars may not carry them.
bool refused_xattr(std::string_view name) {
    return name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.");
}

struct Times {
    struct timespec ts[2];
};

Times entry_times(archive_entry* e) {
    Times t{};
    t.ts[1].tv_sec = archive_entry_mtime(e);
    t.ts[1].tv_nsec = archive_entry_mtime_nsec(e);
    if (archive_entry_atime_is_set(e)) {
        t.ts[0].tv_sec = archive_entry_atime(e);
        t.ts[0].tv_nsec = archive_entry_atime_nsec(e);
    } else {
        t.ts[0] = t.ts[1];
    }
    return t;
}

struct Parent {
    int fd = -1;       // the directory in the target tree
    UniqueFd owned;    // set when fd is owned here
    std::string key;   // its path in the target tree, "" for the root
};

enum class Replaced { kept_directory, removed, removed_whiteout };

class Extractor {
public:
    Extractor(LayerStream* stream, int rootfd, std::vector<int> lowers, bool overlay,
              const std::string& what, const ExtractOptions& options)
        : stream_(stream), rootfd_(rootfd), overlay_(overlay), what_(what), options_(options) {
        mode_t m = ::umask(0);
        ::umask(m);
        umask_ = m;
        if (!lowers.empty()) {
            std::vector<int> roots{rootfd};
            roots.insert(roots.end(), lowers.begin(), lowers.end());
            union_.emplace(std::move(roots));
            lower_root_ = lowers.front();
        }
    }

    ExtractStats run(struct archive* opened = nullptr);

private:
    static la_ssize_t read_cb(struct archive*, void* self, const void** buf);
    [[noreturn]] void tar_error(int r);
    void entry(archive_entry* e, const char* name);

    Parent open_parent(const EntryPath& path);
    UniqueFd make_parents(const std::vector<std::string>& parts);
    Parent ensure_in_target(UnionView::Resolved& r);
    void copy_up(int parentfd, const std::string& name, const struct stat& st, int topfd,
                 const std::string& key);
    void implicit_dir(int parentfd, const std::string& name);
    Replaced replace(int parentfd, const std::string& name, bool new_is_dir);
    void invalidate() { cache_valid_ = false; }

    void make_file(Parent& p, const std::string& name, archive_entry* e);
    void make_dir(Parent& p, const std::string& name, archive_entry* e);
    void make_symlink(Parent& p, const std::string& name, archive_entry* e);
    void make_node(Parent& p, const std::string& name, archive_entry* e);
    void make_hardlink(Parent& p, const std::string& name, const char* target);
    void whiteout(const EntryPath& dir, const std::string& hidden);
    void opaque(const EntryPath& dir);
    void clear_lower(int dirfd, const std::string& key);
    UniqueFd open_target_dir(const std::string& key);

    void set_owner_mode_fd(int fd, archive_entry* e, bool force_chmod);
    void set_xattrs_fd(int fd, archive_entry* e);
    void set_meta_at(int parentfd, const std::string& name, archive_entry* e, bool chmod_ok);
    void defer_times(const std::string& key, const Times& t) { dir_times_.emplace_back(key, t); }
    void apply_dir_times();
    bool need_chmod(mode_t perm) const { return (perm & 07000) || (perm & umask_); }
    bool union_mode() const { return union_.has_value(); }

    LayerStream* stream_; // null: the caller's archive
    int rootfd_;
    bool overlay_;
    const std::string& what_;
    ExtractOptions options_;
    mode_t umask_ = 022;
    std::optional<UnionView> union_;
    int lower_root_ = -1;

    struct archive* a_ = nullptr;
    std::exception_ptr pending_;
    std::string last_entry_;
    std::unordered_set<std::string> created_;
    std::vector<std::pair<std::string, Times>> dir_times_;
    // The parent directory of the previous entry: tars list a directory's
    // files together. Kept open (not closed) when invalidated, since a
    // Parent may still borrow it.
    std::string cache_key_;
    UniqueFd cache_fd_;
    bool cache_valid_ = false;
    ExtractStats stats_;
};

la_ssize_t Extractor::read_cb(struct archive*, void* self, const void** buf) {
    auto* x = static_cast<Extractor*>(self);
    try {
        auto chunk = x->stream_->next();
        *buf = chunk.data();
        return static_cast<la_ssize_t>(chunk.size());
    } catch (...) {
        x->pending_ = std::current_exception();
        return -1;
    }
}

void Extractor::tar_error(int r) {
    if (pending_) std::rethrow_exception(pending_);
    const char* msg = archive_error_string(a_);
    std::string m = std::string("tar: ") + (msg ? msg : "unreadable archive");
    if (!last_entry_.empty()) m += " (after entry " + quote(last_entry_) + ")";
    throw Error(m, r == ARCHIVE_FATAL || r == ARCHIVE_FAILED ? ErrorKind::invalid : ErrorKind::failed);
}

ExtractStats Extractor::run(struct archive* opened) {
    a_ = opened ? opened : archive_read_new();
    if (!a_) throw Error("libarchive: out of memory");
    ScopeGuard free_archive([&] {
        if (!opened) archive_read_free(a_);
    });
    if (!opened) {
        archive_read_support_format_tar(a_);
        archive_read_support_format_empty(a_);
        if (archive_read_open(a_, this, nullptr, &Extractor::read_cb, nullptr) != ARCHIVE_OK)
            tar_error(ARCHIVE_FATAL);
    }
    if (union_mode()) {
        // The merged root shows the topmost layer's root directory: start from
        // the one below, a "./" entry of this layer overrides it.
        struct stat st;
        if (::fstat(lower_root_, &st) < 0) throw_errno("stat lower layer root");
        if (options_.preserve_owners && ::fchown(rootfd_, st.st_uid, st.st_gid) < 0)
            throw_errno("chown layer root");
        if (::fchmod(rootfd_, st.st_mode & 07777) < 0) throw_errno("chmod layer root");
        defer_times("", Times{{st.st_atim, st.st_mtim}});
    }
    for (;;) {
        archive_entry* e;
        int r = archive_read_next_header(a_, &e);
        if (r == ARCHIVE_EOF) break;
        // ARCHIVE_WARN: a name that is not valid in the locale's charset;
        // libarchive then keeps its raw bytes, which is what we want.
        if (r < ARCHIVE_WARN) tar_error(r);
        const char* name = archive_entry_pathname(e);
        if (!name) name = archive_entry_pathname_utf8(e);
        if (!name) throw_invalid("tar: entry without a name");
        entry(e, name);
        last_entry_ = name;
        stats_.entries++;
    }
    apply_dir_times();
    return stats_;
}

void Extractor::entry(archive_entry* e, const char* name) {
    EntryPath path = EntryPath::parse(name); // its errors name the entry
    try {
        const char* link = archive_entry_hardlink(e);
        mode_t type = archive_entry_filetype(e);
        if (path.is_root()) {
            if (link || type != AE_IFDIR) throw_invalid("the root of the layer is not a directory");
            if (!options_.layer) return; // docker cp's "./": the destination keeps its metadata
            set_owner_mode_fd(rootfd_, e, true);
            set_xattrs_fd(rootfd_, e);
            defer_times("", entry_times(e));
            return;
        }
        Whiteout w = options_.layer ? classify_whiteout(path.base()) : Whiteout{};
        switch (w.kind) {
        case WhiteoutKind::meta: return;
        case WhiteoutKind::file:
            stats_.whiteouts++;
            whiteout(path.parent(), w.hidden);
            return;
        case WhiteoutKind::opaque:
            stats_.whiteouts++;
            opaque(path.parent());
            return;
        case WhiteoutKind::none: break;
        }
        Parent p = open_parent(path);
        const std::string& base = path.base();
        if (link) {
            make_hardlink(p, base, link);
        } else {
            switch (type) {
            case AE_IFREG: make_file(p, base, e); break;
            case AE_IFDIR: make_dir(p, base, e); break;
            case AE_IFLNK: make_symlink(p, base, e); break;
            case AE_IFCHR:
            case AE_IFBLK:
            case AE_IFIFO: make_node(p, base, e); break;
            case AE_IFSOCK: return; // a socket is not content (GNU tar skips them too)
            default: throw_invalid("unsupported entry type " + std::to_string(type));
            }
        }
        created_.insert(join_key(p.key, base));
    } catch (const Error& err) {
        throw err.wrap("entry " + quote(name));
    }
}

// ---- parents

Parent Extractor::open_parent(const EntryPath& path) {
    Parent p;
    if (union_mode()) {
        UnionView::Resolved r = union_->resolve(path.parent().parts());
        return ensure_in_target(r);
    }
    p.key = path.parent_str();
    if (p.key.empty()) {
        p.fd = rootfd_;
        return p;
    }
    if (cache_valid_ && cache_key_ == p.key) {
        p.fd = cache_fd_.get();
        return p;
    }
    UniqueFd fd = try_open_in_root(rootfd_, p.key, O_PATH | O_DIRECTORY);
    if (!fd) {
        if (errno == ENOENT)
            fd = make_parents(path.parent().parts());
        else if (errno == ENOTDIR)
            throw_invalid("parent " + quote(p.key) + " is not a directory");
        else
            throw_errno("open", p.key);
    }
    cache_fd_ = std::move(fd);
    cache_key_ = p.key;
    cache_valid_ = true;
    p.fd = cache_fd_.get();
    return p;
}

// mkdir -p inside the root: each prefix resolved with RESOLVE_IN_ROOT, a
// missing one made in the directory its parent resolved to.
UniqueFd Extractor::make_parents(const std::vector<std::string>& parts) {
    UniqueFd cur = dup_fd(rootfd_, O_PATH);
    std::string prefix;
    for (const auto& comp : parts) {
        prefix = join_key(prefix, comp);
        UniqueFd next = try_open_in_root(rootfd_, prefix, O_PATH | O_DIRECTORY);
        if (!next) {
            if (errno == ENOTDIR) throw_invalid("parent " + quote(prefix) + " is not a directory");
            if (errno != ENOENT) throw_errno("open", prefix);
            if (::mkdirat(cur.get(), comp.c_str(), 0755) < 0) {
                if (errno == EEXIST)
                    throw_invalid("parent " + quote(prefix) + " is a symbolic link to nothing");
                throw_errno("mkdir", prefix);
            }
            int fd = ::openat(cur.get(), comp.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) throw_errno("open", prefix);
            next.reset(fd);
        }
        cur = std::move(next);
    }
    return cur;
}

// The directories of a resolved path made real in this layer's diff: copied
// up from the layer below that shows them (as overlayfs does on a write), or
// made new where nothing exists.
Parent Extractor::ensure_in_target(UnionView::Resolved& r) {
    Parent p;
    p.owned = dup_fd(rootfd_, O_PATH);
    for (size_t i = 0; i < r.real.size(); i++) {
        const std::string& comp = r.real[i];
        p.key = join_key(p.key, comp);
        int fd = ::openat(p.owned.get(), comp.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            if (errno != ENOENT) throw_errno("open", p.key);
            copy_up(p.owned.get(), comp, r.real_st[i], r.real_top[i].get(), p.key);
            fd = ::openat(p.owned.get(), comp.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) throw_errno("open", p.key);
        }
        p.owned.reset(fd);
    }
    for (const auto& comp : r.missing) {
        p.key = join_key(p.key, comp);
        implicit_dir(p.owned.get(), comp);
        int fd = ::openat(p.owned.get(), comp.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) throw_errno("open", p.key);
        p.owned.reset(fd);
    }
    p.fd = p.owned.get();
    return p;
}

void Extractor::copy_up(int parentfd, const std::string& name, const struct stat& st, int topfd,
                        const std::string& key) {
    if (::mkdirat(parentfd, name.c_str(), 0700) < 0) throw_errno("mkdir", key);
    UniqueFd fd(::openat(parentfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw_errno("open", key);
    if (options_.preserve_owners && ::fchown(fd.get(), st.st_uid, st.st_gid) < 0)
        throw_errno("chown", key);
    if (::fchmod(fd.get(), st.st_mode & 07777) < 0) throw_errno("chmod", key);
    char names[4096];
    ssize_t n = ::flistxattr(topfd, names, sizeof names);
    for (ssize_t i = 0; i < n;) {
        std::string xname(names + i);
        i += static_cast<ssize_t>(xname.size()) + 1;
        if (refused_xattr(xname)) continue;
        char value[4096];
        ssize_t v = ::fgetxattr(topfd, xname.c_str(), value, sizeof value);
        if (v >= 0 && ::fsetxattr(fd.get(), xname.c_str(), value, static_cast<size_t>(v), 0) < 0)
            throw_errno("setxattr " + xname + " on", key);
    }
    defer_times(key, Times{{st.st_atim, st.st_mtim}});
}

void Extractor::implicit_dir(int parentfd, const std::string& name) {
    if (::mkdirat(parentfd, name.c_str(), 0755) == 0) return;
    if (errno != EEXIST) throw_errno("mkdir", name);
    struct stat st;
    if (::fstatat(parentfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("stat", name);
    if (S_ISDIR(st.st_mode)) return;
    if (!is_overlay_whiteout(st)) throw_invalid(quote(name) + " is not a directory");
    // A directory made where this layer put a whiteout must not show the
    // lower directory's content again.
    if (::unlinkat(parentfd, name.c_str(), 0) < 0) throw_errno("unlink", name);
    if (::mkdirat(parentfd, name.c_str(), 0755) < 0) throw_errno("mkdir", name);
    UniqueFd fd(::openat(parentfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd || ::fsetxattr(fd.get(), overlay_opaque_xattr, "y", 1, 0) < 0)
        throw_errno("mark opaque", name);
}

Replaced Extractor::replace(int parentfd, const std::string& name, bool new_is_dir) {
    struct stat st;
    if (::fstatat(parentfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return Replaced::removed;
        throw_errno("stat", name);
    }
    if (options_.no_overwrite_dir_non_dir && S_ISDIR(st.st_mode) != new_is_dir)
        throw_conflict(S_ISDIR(st.st_mode) ? "cannot overwrite directory with non-directory"
                                           : "cannot overwrite non-directory with directory");
    if (S_ISDIR(st.st_mode)) {
        if (new_is_dir) return Replaced::kept_directory;
        invalidate();
        remove_tree_at(parentfd, name);
        return Replaced::removed;
    }
    invalidate();
    if (::unlinkat(parentfd, name.c_str(), 0) < 0 && errno != ENOENT) throw_errno("unlink", name);
    return overlay_ && is_overlay_whiteout(st) ? Replaced::removed_whiteout : Replaced::removed;
}

// ---- metadata

void Extractor::set_owner_mode_fd(int fd, archive_entry* e, bool force_chmod) {
    if (options_.preserve_owners) {
        la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
        if (uid < 0 || gid < 0 || uid > 0xfffffffe || gid > 0xfffffffe)
            throw_invalid("owner " + std::to_string(uid) + ":" + std::to_string(gid) + " out of range");
        // chown clears setuid/setgid and security.capability: mode and xattrs come after.
        if (::fchown(fd, static_cast<uid_t>(uid), static_cast<gid_t>(gid)) < 0) throw_errno("chown");
    }
    mode_t perm = archive_entry_perm(e);
    if ((force_chmod || need_chmod(perm)) && ::fchmod(fd, perm) < 0) throw_errno("chmod");
}

void Extractor::set_xattrs_fd(int fd, archive_entry* e) {
    if (archive_entry_xattr_reset(e) == 0) return;
    const char* name;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
        if (refused_xattr(name)) throw_invalid("xattr " + quote(name) + " is reserved for overlayfs");
        if (::fsetxattr(fd, name, value, size, 0) < 0) throw_errno("setxattr", name);
    }
}

// For entries that cannot be opened (symlinks, devices, FIFOs).
void Extractor::set_meta_at(int parentfd, const std::string& name, archive_entry* e, bool chmod_ok) {
    if (options_.preserve_owners) {
        la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
        if (uid < 0 || gid < 0 || uid > 0xfffffffe || gid > 0xfffffffe)
            throw_invalid("owner " + std::to_string(uid) + ":" + std::to_string(gid) + " out of range");
        if (::fchownat(parentfd, name.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid),
                       AT_SYMLINK_NOFOLLOW) < 0)
            throw_errno("chown");
    }
    mode_t perm = archive_entry_perm(e);
    if (chmod_ok && need_chmod(perm) && ::fchmodat(parentfd, name.c_str(), perm, 0) < 0)
        throw_errno("chmod");
    if (archive_entry_xattr_reset(e) > 0) {
        // No fd for these: the name relative to the parent's /proc/self/fd link.
        std::string path = "/proc/self/fd/" + std::to_string(parentfd) + "/" + name;
        const char* xname;
        const void* value;
        size_t size;
        while (archive_entry_xattr_next(e, &xname, &value, &size) == ARCHIVE_OK) {
            if (refused_xattr(xname))
                throw_invalid("xattr " + quote(xname) + " is reserved for overlayfs");
            if (::lsetxattr(path.c_str(), xname, value, size, 0) < 0) throw_errno("setxattr", xname);
        }
    }
    Times t = entry_times(e);
    if (::utimensat(parentfd, name.c_str(), t.ts, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("utimensat");
}

void Extractor::apply_dir_times() {
    for (const auto& [key, t] : dir_times_) {
        UniqueFd fd = key.empty() ? dup_fd(rootfd_, O_RDONLY)
                                  : try_open_in_root(rootfd_, key, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        if (!fd) continue; // replaced by a later entry
        if (::futimens(fd.get(), t.ts) < 0) throw_errno("utimensat", key);
    }
}

// ---- entries

void Extractor::make_file(Parent& p, const std::string& name, archive_entry* e) {
    mode_t perm = archive_entry_perm(e);
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = ::openat(p.fd, name.c_str(), flags, perm & 0777);
    if (fd < 0 && errno == EEXIST) {
        replace(p.fd, name, false);
        fd = ::openat(p.fd, name.c_str(), flags, perm & 0777);
    }
    if (fd < 0) throw_errno("create", name);
    UniqueFd owner(fd);
    const void* buf;
    size_t size;
    la_int64_t offset;
    uint64_t end = 0;
    for (;;) {
        int r = archive_read_data_block(a_, &buf, &size, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) tar_error(r);
        const char* data = static_cast<const char*>(buf);
        uint64_t at = static_cast<uint64_t>(offset);
        while (size > 0) {
            ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(at));
            if (n < 0) {
                if (errno == EINTR) continue;
                throw_errno("write", name);
            }
            data += n;
            at += static_cast<uint64_t>(n);
            size -= static_cast<size_t>(n);
        }
        end = std::max(end, at);
    }
    // A sparse file may end in a hole.
    if (archive_entry_size_is_set(e) && end < static_cast<uint64_t>(archive_entry_size(e)) &&
        ::ftruncate(fd, archive_entry_size(e)) < 0)
        throw_errno("truncate", name);
    set_owner_mode_fd(fd, e, false);
    set_xattrs_fd(fd, e);
    Times t = entry_times(e);
    if (::futimens(fd, t.ts) < 0) throw_errno("utimensat", name);
}

void Extractor::make_dir(Parent& p, const std::string& name, archive_entry* e) {
    mode_t perm = archive_entry_perm(e);
    bool existed = false, opaque = false;
    if (::mkdirat(p.fd, name.c_str(), perm & 0777) < 0) {
        if (errno != EEXIST) throw_errno("mkdir", name);
        Replaced r = replace(p.fd, name, true);
        existed = r == Replaced::kept_directory;
        opaque = r == Replaced::removed_whiteout;
        if (!existed && ::mkdirat(p.fd, name.c_str(), perm & 0777) < 0) throw_errno("mkdir", name);
    }
    UniqueFd fd(::openat(p.fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw_errno("open", name);
    set_owner_mode_fd(fd.get(), e, existed);
    set_xattrs_fd(fd.get(), e);
    if (opaque && ::fsetxattr(fd.get(), overlay_opaque_xattr, "y", 1, 0) < 0)
        throw_errno("mark opaque", name);
    defer_times(join_key(p.key, name), entry_times(e));
}

void Extractor::make_symlink(Parent& p, const std::string& name, archive_entry* e) {
    const char* target = archive_entry_symlink(e);
    if (!target) target = archive_entry_symlink_utf8(e);
    if (!target || !*target) throw_invalid("symbolic link without a target");
    if (::symlinkat(target, p.fd, name.c_str()) < 0) {
        if (errno != EEXIST) throw_errno("symlink", name);
        replace(p.fd, name, false);
        if (::symlinkat(target, p.fd, name.c_str()) < 0) throw_errno("symlink", name);
    }
    set_meta_at(p.fd, name, e, false);
}

void Extractor::make_node(Parent& p, const std::string& name, archive_entry* e) {
    mode_t type = archive_entry_filetype(e);
    if (type != AE_IFIFO && !options_.devices) throw_invalid("device nodes are not allowed here");
    dev_t dev = 0;
    if (type != AE_IFIFO) {
        dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
        if (overlay_ && type == AE_IFCHR && dev == 0)
            throw_invalid("a 0/0 character device cannot be stored in an overlay layer "
                          "(overlayfs reads it as a whiteout)");
    }
    mode_t mode = type | (archive_entry_perm(e) & 0777);
    if (::mknodat(p.fd, name.c_str(), mode, dev) < 0) {
        if (errno != EEXIST) throw_errno("mknod", name);
        replace(p.fd, name, false);
        if (::mknodat(p.fd, name.c_str(), mode, dev) < 0) throw_errno("mknod", name);
    }
    set_meta_at(p.fd, name, e, true);
}

void Extractor::make_hardlink(Parent& p, const std::string& name, const char* target) {
    EntryPath t = [&] {
        try {
            return EntryPath::parse(target);
        } catch (const Error&) {
            throw_invalid("hardlink target " + quote(target) + " escapes the rootfs");
        }
    }();
    if (t.is_root()) throw_invalid("hardlink to the root directory");
    auto missing = [&] {
        throw_invalid("hardlink target " + quote(target) + " does not exist in the rootfs");
    };
    // Where the target is: its parent directory (in this layer or a lower
    // one) and its name there.
    int from = -1;
    UniqueFd from_owned;
    UnionView::Resolved resolved;
    if (union_mode()) {
        try {
            resolved = union_->resolve(t.parent().parts());
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::invalid) throw;
            missing();
        }
        if (!resolved.missing.empty()) missing();
        UnionView::Lookup lk = union_->lookup(resolved.dir, t.base());
        if (lk.kind == UnionView::Lookup::absent) missing();
        if (lk.kind == UnionView::Lookup::directory)
            throw_invalid("hardlink target " + quote(target) + " is a directory");
        from = lk.parent_fd; // owned by resolved.dir
    } else if (t.parent().is_root()) {
        from = rootfd_;
    } else {
        from_owned = try_open_in_root(rootfd_, t.parent_str(), O_PATH | O_DIRECTORY);
        if (!from_owned) {
            if (errno == ENOENT || errno == ENOTDIR) missing();
            throw_errno("open", t.parent_str());
        }
        from = from_owned.get();
    }
    for (int attempt = 0;; attempt++) {
        if (::linkat(from, t.base().c_str(), p.fd, name.c_str(), 0) == 0) return;
        int err = errno;
        if (err == ENOENT) missing();
        if (err == EPERM) {
            struct stat st;
            if (::fstatat(from, t.base().c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
                throw_invalid("hardlink target " + quote(target) + " is a directory");
        }
        if (err != EEXIST || attempt > 0) throw_errno("link to " + quote(target) + " as", name, err);
        struct stat a, b;
        if (::fstatat(from, t.base().c_str(), &a, AT_SYMLINK_NOFOLLOW) == 0 &&
            ::fstatat(p.fd, name.c_str(), &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino)
            return; // already that file
        replace(p.fd, name, false);
    }
}

// ---- whiteouts

void Extractor::whiteout(const EntryPath& dir, const std::string& hidden) {
    if (overlay_) {
        if (!union_mode()) return; // nothing below the first layer
        UnionView::Resolved r;
        try {
            r = union_->resolve(dir.parts());
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::invalid) throw;
            return; // not a directory below: nothing to hide
        }
        if (!r.missing.empty()) return;
        Parent p = ensure_in_target(r);
        std::string key = join_key(p.key, hidden);
        struct stat st;
        bool exists = ::fstatat(p.fd, hidden.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
        if (created_.count(key)) {
            // Whiteouts apply to the layers below only: this layer's own
            // directory stays, without what lies beneath it.
            if (exists && S_ISDIR(st.st_mode)) {
                UniqueFd fd(::openat(p.fd, hidden.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                if (!fd || ::fsetxattr(fd.get(), overlay_opaque_xattr, "y", 1, 0) < 0)
                    throw_errno("mark opaque", key);
            }
            return;
        }
        if (exists) remove_tree_at(p.fd, hidden);
        if (::mknodat(p.fd, hidden.c_str(), S_IFCHR | 0000, makedev(0, 0)) < 0)
            throw_errno("make whiteout", key);
        return;
    }
    std::string parent = dir.str();
    UniqueFd fd = open_target_dir(parent);
    if (!fd) return;
    std::string key = join_key(parent, hidden);
    invalidate();
    if (created_.count(key)) {
        struct stat st;
        if (::fstatat(fd.get(), hidden.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
            UniqueFd sub(::openat(fd.get(), hidden.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub) throw_errno("open", key);
            clear_lower(sub.get(), key);
        }
        return;
    }
    remove_tree_at(fd.get(), hidden);
}

void Extractor::opaque(const EntryPath& dir) {
    if (overlay_) {
        if (!union_mode()) return;
        UnionView::Resolved r;
        try {
            r = union_->resolve(dir.parts());
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::invalid) throw;
            return;
        }
        if (!r.missing.empty()) return;
        Parent p = ensure_in_target(r);
        UniqueFd fd = dup_fd(p.fd, O_RDONLY);
        if (::fsetxattr(fd.get(), overlay_opaque_xattr, "y", 1, 0) < 0)
            throw_errno("mark opaque", p.key.empty() ? "/" : p.key);
        return;
    }
    std::string key = dir.str();
    if (UniqueFd fd = open_target_dir(key)) clear_lower(fd.get(), key);
}

// The directory `key` of the target ("" = its root), or an empty fd where
// there is none to open.
UniqueFd Extractor::open_target_dir(const std::string& key) {
    UniqueFd fd = key.empty() ? dup_fd(rootfd_, O_RDONLY) : try_open_in_root(rootfd_, key, O_RDONLY | O_DIRECTORY);
    if (!fd && errno != ENOENT && errno != ENOTDIR) throw_errno("open", key);
    return fd;
}

// Removes everything below `dirfd` that this layer did not create (an opaque
// directory keeps only the current layer's entries, OCI layer.md).
void Extractor::clear_lower(int dirfd, const std::string& key) {
    invalidate();
    for (const auto& n : entry_names(dirfd, key)) {
        std::string child = join_key(key, n);
        if (!created_.count(child)) {
            remove_tree_at(dirfd, n);
            continue;
        }
        struct stat st;
        if (::fstatat(dirfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
            UniqueFd sub(::openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub) throw_errno("open", child);
            clear_lower(sub.get(), child);
        }
    }
}

} // namespace

ExtractStats extract_flat(LayerStream& stream, int rootfd, const std::string& what,
                          const ExtractOptions& options) {
    try {
        return Extractor(&stream, rootfd, {}, false, what, options).run();
    } catch (const Error& e) {
        throw e.wrap(what);
    }
}

ExtractStats extract_overlay(LayerStream& stream, int difffd, const std::vector<int>& lowers,
                             const std::string& what, const ExtractOptions& options) {
    try {
        return Extractor(&stream, difffd, lowers, true, what, options).run();
    } catch (const Error& e) {
        throw e.wrap(what);
    }
}

ExtractStats extract_archive(struct archive* a, int dirfd, const std::string& what, const ExtractOptions& options) {
    try {
        return Extractor(nullptr, dirfd, {}, false, what, options).run(a);
    } catch (const Error& e) {
        throw e.wrap(what);
    }
}

} // namespace ctk::image
