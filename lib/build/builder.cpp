#include "build/builder.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>

#include "build/dockerfile.hpp"
#include "build/dockerignore.hpp"
#include "build/shell_words.hpp"
#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "engine/commit.hpp"
#include "engine/image_archive.hpp"
#include "engine/plan.hpp"
#include "engine/tools.hpp"
#include "engine/timefmt.hpp"
#include "image/image_writer.hpp"
#include "image/layer_writer.hpp"
#include "oci/media_types.hpp"

namespace ctk::build {

std::string build_cache_dir(const store::Paths& paths) { return paths.root + "/build-cache"; }

namespace {

// A failed RUN: the build stops with the command's status.
struct RunFailed {
    int code;
    std::string message;
};

std::string short12(const std::string& id) {
    std::string h = id.rfind("sha256:", 0) == 0 ? id.substr(7) : id;
    return h.substr(0, 12);
}

struct ImageState {
    bool scratch = true;
    oci::Platform platform;
    oci::Descriptor manifest;
    oci::Manifest m;
    oci::ImageConfig cfg;
    std::string id; // config digest
};

ImageState load_state(const oci::Layout& layout, const oci::Descriptor& d) {
    auto s = image::read_stored_image(layout, d);
    ImageState st;
    st.scratch = false;
    st.manifest = d;
    st.m = s.manifest;
    st.cfg = s.config;
    st.platform = s.config.platform();
    st.id = s.manifest.config.digest.str();
    return st;
}

// ---- files

// "/" + the cleaned path, one leading slash.
std::string abs_clean(const std::string& p) {
    std::string c = clean_path(p);
    while (!c.empty() && c[0] == '/') c.erase(0, 1);
    return c.empty() || c == "." ? "/" : "/" + c;
}

bool has_wildcard(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

// filepath.Match on '/'-separated paths: the same number of components, each matched.
bool path_match(const std::string& pattern, const std::string& path) {
    auto pp = split(pattern, '/');
    auto sp = split(path, '/');
    if (pp.size() != sp.size()) return false;
    for (size_t i = 0; i < pp.size(); ++i)
        if (!shell_pattern_match(pp[i], sp[i])) return false;
    return true;
}

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
        int dupfd = ::dup(s.get());
        DIR* dir = ::fdopendir(dupfd);
        if (!dir) {
            ::close(dupfd);
            throw_errno("opendir", rel);
        }
        std::vector<std::string> names;
        while (auto* e = ::readdir(dir)) {
            std::string n = e->d_name;
            if (n != "." && n != "..") names.push_back(n);
        }
        ::closedir(dir);
        std::sort(names.begin(), names.end());
        for (const auto& n : names) {
            std::string r = rel.empty() || rel == "." ? n : rel + "/" + n;
            if (c.ignore && c.ignore->excluded(r) && !c.ignore->has_exclusions()) continue;
            if (c.ignore && c.ignore->excluded(r)) {
                struct stat cst;
                if (::fstatat(s.get(), n.c_str(), &cst, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(cst.st_mode)) continue;
            }
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

// The content hash of a source for the cache (names, types, modes, sizes,
// contents, link targets; not times).
void hash_entry(Hasher& h, int sdir, const std::string& name, const std::string& rel, const IgnoreMatcher* ignore) {
    struct stat st;
    if (::fstatat(sdir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("stat", rel);
    h.update(rel + "\n" + std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) +
             "\n");
    if (S_ISREG(st.st_mode)) {
        UniqueFd in(::openat(sdir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!in) throw_errno("open", rel);
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(in.get(), buf, sizeof buf);
            if (n < 0) throw_errno("read", rel);
            if (n == 0) break;
            h.update(buf, static_cast<size_t>(n));
        }
    } else if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = ::readlinkat(sdir, name.c_str(), target, sizeof target);
        if (n > 0) h.update(target, static_cast<size_t>(n));
    } else if (S_ISDIR(st.st_mode)) {
        UniqueFd s(::openat(sdir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!s) throw_errno("open", rel);
        DIR* dir = ::fdopendir(::dup(s.get()));
        if (!dir) throw_errno("opendir", rel);
        std::vector<std::string> names;
        while (auto* e = ::readdir(dir)) {
            std::string n = e->d_name;
            if (n != "." && n != "..") names.push_back(n);
        }
        ::closedir(dir);
        std::sort(names.begin(), names.end());
        for (const auto& n : names) {
            std::string r = rel.empty() || rel == "." ? n : rel + "/" + n;
            if (ignore && ignore->excluded(r)) {
                struct stat cst;
                if (!ignore->has_exclusions() ||
                    (::fstatat(s.get(), n.c_str(), &cst, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(cst.st_mode)))
                    continue;
            }
            hash_entry(h, s.get(), n, r, ignore);
        }
    }
}

// Every path of a tree (for wildcards), relative, sorted.
void list_tree(int dirfd, const std::string& rel, std::vector<std::string>& out) {
    DIR* dir = ::fdopendir(::dup(dirfd));
    if (!dir) return;
    std::vector<std::pair<std::string, bool>> names;
    while (auto* e = ::readdir(dir)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.emplace_back(n, e->d_type == DT_DIR);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    for (const auto& [n, is_dir] : names) {
        std::string r = rel.empty() ? n : rel + "/" + n;
        out.push_back(r);
        if (is_dir) {
            UniqueFd s(::openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (s) list_tree(s.get(), r, out);
        }
    }
}

bool is_archive_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return false;
    unsigned char b[512] = {};
    ssize_t n = ::pread(fd.get(), b, sizeof b, 0);
    if (n < 4) return false;
    if (b[0] == 0x1f && b[1] == 0x8b) return true;                        // gzip
    if (b[0] == 'B' && b[1] == 'Z' && b[2] == 'h') return true;            // bzip2
    if (b[0] == 0xfd && b[1] == '7' && b[2] == 'z' && b[3] == 'X') return true; // xz
    if (b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) return true; // zstd
    return n >= 262 && std::memcmp(b + 257, "ustar", 5) == 0;              // tar
}

// Extracts a tar (any compression) into `dir`, refusing entries that leave it.
void extract_archive(const std::string& file, const std::string& dir) {
    struct archive* in = archive_read_new();
    struct archive* out = archive_write_disk_new();
    ScopeGuard g([&] {
        archive_read_free(in);
        archive_write_free(out);
    });
    archive_read_support_filter_all(in);
    archive_read_support_format_tar(in);
    archive_read_support_format_gnutar(in);
    archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER |
                                            ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                            ARCHIVE_EXTRACT_SECURE_SYMLINKS);
    if (archive_read_open_filename(in, file.c_str(), 65536) != ARCHIVE_OK)
        throw_invalid("ADD " + file + ": " + archive_error_string(in));
    struct archive_entry* e;
    int r;
    while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
        // names are made relative to `dir` (a leading '/' dropped, as Docker does);
        // SECURE_NODOTDOT refuses "..", SECURE_SYMLINKS a path through a symlink
        std::string p = archive_entry_pathname(e);
        while (!p.empty() && p[0] == '/') p.erase(0, 1);
        archive_entry_set_pathname(e, (dir + "/" + p).c_str());
        if (const char* hl = archive_entry_hardlink(e)) {
            std::string h = hl;
            while (!h.empty() && h[0] == '/') h.erase(0, 1);
            archive_entry_set_hardlink(e, (dir + "/" + h).c_str());
        }
        if (archive_write_header(out, e) != ARCHIVE_OK)
            throw_invalid("ADD " + file + ": " + p + ": " + archive_error_string(out));
        const void* buf;
        size_t size;
        la_int64_t off;
        while ((r = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK)
            if (archive_write_data_block(out, buf, size, off) != ARCHIVE_OK)
                throw_invalid("ADD " + file + ": " + archive_error_string(out));
        if (r != ARCHIVE_EOF) throw_invalid("ADD " + file + ": " + archive_error_string(in));
        archive_write_finish_entry(out);
    }
    if (r != ARCHIVE_EOF) throw_invalid("ADD " + file + ": " + archive_error_string(in));
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

// ---- the builder

class Builder {
public:
    Builder(engine::Engine& e, const BuildOptions& o, const BuildSink& s)
        : e_(e), o_(o), sink_(s), layout_(e.images().layout()) {}

    BuildResult run();

private:
    struct Stage {
        ImageState state;
        VarMap args; // ARGs in scope (values)
        std::set<std::string> arg_names;
        bool cmd_set = false;
    };

    void say(const std::string& s) const {
        if (sink_.stream) sink_.stream(s);
    }
    VarMap vars(const Stage& st) const {
        VarMap v = st.args;
        for (const auto& [k, val] : var_map(st.state.cfg.config.env)) v[k] = val;
        return v;
    }
    std::string expand(const Stage& st, const std::string& w) const { return ShellWords(escape_).word(w, vars(st)); }

    ImageState from(const Dockerfile& df, size_t index);
    void step(Stage& st, const Instruction& in);
    void run_step(Stage& st, const Instruction& in);
    void copy_step(Stage& st, const Instruction& in);
    void workdir_step(Stage& st, const Instruction& in);
    void config_step(Stage& st, const Instruction& in);

    // Cache: the image of a step, if an earlier build made it.
    std::string cache_key(const ImageState& parent, const std::string& created_by, const std::string& extra) const;
    std::optional<ImageState> cached(const std::string& key) const;
    void remember(const std::string& key, const ImageState& st) const;

    // Writes the step's image on top of `parent`.
    ImageState commit(const ImageState& parent, const oci::ContainerConfig& config, const image::WrittenLayer* layer,
                      const std::string& created_by, const std::string& author = "");

    // An overlay bundle of `st` (or an empty staging dir for an image
    // without layers), released by the destructor.
    struct Work {
        engine::Engine* e = nullptr;
        std::string bundle;    // "" for staging
        std::string rootfs;
        std::string upper;
        std::unique_ptr<TempDir> tmp;
        ~Work() {
            if (bundle.empty()) return;
            try {
                auto p = run_process(engine::tools::unpack_release(bundle));
                if (!p.ok() && tmp) tmp->release(); // still mounted: never remove through the mount
            } catch (const std::exception&) {
                if (tmp) tmp->release();
            }
        }
    };
    std::unique_ptr<Work> unpack(const ImageState& st, const std::vector<std::string>& cmd,
                                 const std::vector<std::string>& env) const;

    engine::Engine& e_;
    const BuildOptions& o_;
    const BuildSink& sink_;
    oci::Layout layout_;
    char escape_ = '\\';
    std::string context_;
    IgnoreMatcher ignore_;
    std::vector<std::optional<ImageState>> stage_results_;
    std::vector<std::string> stage_names_;
    VarMap global_args_;
    int step_no_ = 0, steps_total_ = 0;
    std::string work_root_;
};

std::string Builder::cache_key(const ImageState& parent, const std::string& created_by, const std::string& extra) const {
    std::string k = parent.scratch ? "scratch " + parent.platform.os + "/" + parent.platform.architecture
                                   : parent.manifest.digest.str();
    return Digest::sha256_of(k + "\n" + created_by + "\n" + extra).encoded();
}

std::optional<ImageState> Builder::cached(const std::string& key) const {
    if (o_.no_cache) return std::nullopt;
    auto text = read_file_if_exists(build_cache_dir(e_.paths()) + "/" + key + ".json");
    if (!text) return std::nullopt;
    try {
        oci::Descriptor d = parse_json(*text, "build cache").at("manifest").get<oci::Descriptor>();
        if (!image::image_complete(layout_, d)) return std::nullopt;
        return load_state(layout_, d);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void Builder::remember(const std::string& key, const ImageState& st) const {
    make_dirs(build_cache_dir(e_.paths()));
    Json j = {{"manifest", st.manifest}};
    write_file_atomic(build_cache_dir(e_.paths()) + "/" + key + ".json", dump_compact(j));
}

ImageState Builder::commit(const ImageState& parent, const oci::ContainerConfig& config, const image::WrittenLayer* layer,
                           const std::string& created_by, const std::string& author) {
    image::ImageDraft d = parent.scratch ? image::ImageDraft::scratch(parent.platform)
                                         : image::ImageDraft::from(parent.m, parent.cfg);
    d.config().config = config;
    if (!author.empty()) d.config().author = author;
    oci::History h;
    h.created_by = created_by;
    if (layer) d.add_layer(*layer, h);
    else d.add_empty(h);
    auto w = d.write(layout_, engine::format_rfc3339_nano(engine::now_ns()));
    return load_state(layout_, w.manifest);
}

std::unique_ptr<Builder::Work> Builder::unpack(const ImageState& st, const std::vector<std::string>& cmd,
                                               const std::vector<std::string>& env) const {
    auto w = std::make_unique<Work>();
    w->e = &e_;
    w->tmp = std::make_unique<TempDir>("step", work_root_);
    if (st.scratch || st.m.layers.empty()) {
        w->rootfs = w->tmp->path() + "/rootfs";
        make_dirs(w->rootfs);
        w->upper = w->rootfs;
        return w;
    }
    std::string bundle = w->tmp->path() + "/bundle";
    Json pulled = {{"layout", layout_.path()}, {"digest", st.manifest.digest.str()}, {"manifest", st.manifest}};
    auto argv = engine::tools::unpack_from_stdin("overlay", bundle, env, true, cmd);
    RunOptions ro;
    ro.input = dump_compact(pulled);
    auto p = run_process(argv, ro);
    if (!p.ok()) throw Error(std::string(trim(p.err)));
    w->bundle = bundle;
    w->rootfs = bundle + "/rootfs";
    w->upper = bundle + "/overlay/upper";
    return w;
}

ImageState Builder::from(const Dockerfile& df, size_t index) {
    const auto& s = df.stages[index];
    VarMap meta;
    for (const auto& a : df.meta_args) {
        auto it = o_.build_args.find(a.name);
        if (it != o_.build_args.end()) meta[a.name] = it->second;
        else if (a.default_value) meta[a.name] = ShellWords(escape_).word(*a.default_value, meta);
    }
    std::string base = ShellWords(escape_).word(s.base, meta);
    if (base.empty()) throw_invalid("base name (" + s.base + ") should not be blank");
    ImageState st;
    if (to_lower(base) == "scratch") {
        st.scratch = true;
        st.platform = oci::Platform::host();
        return st;
    }
    for (size_t i = 0; i < index; ++i)
        if (!stage_names_[i].empty() && stage_names_[i] == to_lower(base) && stage_results_[i]) return *stage_results_[i];
    auto img = e_.ensure_image(base, "missing");
    if (!img) throw_not_found("No such image: " + base);
    return load_state(layout_, img->resolved.manifest_descriptor);
}

void Builder::step(Stage& st, const Instruction& in) {
    switch (in.kind) {
    case Kind::run: return run_step(st, in);
    case Kind::copy:
    case Kind::add: return copy_step(st, in);
    case Kind::workdir: return workdir_step(st, in);
    case Kind::arg: {
        for (const auto& a : in.args) {
            std::string value;
            auto it = o_.build_args.find(a.name);
            if (it != o_.build_args.end()) value = it->second;
            else if (a.default_value) value = expand(st, *a.default_value);
            else if (global_args_.count(a.name)) value = global_args_.at(a.name);
            else {
                st.arg_names.insert(a.name);
                continue;
            }
            st.args[a.name] = value;
            st.arg_names.insert(a.name);
        }
        say(" ---> " + (st.state.scratch ? std::string("") : short12(st.state.id)) + "\n");
        return;
    }
    default: return config_step(st, in);
    }
}

std::vector<std::string> shell_of(const oci::ImageConfig& cfg) {
    if (cfg.config.shell && !cfg.config.shell->empty()) return *cfg.config.shell;
    return {"/bin/sh", "-c"};
}

void Builder::config_step(Stage& st, const Instruction& in) {
    oci::ContainerConfig c = st.state.cfg.config;
    ShellWords sw(escape_);
    VarMap v = vars(st);
    std::string author;
    std::string nop = in.text();
    auto command = [&](const Instruction& i) {
        std::vector<std::string> words = i.cmdline;
        if (i.prepend_shell) {
            auto sh = shell_of(st.state.cfg);
            sh.insert(sh.end(), i.cmdline.begin(), i.cmdline.end());
            words = sh;
        }
        return words;
    };
    switch (in.kind) {
    case Kind::env: {
        std::vector<std::string> shown;
        for (const auto& kv : in.pairs) {
            std::string k = sw.word(kv.key, v), val = sw.word(kv.value, v);
            std::vector<std::string> env;
            for (const auto& e : c.env)
                if (e.rfind(k + "=", 0) != 0) env.push_back(e);
            env.push_back(k + "=" + val);
            c.env = env;
            v[k] = val;
            shown.push_back(k + "=" + val);
        }
        nop = "ENV " + join(shown, " ");
        break;
    }
    case Kind::label:
        for (const auto& kv : in.pairs) c.labels[sw.word(kv.key, v)] = sw.word(kv.value, v);
        break;
    case Kind::cmd:
        c.cmd = command(in);
        st.cmd_set = true;
        break;
    case Kind::entrypoint:
        c.entrypoint = command(in);
        if (!st.cmd_set) c.cmd.reset();
        break;
    case Kind::user: c.user = sw.word(in.value, v); break;
    case Kind::expose:
        for (const auto& w : in.words)
            for (auto p : sw.words(w, v)) {
                if (p.find('/') == std::string::npos) p += "/tcp";
                c.exposed_ports[p] = Json::object();
            }
        break;
    case Kind::volume:
        for (const auto& w : in.words)
            for (const auto& p : sw.words(w, v)) c.volumes[p] = Json::object();
        break;
    case Kind::shell: c.shell = in.cmdline; break;
    case Kind::stopsignal: c.stop_signal = sw.word(in.value, v); break;
    case Kind::maintainer: author = sw.word(in.value, v); break;
    case Kind::onbuild:
        if (!c.on_build) c.on_build = std::vector<std::string>{};
        c.on_build->push_back(in.onbuild);
        break;
    case Kind::healthcheck:
        if (in.health) {
            oci::HealthConfig h;
            h.test = in.health->test;
            h.interval = in.health->interval_ns;
            h.timeout = in.health->timeout_ns;
            h.start_period = in.health->start_period_ns;
            h.retries = in.health->retries;
            c.healthcheck = h;
        }
        break;
    default: break;
    }
    std::string created_by = "/bin/sh -c #(nop)  " + nop;
    Json cj = c;
    std::string key = cache_key(st.state, created_by, dump_compact(cj) + "\n" + author);
    if (auto hit = cached(key)) {
        say(" ---> Using cache\n");
        st.state = *hit;
    } else {
        st.state = commit(st.state, c, nullptr, created_by, author);
        remember(key, st.state);
    }
    say(" ---> " + short12(st.state.id) + "\n");
}

void Builder::run_step(Stage& st, const Instruction& in) {
    std::vector<std::string> cmd = in.cmdline;
    if (in.prepend_shell) {
        auto sh = shell_of(st.state.cfg);
        sh.insert(sh.end(), in.cmdline.begin(), in.cmdline.end());
        cmd = sh;
    }
    // Build args in scope go to the environment (ENV wins) and, as Docker
    // records them, before the command: "|2 A=1 B=2 /bin/sh -c …".
    VarMap env = var_map(st.state.cfg.config.env);
    std::vector<std::string> arg_env;
    for (const auto& [k, val] : st.args)
        if (!env.count(k)) arg_env.push_back(k + "=" + val);
    std::string created_by = join(cmd, " ");
    if (!arg_env.empty()) created_by = "|" + std::to_string(arg_env.size()) + " " + join(arg_env, " ") + " " + created_by;
    std::string key = cache_key(st.state, created_by, "");
    if (auto hit = cached(key)) {
        say(" ---> Using cache\n");
        st.state = *hit;
        say(" ---> " + short12(st.state.id) + "\n");
        return;
    }
    if (st.state.scratch || st.state.m.layers.empty())
        throw RunFailed{1, "The command '" + join(cmd, " ") + "' cannot run: the image has no files (FROM scratch)"};
    std::string id = random_hex(32);
    say(" ---> Running in " + id.substr(0, 12) + "\n");
    auto w = unpack(st.state, cmd, arg_env);
    {
        UniqueFd root = open_dir(w->rootfs);
        std::string wd = st.state.cfg.config.working_dir;
        if (!wd.empty()) make_dirs_in_root(root.get(), wd, Owner{});
    }
    RunOptions ro;
    ro.capture_stdout = !sink_.run_output_inherited;
    ro.capture_stderr = true; // filtered below, then shown
    ro.extra_env = {"CTK_ROOT=" + e_.paths().root, "CTK_RUN=" + e_.paths().run};
    std::string cid = "build-" + id.substr(0, 24);
    auto p = run_process(engine::tools::runtime(e_.paths(), {"run", "--bundle", w->bundle, cid}), ro);
    run_process(engine::tools::runtime(e_.paths(), {"delete", "--force", cid}));
    {
        if (!sink_.run_output_inherited && !p.out.empty()) say(p.out);
        // the runtime's own warnings (seccomp names this kernel lacks) are not the step's output
        std::string err;
        for (const auto& line : split(p.err, '\n'))
            if (!line.empty() && line.rfind("ns-run: warning:", 0) != 0) err += line + "\n";
        if (!err.empty()) say(err);
    }
    if (p.status != 0)
        throw RunFailed{p.status, "The command '" + join(cmd, " ") + "' returned a non-zero code: " + std::to_string(p.status)};
    image::LayerWriteOptions lo;
    lo.exclude = engine::runtime_mount_points();
    auto layer = image::write_layer_from_upper(layout_, w->upper, lo);
    w.reset();
    say("Removing intermediate container " + id.substr(0, 12) + "\n");
    st.state = commit(st.state, st.state.cfg.config, &layer, created_by);
    remember(key, st.state);
    say(" ---> " + short12(st.state.id) + "\n");
}

void Builder::workdir_step(Stage& st, const Instruction& in) {
    std::string wd = expand(st, in.value);
    std::string cur = st.state.cfg.config.working_dir;
    if (wd.empty() || wd[0] != '/') wd = (cur.empty() ? std::string("/") : cur + "/") + wd;
    wd = abs_clean(wd);
    oci::ContainerConfig c = st.state.cfg.config;
    c.working_dir = wd;
    std::string created_by = "/bin/sh -c #(nop) WORKDIR " + wd;
    std::string key = cache_key(st.state, created_by, "");
    if (auto hit = cached(key)) {
        say(" ---> Using cache\n");
        st.state = *hit;
    } else {
        auto w = unpack(st.state, {}, {});
        {
            UniqueFd root = open_dir(w->rootfs);
            make_dirs_in_root(root.get(), wd, Owner{});
        }
        auto layer = image::write_layer_from_upper(layout_, w->upper);
        w.reset();
        st.state = commit(st.state, c, &layer, created_by);
        remember(key, st.state);
    }
    say(" ---> " + short12(st.state.id) + "\n");
}

void Builder::copy_step(Stage& st, const Instruction& in) {
    bool add = in.kind == Kind::add;
    const char* name = add ? "ADD" : "COPY";
    ShellWords sw(escape_);
    VarMap v = vars(st);
    std::string dest = sw.word(in.dest, v);
    std::string cur = st.state.cfg.config.working_dir;
    bool dest_dir = !dest.empty() && (dest.back() == '/' || dest == "." || dest.ends_with("/."));
    if (dest.empty() || dest[0] != '/') dest = (cur.empty() ? std::string("/") : cur + "/") + dest;
    std::string dest_clean = abs_clean(dest);

    // The source root: the context, or the rootfs of a stage or an image.
    std::unique_ptr<Work> from_work;
    std::string src_root = context_;
    const IgnoreMatcher* ignore = &ignore_;
    std::string from_id;
    if (!in.from.empty()) {
        std::string f = sw.word(in.from, v);
        std::optional<ImageState> src;
        for (size_t i = 0; i < stage_results_.size(); ++i)
            if (stage_results_[i] && (stage_names_[i] == to_lower(f) || std::to_string(i) == f)) src = stage_results_[i];
        if (!src) {
            auto img = e_.ensure_image(f, "missing");
            if (!img) throw_not_found("No such image: " + f);
            src = load_state(layout_, img->resolved.manifest_descriptor);
        }
        from_work = unpack(*src, {}, {});
        src_root = from_work->rootfs;
        ignore = nullptr;
        from_id = src->scratch ? "scratch" : src->manifest.digest.str();
    }
    UniqueFd srcfd = open_dir(src_root);

    // Sources: expanded, inside the root, wildcards matched.
    struct Source {
        std::string rel; // "" = the root itself
        bool dir = false;
        bool archive = false;
    };
    std::vector<Source> sources;
    std::vector<std::string> all;
    bool listed = false;
    for (const auto& raw : in.sources) {
        std::string s = sw.word(raw, v);
        if (add && (s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0 || s.rfind("git@", 0) == 0))
            throw_invalid(std::string(name) + " failed: remote sources are not supported by ctk build: " + s);
        std::string c = clean_path(s);
        if (c == ".." || c.rfind("../", 0) == 0)
            throw_invalid(std::string(name) + " failed: forbidden path outside the build context: " + s + " ()");
        if (c == "." || c == "/") c = "";
        if (!c.empty() && c[0] == '/') c = c.substr(1);
        std::vector<std::string> matched;
        if (has_wildcard(c)) {
            if (!listed) {
                list_tree(srcfd.get(), "", all);
                listed = true;
            }
            for (const auto& p : all)
                if (path_match(c, p) && !(ignore && ignore->excluded(p))) matched.push_back(p);
        } else if (c.empty() || !(ignore && ignore->excluded(c))) {
            UniqueFd probe = try_open_in_root(srcfd.get(), c.empty() ? "/" : c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
            if (probe) matched.push_back(c);
        }
        if (matched.empty())
            throw_not_found(std::string(name) + " failed: file not found in build context or excluded by .dockerignore: stat " +
                            s + ": file does not exist");
        for (const auto& m : matched) {
            Source so;
            so.rel = m;
            struct stat stt;
            UniqueFd pf = open_in_root(srcfd.get(), m.empty() ? "/" : m, O_PATH | O_CLOEXEC);
            if (::fstat(pf.get(), &stt) < 0) throw_errno("stat", m);
            so.dir = S_ISDIR(stt.st_mode);
            if (add && S_ISREG(stt.st_mode)) so.archive = is_archive_file(src_root + "/" + m);
            sources.push_back(so);
        }
    }
    bool many = sources.size() > 1;
    if (many && !dest_dir)
        throw_invalid(std::string("When using ") + name + " with more than one source file, the destination must be a directory and end with a /");

    // The cache key: the sources' contents, the destination, owner, mode.
    Hasher h;
    for (const auto& so : sources) {
        std::string n = so.rel.empty() ? "." : so.rel;
        h.update(n + (so.archive ? " archive\n" : "\n"));
        if (so.rel.empty()) {
            hash_entry(h, srcfd.get(), ".", "", ignore);
        } else {
            auto parent = so.rel.find('/') == std::string::npos ? std::string("/") : so.rel.substr(0, so.rel.rfind('/'));
            UniqueFd pd = open_in_root(srcfd.get(), parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            std::string base = so.rel.substr(so.rel.rfind('/') == std::string::npos ? 0 : so.rel.rfind('/') + 1);
            hash_entry(h, pd.get(), base, so.rel, ignore);
        }
    }
    std::string content = h.digest().encoded();
    std::string kind = many ? "multi" : (sources[0].dir ? "dir" : "file");
    std::string created_by = "/bin/sh -c #(nop) " + std::string(name) + " " + kind + ":" + content + " in " + dest + " ";
    std::string key = cache_key(st.state, created_by, in.chown + "\n" + in.chmod + "\n" + from_id);
    if (auto hit = cached(key)) {
        say(" ---> Using cache\n");
        st.state = *hit;
        say(" ---> " + short12(st.state.id) + "\n");
        return;
    }

    auto w = unpack(st.state, {}, {});
    {
        UniqueFd root = open_dir(w->rootfs);
        Owner owner = parse_chown(sw.word(in.chown, v), root.get());
        CopyCtx cc;
        cc.owner = owner;
        if (!in.chmod.empty()) cc.chmod = static_cast<mode_t>(std::stoul(in.chmod, nullptr, 8));
        cc.ignore = ignore;
        // An existing directory at the destination takes files by their names.
        UniqueFd existing = try_open_in_root(root.get(), dest_clean, O_PATH | O_DIRECTORY | O_CLOEXEC);
        bool into_dir = dest_dir || many || bool(existing);
        for (const auto& so : sources) {
            std::string parent_rel = so.rel.find('/') == std::string::npos ? "" : so.rel.substr(0, so.rel.rfind('/'));
            std::string base = so.rel.substr(so.rel.rfind('/') == std::string::npos ? 0 : so.rel.rfind('/') + 1);
            UniqueFd pd = open_in_root(srcfd.get(), parent_rel.empty() ? "/" : parent_rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (so.dir || so.archive) {
                UniqueFd dd = make_dirs_in_root(root.get(), dest_clean, owner);
                UniqueFd d(::openat(dd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
                if (!d) throw_errno("open", dest_clean);
                if (so.archive) {
                    TempDir x("add", work_root_);
                    extract_archive(src_root + "/" + so.rel, x.path());
                    UniqueFd xd = open_dir(x.path());
                    CopyCtx keep = cc;
                    keep.owner.keep = in.chown.empty();
                    keep.ignore = nullptr;
                    for (const auto& n : [&] {
                             std::vector<std::string> names;
                             list_tree(xd.get(), "", names);
                             std::vector<std::string> top;
                             for (const auto& p : names)
                                 if (p.find('/') == std::string::npos) top.push_back(p);
                             return top;
                         }())
                        copy_entry(xd.get(), n, n, d.get(), n, keep);
                    continue;
                }
                UniqueFd sd = so.rel.empty() ? UniqueFd(::dup(srcfd.get()))
                                             : UniqueFd(::openat(pd.get(), base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                if (!sd) throw_errno("open", so.rel);
                std::vector<std::string> names;
                {
                    DIR* dir = ::fdopendir(::dup(sd.get()));
                    if (!dir) throw_errno("opendir", so.rel);
                    while (auto* e = ::readdir(dir)) {
                        std::string n = e->d_name;
                        if (n != "." && n != "..") names.push_back(n);
                    }
                    ::closedir(dir);
                }
                std::sort(names.begin(), names.end());
                for (const auto& n : names) {
                    std::string r = so.rel.empty() ? n : so.rel + "/" + n;
                    if (ignore && ignore->excluded(r)) {
                        struct stat cst;
                        if (!ignore->has_exclusions() ||
                            (::fstatat(sd.get(), n.c_str(), &cst, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(cst.st_mode)))
                            continue;
                    }
                    copy_entry(sd.get(), n, r, d.get(), n, cc);
                }
                continue;
            }
            std::string target_dir = into_dir ? dest_clean : dest_clean.substr(0, dest_clean.rfind('/'));
            std::string target_name = into_dir ? base : dest_clean.substr(dest_clean.rfind('/') + 1);
            if (target_dir.empty()) target_dir = "/";
            UniqueFd dd = make_dirs_in_root(root.get(), target_dir, owner);
            UniqueFd d(::openat(dd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            if (!d) throw_errno("open", target_dir);
            copy_entry(pd.get(), base, so.rel, d.get(), target_name, cc);
        }
    }
    auto layer = image::write_layer_from_upper(layout_, w->upper);
    w.reset();
    srcfd.reset();
    from_work.reset();
    st.state = commit(st.state, st.state.cfg.config, &layer, created_by);
    remember(key, st.state);
    say(" ---> " + short12(st.state.id) + "\n");
}

BuildResult Builder::run() {
    BuildResult res;
    context_ = o_.context;
    work_root_ = e_.paths().root + "/tmp";
    make_dirs(work_root_);
    std::string text = o_.dockerfile_text;
    if (text.empty()) {
        std::string path = o_.dockerfile.empty() ? context_ + "/Dockerfile" : o_.dockerfile;
        auto t = read_file_if_exists(path);
        if (!t) throw_not_found("Cannot locate specified Dockerfile: " + (o_.dockerfile.empty() ? std::string("Dockerfile") : o_.dockerfile));
        text = *t;
    }
    Dockerfile df = read_dockerfile(text);
    escape_ = df.escape;
    for (const auto& w : df.warnings) say(w + "\n");
    if (auto ig = read_file_if_exists(context_ + "/.dockerignore")) ignore_ = IgnoreMatcher::parse(*ig);

    size_t last = df.stages.size() - 1;
    if (!o_.target.empty()) {
        auto t = df.find_stage(o_.target);
        if (!t) throw_invalid("failed to reach build target " + o_.target + " in Dockerfile");
        last = *t;
    }
    steps_total_ = static_cast<int>(df.meta_arg_instructions.size());
    for (size_t i = 0; i <= last; ++i) steps_total_ += 1 + static_cast<int>(df.stages[i].commands.size());
    auto step_line = [&](const std::string& t) {
        ++step_no_;
        say("Step " + std::to_string(step_no_) + "/" + std::to_string(steps_total_) + " : " + t + "\n");
    };
    for (const auto& a : df.meta_arg_instructions) step_line(a.text());
    for (const auto& a : df.meta_args) {
        auto it = o_.build_args.find(a.name);
        if (it != o_.build_args.end()) global_args_[a.name] = it->second;
        else if (a.default_value) global_args_[a.name] = ShellWords(escape_).word(*a.default_value, global_args_);
    }
    stage_results_.assign(df.stages.size(), std::nullopt);
    for (const auto& s : df.stages) stage_names_.push_back(s.name);
    ImageState final_state;
    for (size_t i = 0; i <= last; ++i) {
        const auto& s = df.stages[i];
        step_line(s.source);
        Stage st;
        st.state = from(df, i);
        if (!st.state.scratch) say(" ---> " + short12(st.state.id) + "\n");
        for (const auto& in : s.commands) {
            if (sink_.before_step) sink_.before_step();
            step_line(in.text());
            step(st, in);
        }
        if (i == last && !o_.labels.empty()) {
            Instruction li;
            li.kind = Kind::label;
            for (const auto& [k, val] : o_.labels) li.pairs.push_back({"'" + k + "'", "'" + val + "'"});
            li.node.original = "LABEL";
            config_step(st, li);
        }
        if (st.state.scratch) {
            // an image must exist: FROM scratch alone gives an empty one
            st.state = commit(st.state, st.state.cfg.config, nullptr, "");
        }
        stage_results_[i] = st.state;
        final_state = st.state;
    }
    std::vector<std::string> refs;
    for (const auto& t : o_.tags) refs.push_back(engine::normalize_reference(t));
    e_.images().add(final_state.manifest, refs);
    if (sink_.aux) sink_.aux(Json{{"ID", final_state.id}});
    say("Successfully built " + short12(final_state.id) + "\n");
    for (const auto& t : o_.tags) say("Successfully tagged " + engine::familiar_reference(engine::normalize_reference(t)) + "\n");
    res.ok = true;
    res.id = final_state.id;
    res.code = 0;
    return res;
}

} // namespace

BuildResult build_image(engine::Engine& engine, const BuildOptions& options, const BuildSink& sink) {
    Builder b(engine, options, sink);
    try {
        return b.run();
    } catch (const RunFailed& f) {
        BuildResult r;
        r.code = f.code;
        r.message = f.message;
        return r;
    }
}

} // namespace ctk::build
