#include "oci/layout.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/lock.hpp"
#include "oci/media_types.hpp"

namespace ctk::oci {

// The largest manifest, index or config ctk reads (distribution-spec suggests
// registries refuse manifests over 4 MiB).
static constexpr size_t max_document = 4u << 20;

BlobWriter::BlobWriter(std::string root, std::string tmp_path, UniqueFd fd, bool keep)
    : root_(std::move(root)), tmp_path_(std::move(tmp_path)), fd_(std::move(fd)), keep_(keep) {}

BlobWriter::BlobWriter(BlobWriter&& o) noexcept
    : root_(std::move(o.root_)), tmp_path_(std::exchange(o.tmp_path_, {})), fd_(std::move(o.fd_)),
      hasher_(std::move(o.hasher_)), algorithm_(std::move(o.algorithm_)), verified_(std::move(o.verified_)), spent_(o.spent_),
      keep_(o.keep_) {}

BlobWriter& BlobWriter::operator=(BlobWriter&& o) noexcept {
    if (this != &o) {
        if (!tmp_path_.empty() && !keep_) ::unlink(tmp_path_.c_str());
        root_ = std::move(o.root_);
        tmp_path_ = std::exchange(o.tmp_path_, {});
        fd_ = std::move(o.fd_);
        hasher_ = std::move(o.hasher_);
        algorithm_ = std::move(o.algorithm_);
        verified_ = std::move(o.verified_);
        spent_ = o.spent_;
        keep_ = o.keep_;
    }
    return *this;
}

BlobWriter::~BlobWriter() {
    if (!tmp_path_.empty() && !keep_) ::unlink(tmp_path_.c_str());
}

void BlobWriter::write(const void* data, size_t size) {
    if (spent_) throw Error("blob writer " + quote(tmp_path_) + ": written after verify");
    hasher_.update(data, size);
    write_all(fd_.get(), std::string_view(static_cast<const char*>(data), size), tmp_path_);
}

Digest BlobWriter::verify(const std::optional<Digest>& expected, int64_t expected_size) {
    if (verified_) return *verified_;
    if (spent_) throw Error("blob writer " + quote(tmp_path_) + ": verify after a mismatch");
    uint64_t size = hasher_.size();
    spent_ = true;
    Digest got = hasher_.digest();
    std::string what = "blob " + (expected ? expected->str() : got.str());
    if (expected_size >= 0) verify_size(what, expected_size, size);
    if (expected) verify_digest(what, *expected, got);
    if (::fsync(fd_.get()) < 0) throw_errno("fsync", tmp_path_);
    verified_ = got;
    return got;
}

Digest BlobWriter::commit(const std::optional<Digest>& expected, int64_t expected_size) {
    Digest got = verify(expected, expected_size);
    std::string final_path = root_ + "/blobs/" + got.algorithm() + "/" + got.encoded();
    make_dirs(root_ + "/blobs/" + got.algorithm());
    if (::rename(tmp_path_.c_str(), final_path.c_str()) < 0) throw_errno("rename to", final_path);
    tmp_path_.clear();
    fd_.reset();
    sync_parent_dir(final_path);
    return got;
}

void BlobWriter::restart() {
    if (::ftruncate(fd_.get(), 0) < 0) throw_errno("truncate", tmp_path_);
    if (::lseek(fd_.get(), 0, SEEK_SET) < 0) throw_errno("seek", tmp_path_);
    hasher_ = Hasher(algorithm_);
    verified_.reset();
    spent_ = false;
}

void BlobWriter::discard() noexcept {
    if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
    tmp_path_.clear();
    fd_.reset();
}

bool Layout::exists(const std::string& dir) {
    struct stat st;
    return ::stat((dir + "/oci-layout").c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Layout Layout::open(const std::string& dir) {
    auto text = read_file_if_exists(dir + "/oci-layout", 4096);
    if (!text) throw_not_found("image layout " + quote(dir) + ": no oci-layout file");
    Json j = parse_json(*text, dir + "/oci-layout");
    if (!j.is_object() || !j.contains("imageLayoutVersion") ||
        !j["imageLayoutVersion"].is_string())
        throw_invalid("image layout " + quote(dir) + ": oci-layout lacks imageLayoutVersion");
    std::string v = j["imageLayoutVersion"];
    if (v.rfind("1.", 0) != 0)
        throw_invalid("image layout " + quote(dir) + ": unsupported imageLayoutVersion " +
                      quote(v));
    return Layout(dir);
}

Layout Layout::create(const std::string& dir) {
    make_dirs(dir + "/blobs/sha256");
    Layout layout(dir);
    FileLock lock(layout.lock_path());
    if (!exists(dir))
        write_file_atomic(dir + "/oci-layout",
                          R"({"imageLayoutVersion":")" + std::string(media::oci_layout_version) +
                              "\"}");
    struct stat st;
    if (::stat((dir + "/index.json").c_str(), &st) < 0) {
        Index empty;
        empty.media_type = media::oci_index;
        write_json_file(dir + "/index.json", empty, -1);
    }
    return layout;
}

std::string Layout::blob_path(const Digest& d) const {
    return dir_ + "/blobs/" + d.algorithm() + "/" + d.encoded();
}

bool Layout::has_blob(const Digest& d) const {
    struct stat st;
    return ::stat(blob_path(d).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

UniqueFd Layout::open_blob(const Digest& d) const {
    int fd = ::open(blob_path(d).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT) throw_not_found("blob " + d.str() + " not in layout " + quote(dir_));
        throw_errno("open blob", blob_path(d));
    }
    return UniqueFd(fd);
}

std::string Layout::read_blob(const Descriptor& d, size_t max_size) const {
    std::string what = "blob " + d.digest.str();
    if (d.size < 0 || static_cast<uint64_t>(d.size) > max_size)
        throw_invalid(what + ": size " + std::to_string(d.size) + " over the limit of " +
                      std::to_string(max_size) + " bytes");
    UniqueFd fd = open_blob(d.digest);
    std::string data;
    try {
        data = read_fd(fd.get(), max_size);
    } catch (const Error& e) {
        throw e.wrap(what);
    }
    verify_size(what, d.size, data.size());
    Hasher h(d.digest.algorithm());
    h.update(data);
    verify_digest(what, d.digest, h.digest());
    return data;
}

BlobWriter Layout::begin_blob() const {
    std::string tmp = dir_ + "/.tmp-blob-" + random_hex(8);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) throw_errno("create", tmp);
    UniqueFd owner(fd);
    // held while the writer lives: collect_partials leaves a locked file alone
    if (::flock(fd, LOCK_EX | LOCK_NB) < 0) throw_errno("lock", tmp);
    return BlobWriter(dir_, tmp, std::move(owner));
}

namespace {
bool is_partial_name(std::string_view name) {
    return name.starts_with(".ctk-partial-") || name.starts_with(".tmp-blob-");
}

// A temporary blob is created, then locked: one younger than this may still be
// between the two calls.
constexpr time_t fresh_temp_seconds = 10;
} // namespace

uint64_t Layout::collect_partials(std::chrono::seconds min_age) const {
    std::vector<std::string> names;
    if (DIR* d = ::opendir(dir_.c_str())) {
        while (dirent* e = ::readdir(d))
            if (is_partial_name(e->d_name)) names.emplace_back(e->d_name);
        ::closedir(d);
    }
    uint64_t freed = 0;
    time_t now = ::time(nullptr);
    for (const std::string& name : names) {
        std::string path = dir_ + "/" + name;
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0) continue; // gone meanwhile, or not a file we made
        UniqueFd owner(fd);
        struct stat st;
        if (::fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) continue;
        time_t age = now - st.st_mtime;
        if (age < static_cast<time_t>(min_age.count())) continue;
        if (name.starts_with(".tmp-blob-") && age < fresh_temp_seconds) continue;
        if (::flock(fd, LOCK_EX | LOCK_NB) < 0) continue; // a live writer holds it
        // Unlinked under the lock: a writer waiting for it finds the name gone
        // (or naming another file) and starts afresh (resume_blob).
        struct stat named;
        if (::lstat(path.c_str(), &named) < 0 || named.st_ino != st.st_ino || named.st_dev != st.st_dev)
            continue;
        if (::unlink(path.c_str()) == 0) freed += static_cast<uint64_t>(st.st_size);
    }
    return freed;
}

uint64_t Layout::partial_bytes() const {
    uint64_t total = 0;
    if (DIR* d = ::opendir(dir_.c_str())) {
        while (dirent* e = ::readdir(d)) {
            if (!is_partial_name(e->d_name)) continue;
            struct stat st;
            if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
                total += static_cast<uint64_t>(st.st_size);
        }
        ::closedir(d);
    }
    return total;
}

std::string Layout::partial_path(const Digest& d) const {
    return dir_ + "/.ctk-partial-" + d.algorithm() + "-" + d.encoded();
}

std::optional<BlobWriter> Layout::resume_blob(const Digest& digest, int64_t size,
                                              const std::function<void()>& on_wait) const {
    std::string path = partial_path(digest);
    for (;;) {
        if (has_blob(digest)) return std::nullopt;
        int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) throw_errno("open", path);
        UniqueFd owner(fd);
        if (::flock(fd, LOCK_EX | LOCK_NB) < 0) {
            if (errno != EWOULDBLOCK) throw_errno("lock", path);
            if (on_wait) on_wait();
            while (::flock(fd, LOCK_EX) < 0)
                if (errno != EINTR) throw_errno("lock", path);
        }
        // The holder before us may have renamed the file into blobs/ or removed
        // it: then the name is gone or names another file, and we start over.
        struct stat mine, named;
        if (::fstat(fd, &mine) < 0) throw_errno("stat", path);
        if (::stat(path.c_str(), &named) < 0 || named.st_ino != mine.st_ino ||
            named.st_dev != mine.st_dev)
            continue;
        BlobWriter w(dir_, path, std::move(owner), true);
        w.algorithm_ = digest.algorithm();
        w.hasher_ = Hasher(w.algorithm_);
        if (has_blob(digest)) {
            w.discard();
            return std::nullopt;
        }
        if (size >= 0 && mine.st_size > size) {
            w.restart();
            return w;
        }
        char buf[1 << 16];
        for (;;) {
            ssize_t n = ::read(w.fd(), buf, sizeof buf);
            if (n < 0) {
                if (errno == EINTR) continue;
                throw_errno("read", path);
            }
            if (n == 0) break;
            w.hasher_.update(buf, static_cast<size_t>(n));
        }
        return w;
    }
}

Descriptor Layout::write_blob(std::string_view data, std::string media_type) const {
    Descriptor d;
    d.media_type = std::move(media_type);
    d.size = static_cast<int64_t>(data.size());
    d.digest = Digest::sha256_of(data);
    if (has_blob(d.digest)) return d;
    BlobWriter w = begin_blob();
    w.write(data);
    w.commit(d.digest, d.size);
    return d;
}

Index Layout::read_index() const {
    std::string path = dir_ + "/index.json";
    auto text = read_file_if_exists(path, max_document);
    if (!text) throw_not_found("image layout " + quote(dir_) + ": no index.json");
    return Index::parse(*text, path);
}

void Layout::write_index(const Index& index) const {
    write_json_file(dir_ + "/index.json", index, -1);
}

void Layout::update_index(const std::function<void(Index&)>& change) const {
    FileLock lock(lock_path());
    Index index = read_index();
    change(index);
    write_index(index);
}

std::optional<Descriptor> Layout::find(std::string_view ref_name) const {
    Index index = read_index();
    for (const auto& d : index.manifests)
        if (d.ref_name() == ref_name) return d;
    return std::nullopt;
}

void Layout::tag(std::string_view ref_name, Descriptor d) const {
    d.annotations[annotation_ref_name] = std::string(ref_name);
    update_index([&](Index& index) {
        std::erase_if(index.manifests,
                      [&](const Descriptor& old) { return old.ref_name() == ref_name; });
        index.manifests.push_back(d);
    });
}

bool Layout::untag(std::string_view ref_name) const {
    bool removed = false;
    update_index([&](Index& index) {
        removed = std::erase_if(index.manifests, [&](const Descriptor& old) {
                      return old.ref_name() == ref_name;
                  }) > 0;
    });
    return removed;
}

std::pair<std::string, std::string> split_layout_ref(std::string_view s) {
    for (size_t pos = s.find(':'); pos != std::string_view::npos; pos = s.find(':', pos + 1)) {
        std::string dir(s.substr(0, pos));
        if (Layout::exists(dir)) return {dir, std::string(s.substr(pos + 1))};
    }
    size_t pos = s.find(':');
    if (pos == std::string_view::npos) return {std::string(s), ""};
    return {std::string(s.substr(0, pos)), std::string(s.substr(pos + 1))};
}

ResolvedImage resolve_image(const Layout& layout, const Descriptor& d,
                            const std::optional<Platform>& platform) {
    ResolvedImage out;
    Descriptor manifest_desc = d;
    if (is_index_type(d.media_type)) {
        std::string bytes = layout.read_blob(d, max_document);
        Index index = Index::parse(bytes, "index " + d.digest.str());
        Platform want = platform ? *platform : Platform::host();
        const Descriptor* pick = index.select(want);
        if (!pick)
            throw_not_found("index " + d.digest.str() + ": no image for platform " + want.str());
        out.index_descriptor = d;
        manifest_desc = *pick;
    } else if (!is_manifest_type(d.media_type)) {
        throw_invalid("descriptor " + d.digest.str() + ": unsupported media type " +
                      quote(d.media_type));
    }
    std::string what = "manifest " + manifest_desc.digest.str();
    out.manifest_bytes = layout.read_blob(manifest_desc, max_document);
    out.manifest = Manifest::parse(out.manifest_bytes, what);
    out.manifest_descriptor = manifest_desc;
    out.config_bytes = layout.read_blob(out.manifest.config, max_document);
    out.config = ImageConfig::parse(out.config_bytes, "config " + out.manifest.config.digest.str());
    if (out.config.diff_ids.size() != out.manifest.layers.size())
        throw_invalid(what + ": " + std::to_string(out.manifest.layers.size()) +
                      " layers but the config lists " + std::to_string(out.config.diff_ids.size()) +
                      " diff_ids");
    if (platform && !out.index_descriptor && !out.config.os.empty() &&
        !out.config.platform().satisfies(*platform))
        throw_not_found(what + ": image is for " + out.config.platform().str() + ", not " +
                        platform->str());
    return out;
}

ResolvedImage resolve_image(const Layout& layout, std::string_view ref_name,
                            const std::optional<Platform>& platform) {
    if (Digest::valid(ref_name)) {
        Digest want = Digest::parse(ref_name);
        for (const auto& d : layout.read_index().manifests)
            if (d.digest == want) return resolve_image(layout, d, platform);
        // A manifest whose blob is there without an index entry (a build
        // step's image, img-pack commit --no-index): known by its bytes.
        if (layout.has_blob(want)) {
            Descriptor d;
            d.digest = want;
            UniqueFd fd = layout.open_blob(want);
            std::string bytes = read_fd(fd.get(), 4u << 20); // resolve_image reads it again, checking the digest
            d.size = static_cast<int64_t>(bytes.size());
            Json j = parse_json(bytes, "manifest " + want.str());
            d.media_type = j.is_object() ? j.value("mediaType", std::string(media::oci_manifest)) : std::string(media::oci_manifest);
            return resolve_image(layout, d, platform);
        }
        throw_not_found("image " + std::string(ref_name) + " not in layout " +
                        quote(layout.path()));
    }
    auto d = layout.find(ref_name);
    if (!d) throw_not_found("image " + quote(ref_name) + " not in layout " + quote(layout.path()));
    return resolve_image(layout, *d, platform);
}

} // namespace ctk::oci
