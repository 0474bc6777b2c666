#include "image/layer_writer.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "image/entry_path.hpp"
#include "image/union_view.hpp"
#include "oci/media_types.hpp"

namespace ctk::image {

namespace {

std::string fd_path(int dirfd, const std::string& name) {
    return "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
}

// The xattrs of an entry that belong in a layer: not overlayfs's own, not
// the host's SELinux label.
std::vector<std::pair<std::string, std::string>> layer_xattrs(int dirfd, const std::string& name) {
    std::vector<std::pair<std::string, std::string>> out;
    std::string p = fd_path(dirfd, name);
    ssize_t n = ::llistxattr(p.c_str(), nullptr, 0);
    if (n <= 0) {
        if (n < 0 && errno != ENOTSUP && errno != ENODATA) throw_errno("list xattrs of", p);
        return out;
    }
    std::string names(static_cast<size_t>(n), '\0');
    n = ::llistxattr(p.c_str(), names.data(), names.size());
    if (n < 0) throw_errno("list xattrs of", p);
    names.resize(static_cast<size_t>(n));
    for (size_t i = 0; i < names.size();) {
        std::string key(names.c_str() + i);
        i += key.size() + 1;
        if (key.empty() || key.rfind("trusted.overlay.", 0) == 0 || key == "security.selinux") continue;
        ssize_t vn = ::lgetxattr(p.c_str(), key.c_str(), nullptr, 0);
        if (vn < 0) {
            if (errno == ENODATA) continue;
            throw_errno("read xattr " + key + " of", p);
        }
        std::string value(static_cast<size_t>(vn), '\0');
        vn = ::lgetxattr(p.c_str(), key.c_str(), value.data(), value.size());
        if (vn < 0) throw_errno("read xattr " + key + " of", p);
        value.resize(static_cast<size_t>(vn));
        out.emplace_back(std::move(key), std::move(value));
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool is_opaque(int dirfd, const std::string& name) {
    char v[4];
    ssize_t n = ::lgetxattr(fd_path(dirfd, name).c_str(), "trusted.overlay.opaque", v, sizeof v);
    return n == 1 && v[0] == 'y';
}

std::string read_link(int dirfd, const std::string& name) {
    std::string buf(256, '\0');
    for (;;) {
        ssize_t n = ::readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
        if (n < 0) throw_errno("readlink", name);
        if (static_cast<size_t>(n) < buf.size()) {
            buf.resize(static_cast<size_t>(n));
            return buf;
        }
        buf.resize(buf.size() * 2);
    }
}

// Directory entries sorted by name (the tar's order, and a stable one).
std::vector<std::string> sorted_names(int dirfd) {
    int dup = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dup < 0) throw_errno("open directory");
    DIR* d = ::fdopendir(dup);
    if (!d) {
        ::close(dup);
        throw_errno("fdopendir");
    }
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
        if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
        names.emplace_back(e->d_name);
    }
    int err = errno;
    ::closedir(d);
    if (err) throw_errno("readdir", "", err);
    std::sort(names.begin(), names.end());
    return names;
}

UniqueFd open_subdir(int dirfd, const std::string& name) {
    int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) throw_errno("open directory", name);
    return UniqueFd(fd);
}

} // namespace

struct LayerTarWriter::State {
    std::optional<oci::Layout> layout; // a gzip'd blob of it; else a plain tar to out_fd
    std::optional<oci::BlobWriter> blob;
    int out_fd = -1;
    Hasher diff;
    uint64_t tar_size = 0;
    uint64_t content_size = 0;
    uint64_t entries = 0;
    z_stream z{};
    bool z_ready = false;
    struct archive* a = nullptr;
    std::exception_ptr failure;
    std::map<std::pair<dev_t, ino_t>, std::string> links;
    std::vector<unsigned char> out = std::vector<unsigned char>(256 * 1024);
    std::vector<char> buf = std::vector<char>(256 * 1024);
    bool finished = false;

    explicit State(const oci::Layout& l) : layout(l), blob(l.begin_blob()) {}
    explicit State(int fd) : out_fd(fd) {}

    void deflate_some(const void* data, size_t size, int flush) {
        z.next_in = static_cast<Bytef*>(const_cast<void*>(data));
        z.avail_in = static_cast<uInt>(size);
        do {
            z.next_out = out.data();
            z.avail_out = static_cast<uInt>(out.size());
            int r = ::deflate(&z, flush);
            if (r == Z_STREAM_ERROR) throw Error("gzip: deflate failed");
            size_t have = out.size() - z.avail_out;
            if (have) blob->write(out.data(), have);
        } while (z.avail_out == 0 || (flush == Z_FINISH && z.avail_in > 0));
    }

    void consume(const void* data, size_t size) {
        tar_size += size;
        if (out_fd >= 0) {
            write_all(out_fd, std::string_view(static_cast<const char*>(data), size), "tar");
            return;
        }
        diff.update(data, size);
        deflate_some(data, size, Z_NO_FLUSH);
    }

    static la_ssize_t write_cb(struct archive*, void* client, const void* data, size_t size) {
        auto* s = static_cast<State*>(client);
        try {
            s->consume(data, size);
        } catch (...) {
            s->failure = std::current_exception();
            return -1;
        }
        return static_cast<la_ssize_t>(size);
    }

    void check(int r, const std::string& what) {
        if (r >= ARCHIVE_WARN) return;
        if (failure) std::rethrow_exception(failure);
        throw Error(what + ": " + (archive_error_string(a) ? archive_error_string(a) : "tar writer failed"));
    }

    void write_header(struct archive_entry* e, const std::string& path) {
        check(archive_write_header(a, e), "layer entry " + quote(path));
        entries++;
    }
};

LayerTarWriter::LayerTarWriter(const oci::Layout& layout, const LayerWriteOptions& options)
    : s_(std::make_unique<State>(layout)) {
    if (::deflateInit2(&s_->z, options.gzip_level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw Error("gzip: deflateInit2 failed");
    s_->z_ready = true;
    open();
}

LayerTarWriter::LayerTarWriter(int out_fd) : s_(std::make_unique<State>(out_fd)) { open(); }

void LayerTarWriter::open() {
    s_->a = archive_write_new();
    if (!s_->a) throw Error("out of memory (archive_write_new)");
    archive_write_set_format_pax_restricted(s_->a);
    // Like Go's archive/tar (Docker, umoci): end with two zero blocks, no padding to 10 KiB.
    archive_write_set_bytes_in_last_block(s_->a, 1);
    s_->check(archive_write_open2(s_->a, s_.get(), nullptr, &State::write_cb, nullptr, nullptr), "layer tar");
}

LayerTarWriter::~LayerTarWriter() {
    if (s_->a) archive_write_free(s_->a);
    if (s_->z_ready) ::deflateEnd(&s_->z);
}

uint64_t LayerTarWriter::entries() const noexcept { return s_->entries; }

namespace {

struct EntryGuard {
    struct archive_entry* e = archive_entry_new();
    ~EntryGuard() { archive_entry_free(e); }
};

} // namespace

void LayerTarWriter::add(int dirfd, const std::string& name, const std::string& path, const struct stat& st) {
    if (S_ISSOCK(st.st_mode)) return;
    EntryGuard g;
    struct archive_entry* e = g.e;
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_mode(e, st.st_mode);
    archive_entry_set_uid(e, st.st_uid);
    archive_entry_set_gid(e, st.st_gid);
    archive_entry_set_mtime(e, st.st_mtim.tv_sec, 0);
    for (const auto& [k, v] : layer_xattrs(dirfd, name)) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());

    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
        auto key = std::make_pair(st.st_dev, st.st_ino);
        auto it = s_->links.find(key);
        if (it != s_->links.end()) {
            archive_entry_set_hardlink(e, it->second.c_str());
            archive_entry_set_size(e, 0);
            s_->write_header(e, path);
            return;
        }
        s_->links.emplace(key, path);
    }
    if (S_ISREG(st.st_mode)) {
        archive_entry_set_size(e, st.st_size);
        int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) throw_errno("open", path);
        UniqueFd file(fd);
        s_->write_header(e, path);
        uint64_t left = static_cast<uint64_t>(st.st_size);
        while (left > 0) {
            ssize_t n = ::read(file.get(), s_->buf.data(), std::min<uint64_t>(left, s_->buf.size()));
            if (n < 0) {
                if (errno == EINTR) continue;
                throw_errno("read", path);
            }
            if (n == 0) break; // shrank meanwhile: libarchive pads the entry with zeros
            la_ssize_t w = archive_write_data(s_->a, s_->buf.data(), static_cast<size_t>(n));
            if (w < 0) s_->check(static_cast<int>(w), "layer entry " + quote(path));
            left -= static_cast<uint64_t>(n);
        }
        s_->content_size += static_cast<uint64_t>(st.st_size);
        s_->check(archive_write_finish_entry(s_->a), "layer entry " + quote(path));
        return;
    }
    if (S_ISLNK(st.st_mode)) {
        std::string target = read_link(dirfd, name);
        archive_entry_set_symlink(e, target.c_str());
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        archive_entry_set_rdevmajor(e, major(st.st_rdev));
        archive_entry_set_rdevminor(e, minor(st.st_rdev));
    }
    archive_entry_set_size(e, 0);
    s_->write_header(e, path);
}

void LayerTarWriter::add_whiteout(const std::string& path, const struct stat& like) {
    auto slash = path.rfind('/');
    std::string wh = slash == std::string::npos ? std::string(whiteout_prefix) + path
                                                : path.substr(0, slash + 1) + std::string(whiteout_prefix) +
                                                      path.substr(slash + 1);
    EntryGuard g;
    archive_entry_set_pathname(g.e, wh.c_str());
    archive_entry_set_filetype(g.e, AE_IFREG);
    archive_entry_set_perm(g.e, 0600);
    archive_entry_set_uid(g.e, like.st_uid);
    archive_entry_set_gid(g.e, like.st_gid);
    archive_entry_set_mtime(g.e, like.st_mtim.tv_sec, 0);
    archive_entry_set_size(g.e, 0);
    s_->write_header(g.e, wh);
}

void LayerTarWriter::add_opaque(const std::string& dir, const struct stat& dir_st) {
    std::string p = dir + "/" + std::string(opaque_marker);
    EntryGuard g;
    archive_entry_set_pathname(g.e, p.c_str());
    archive_entry_set_filetype(g.e, AE_IFREG);
    archive_entry_set_perm(g.e, dir_st.st_mode & 0777);
    archive_entry_set_uid(g.e, dir_st.st_uid);
    archive_entry_set_gid(g.e, dir_st.st_gid);
    archive_entry_set_mtime(g.e, dir_st.st_mtim.tv_sec, 0);
    archive_entry_set_size(g.e, 0);
    s_->write_header(g.e, p);
}

WrittenLayer LayerTarWriter::finish() {
    if (s_->finished) throw Error("layer tar finished twice");
    s_->finished = true;
    WrittenLayer out;
    s_->check(archive_write_close(s_->a), "layer tar");
    out.entries = s_->entries;
    out.tar_size = s_->tar_size;
    out.content_size = s_->content_size;
    if (!s_->layout) return out;
    s_->deflate_some(nullptr, 0, Z_FINISH);
    out.diff_id = s_->diff.digest();
    if (out.entries == 0) return out; // the BlobWriter removes its temporary file
    out.descriptor.media_type = std::string(oci::media::oci_layer_gzip);
    out.descriptor.size = static_cast<int64_t>(s_->blob->size());
    Digest d = s_->blob->verify();
    out.new_blob = !s_->layout->has_blob(d);
    out.descriptor.digest = s_->blob->commit();
    return out;
}

// ---- overlay upper directories

namespace {

bool excluded(const LayerWriteOptions& o, const std::string& path) { return o.exclude.count(path) > 0; }

// The walk of an upper directory, sorted by name, parents first; `w` is told
// of every entry (add), whiteout and opaque directory: the layer's tar
// writer, or docker diff's change list.
template <class Sink>
void walk_upper(Sink& w, int dirfd, const std::string& prefix, const LayerWriteOptions& o) {
    for (const auto& name : sorted_names(dirfd)) {
        std::string path = prefix + name;
        if (excluded(o, path)) continue;
        struct stat st;
        if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("stat", path);
        // overlayfs.rst "whiteouts and opaque directories": a 0/0 character device
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
            w.add_whiteout(path, st);
            continue;
        }
        w.add(dirfd, name, path, st);
        if (S_ISDIR(st.st_mode)) {
            if (is_opaque(dirfd, name)) w.add_opaque(path, st);
            UniqueFd sub = open_subdir(dirfd, name);
            walk_upper(w, sub.get(), path + "/", o);
        }
    }
}

} // namespace

WrittenLayer write_layer_from_upper(const oci::Layout& layout, const std::string& upper,
                                    const LayerWriteOptions& options) {
    UniqueFd root = open_dir(upper);
    LayerTarWriter w(layout, options);
    try {
        walk_upper(w, root.get(), "", options);
    } catch (const Error& e) {
        throw e.wrap("layer from " + quote(upper));
    }
    return w.finish();
}

// ---- directory diffs

namespace {

struct DiffRecord {
    enum Kind { entry, whiteout } kind = entry;
    std::string path;
    struct stat st {};
    bool keep = true; // directories: written only when they or something below changed
    bool added = false; // not in the lower tree (docker diff's A)
};

bool same_entry(int lowerfd, int upperfd, const std::string& name, const struct stat& a, const struct stat& b) {
    if ((a.st_mode & S_IFMT) != (b.st_mode & S_IFMT)) return false;
    if (a.st_mode != b.st_mode || a.st_uid != b.st_uid || a.st_gid != b.st_gid) return false;
    if ((S_ISCHR(a.st_mode) || S_ISBLK(a.st_mode)) && a.st_rdev != b.st_rdev) return false;
    if (!S_ISDIR(a.st_mode)) {
        if (a.st_mtim.tv_sec != b.st_mtim.tv_sec || a.st_mtim.tv_nsec != b.st_mtim.tv_nsec) return false;
        if (a.st_size != b.st_size) return false;
    }
    if (S_ISLNK(a.st_mode) && read_link(lowerfd, name) != read_link(upperfd, name)) return false;
    return layer_xattrs(lowerfd, name) == layer_xattrs(upperfd, name);
}

void add_all(int upperfd, const std::string& prefix, std::vector<DiffRecord>& out, const LayerWriteOptions& o) {
    for (const auto& name : sorted_names(upperfd)) {
        std::string path = prefix + name;
        if (excluded(o, path)) continue;
        DiffRecord r;
        r.path = path;
        r.added = true;
        if (::fstatat(upperfd, name.c_str(), &r.st, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("stat", path);
        bool dir = S_ISDIR(r.st.st_mode);
        out.push_back(r);
        if (dir) {
            UniqueFd sub = open_subdir(upperfd, name);
            add_all(sub.get(), path + "/", out, o);
        }
    }
}

// Appends the changes below one directory; true when there were any.
bool diff_dirs(int lowerfd, int upperfd, const std::string& prefix, std::vector<DiffRecord>& out,
               const LayerWriteOptions& o) {
    auto lower = sorted_names(lowerfd);
    auto upper = sorted_names(upperfd);
    bool changed = false;
    size_t i = 0, j = 0;
    while (i < lower.size() || j < upper.size()) {
        bool take_lower = j >= upper.size() || (i < lower.size() && lower[i] < upper[j]);
        bool take_upper = i >= lower.size() || (j < upper.size() && upper[j] < lower[i]);
        std::string name = take_lower ? lower[i] : upper[j];
        std::string path = prefix + name;
        if (excluded(o, path)) {
            if (!take_upper) i++;
            if (!take_lower) j++;
            continue;
        }
        if (take_lower) { // gone
            i++;
            DiffRecord r;
            r.kind = DiffRecord::whiteout;
            r.path = path;
            if (::fstat(upperfd, &r.st) < 0) throw_errno("stat", prefix);
            out.push_back(r);
            changed = true;
            continue;
        }
        DiffRecord r;
        r.path = path;
        if (::fstatat(upperfd, name.c_str(), &r.st, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("stat", path);
        if (take_upper) { // new
            j++;
            r.added = true;
            out.push_back(r);
            if (S_ISDIR(r.st.st_mode)) {
                UniqueFd sub = open_subdir(upperfd, name);
                add_all(sub.get(), path + "/", out, o);
            }
            changed = true;
            continue;
        }
        i++;
        j++;
        struct stat lst;
        if (::fstatat(lowerfd, name.c_str(), &lst, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("stat", path);
        bool same = same_entry(lowerfd, upperfd, name, lst, r.st);
        if (S_ISDIR(r.st.st_mode) && S_ISDIR(lst.st_mode)) {
            size_t at = out.size();
            out.push_back(r);
            UniqueFd lsub = open_subdir(lowerfd, name), usub = open_subdir(upperfd, name);
            bool inside = diff_dirs(lsub.get(), usub.get(), path + "/", out, o);
            out[at].keep = !same || inside;
            changed = changed || out[at].keep;
            continue;
        }
        if (same) continue;
        out.push_back(r);
        if (S_ISDIR(r.st.st_mode)) { // was not a directory before
            UniqueFd sub = open_subdir(upperfd, name);
            add_all(sub.get(), path + "/", out, o);
        }
        changed = true;
    }
    return changed;
}

std::string parent_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? "" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::vector<DiffRecord> diff_records(int lroot, int uroot, const std::string& upper, const LayerWriteOptions& o) {
    std::vector<DiffRecord> records;
    try {
        diff_dirs(lroot, uroot, "", records, o);
    } catch (const Error& e) {
        throw e.wrap("the changes of " + quote(upper));
    }
    return records;
}

} // namespace

WrittenLayer write_layer_from_diff(const oci::Layout& layout, const std::string& lower, const std::string& upper,
                                   const LayerWriteOptions& options) {
    UniqueFd lroot = open_dir(lower), uroot = open_dir(upper);
    std::vector<DiffRecord> records = diff_records(lroot.get(), uroot.get(), upper, options);
    LayerTarWriter w(layout, options);
    std::string open_parent = "\x01";
    UniqueFd parent;
    for (const auto& r : records) {
        if (!r.keep) continue;
        if (r.kind == DiffRecord::whiteout) {
            w.add_whiteout(r.path, r.st);
            continue;
        }
        std::string p = parent_of(r.path);
        if (p != open_parent) {
            parent = p.empty() ? UniqueFd(::dup(uroot.get())) : open_in_root(uroot.get(), p, O_RDONLY | O_DIRECTORY);
            if (!parent) throw_errno("open", p);
            open_parent = p;
        }
        w.add(parent.get(), base_of(r.path), r.path, r.st);
    }
    return w.finish();
}

// ---- docker diff

namespace {

// The sink of walk_upper for docker diff: each entry judged against the
// lower layers, as Docker's overlay differ (pkg/archive changes()) does.
class UpperChanges {
public:
    UpperChanges(const UnionView& lower, const LayerWriteOptions& o) : lower_(lower) {
        for (const auto& e : o.exclude) runtime_parents_.insert(parent_of(e));
    }

    void add(int, const std::string&, const std::string& path, const struct stat& st) {
        PathChange::Kind kind = PathChange::added;
        if (auto below = lower_stat(path)) {
            // A directory the runtime made a mount point in (etc for etc/hosts) has a new
            // mtime and size for that alone: Docker's init layer hides it the same way.
            bool runtime = runtime_parents_.count(path) > 0;
            if (S_ISDIR(st.st_mode) && S_ISDIR(below->st_mode) && st.st_mode == below->st_mode &&
                st.st_uid == below->st_uid && st.st_gid == below->st_gid &&
                (runtime || (st.st_size == below->st_size && st.st_mtim.tv_sec == below->st_mtim.tv_sec &&
                             st.st_mtim.tv_nsec == below->st_mtim.tv_nsec)))
                return; // only on the way to a change
            kind = PathChange::modified;
        }
        if (S_ISDIR(st.st_mode)) changed_dirs_.insert(path);
        record(path, kind);
    }
    void add_whiteout(const std::string& path, const struct stat&) { record(path, PathChange::deleted); }
    void add_opaque(const std::string&, const struct stat&) {}

    std::vector<PathChange> out;

private:
    void record(const std::string& path, PathChange::Kind kind) {
        std::string parent = parent_of(path);
        if (kind != PathChange::modified && !parent.empty() && changed_dirs_.insert(parent).second)
            out.push_back({"/" + parent, PathChange::modified});
        out.push_back({"/" + path, kind});
    }

    // The entry at `path` ("a/b", no leading '/') in the lower layers, as
    // the mounted overlay shows it; the last parent directory is kept.
    std::optional<struct stat> lower_stat(const std::string& path) {
        std::string parent = parent_of(path);
        if (!parent_ || parent != parent_path_) {
            parent_path_ = parent;
            parent_ = lower_.root();
            for (const auto& c : parent.empty() ? std::vector<std::string>{} : split(parent, '/')) {
                auto l = lower_.lookup(*parent_, c);
                if (l.kind != UnionView::Lookup::directory) {
                    parent_->parts.clear();
                    break;
                }
                parent_ = std::move(l.dir);
            }
        }
        if (!parent_->exists()) return std::nullopt;
        auto l = lower_.lookup(*parent_, base_of(path));
        if (l.kind == UnionView::Lookup::absent) return std::nullopt;
        return l.st;
    }

    const UnionView& lower_;
    std::set<std::string> runtime_parents_;
    std::set<std::string> changed_dirs_;
    std::string parent_path_;
    std::optional<UnionDir> parent_;
};

} // namespace

std::vector<PathChange> changes_from_upper(const std::string& upper, const std::vector<std::string>& lowers,
                                           const LayerWriteOptions& options) {
    UniqueFd root = open_dir(upper);
    std::vector<UniqueFd> lower_fds;
    std::vector<int> fds;
    for (const auto& l : lowers) {
        lower_fds.push_back(open_dir(l));
        fds.push_back(lower_fds.back().get());
    }
    UnionView view(fds);
    UpperChanges changes(view, options);
    try {
        walk_upper(changes, root.get(), "", options);
    } catch (const Error& e) {
        throw e.wrap("the changes of " + quote(upper));
    }
    return std::move(changes.out);
}

std::vector<PathChange> changes_from_diff(const std::string& lower, const std::string& upper,
                                          const LayerWriteOptions& options) {
    UniqueFd lroot = open_dir(lower), uroot = open_dir(upper);
    std::vector<PathChange> out;
    for (const auto& r : diff_records(lroot.get(), uroot.get(), upper, options)) {
        if (!r.keep) continue;
        PathChange::Kind kind = r.kind == DiffRecord::whiteout ? PathChange::deleted
                                : r.added                      ? PathChange::added
                                                               : PathChange::modified;
        out.push_back({"/" + r.path, kind});
    }
    return out;
}

} // namespace ctk::image
