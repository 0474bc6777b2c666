#include "image/docker_save.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "image/archive_io.hpp"
#include "image/docker_archive.hpp"
#include "image/pack.hpp"
#include "oci/media_types.hpp"
#include "oci/reference.hpp"

namespace ctk::image {

namespace {

constexpr const char* zero_time = "0001-01-01T00:00:00Z";

void write_header(archive* out, archive_entry* e, const std::string& what) {
    if (archive_write_header(out, e) < ARCHIVE_WARN) archive_fail(out, what);
}

} // namespace

// ---------------------------------------------------------------- docker save

namespace {

// Decompresses a layer blob into a temporary file, checking it against its diff_id.
std::pair<UniqueFd, int64_t> uncompressed_layer(const oci::Layout& layout, const oci::Descriptor& layer,
                                                const Digest& diff_id, const std::string& tmpdir) {
    std::string path = tmpdir + "/layer-" + random_hex(8);
    UniqueFd out(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out) throw_errno("create", path);
    ::unlink(path.c_str());
    UniqueFd blob = layout.open_blob(layer.digest);
    ReadArchive in;
    archive_read_support_filter_gzip(in.a);
    archive_read_support_filter_zstd(in.a);
    archive_read_support_format_raw(in.a);
    if (archive_read_open_fd(in.a, blob.get(), 65536) != ARCHIVE_OK) archive_fail(in.a, "layer " + layer.digest.str());
    archive_entry* e;
    if (archive_read_next_header(in.a, &e) != ARCHIVE_OK) archive_fail(in.a, "layer " + layer.digest.str());
    Hasher h;
    char buf[65536];
    int64_t total = 0;
    for (;;) {
        la_ssize_t n = archive_read_data(in.a, buf, sizeof buf);
        if (n < 0) archive_fail(in.a, "layer " + layer.digest.str());
        if (n == 0) break;
        h.update(buf, static_cast<size_t>(n));
        write_all(out.get(), std::string_view(buf, static_cast<size_t>(n)), path);
        total += n;
    }
    verify_digest("layer " + layer.digest.str() + " (uncompressed)", diff_id, h.digest());
    ::lseek(out.get(), 0, SEEK_SET);
    return {std::move(out), total};
}

void add_file(archive* out, const std::string& name, std::string_view data, int64_t mtime) {
    ArchiveEntry entry;
    archive_entry_set_pathname(entry.e, name.c_str());
    archive_entry_set_filetype(entry.e, AE_IFREG);
    archive_entry_set_perm(entry.e, 0644);
    archive_entry_set_size(entry.e, static_cast<la_int64_t>(data.size()));
    archive_entry_set_mtime(entry.e, mtime, 0);
    write_header(out, entry.e, name);
    if (!data.empty() && archive_write_data(out, data.data(), data.size()) < 0) archive_fail(out, name);
}

void add_dir(archive* out, const std::string& name, int64_t mtime) {
    ArchiveEntry entry;
    archive_entry_set_pathname(entry.e, name.c_str());
    archive_entry_set_filetype(entry.e, AE_IFDIR);
    archive_entry_set_perm(entry.e, 0755);
    archive_entry_set_mtime(entry.e, mtime, 0);
    write_header(out, entry.e, name);
}

void add_fd(archive* out, const std::string& name, int fd, int64_t size, int64_t mtime) {
    ArchiveEntry entry;
    archive_entry_set_pathname(entry.e, name.c_str());
    archive_entry_set_filetype(entry.e, AE_IFREG);
    archive_entry_set_perm(entry.e, 0644);
    archive_entry_set_size(entry.e, size);
    archive_entry_set_mtime(entry.e, mtime, 0);
    write_header(out, entry.e, name);
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read", name);
        }
        if (n == 0) break;
        if (archive_write_data(out, buf, static_cast<size_t>(n)) < 0) archive_fail(out, name);
    }
}

} // namespace

void save_images(const ImageStore& store, const std::vector<std::string>& refs, int out_fd) {
    std::vector<std::pair<LocalImage, std::vector<std::string>>> images; // image, tags asked
    for (const auto& r : refs) {
        LocalImage img = store.get(r);
        std::vector<std::string> tags;
        try {
            std::string full = normalize_reference(r);
            if (std::find(img.ref_names.begin(), img.ref_names.end(), full) != img.ref_names.end())
                tags.push_back(familiar_reference(full));
        } catch (const Error&) {
        }
        auto same = std::find_if(images.begin(), images.end(), [&](const auto& p) { return p.first.id == img.id; });
        if (same != images.end()) {
            for (const auto& t : tags)
                if (std::find(same->second.begin(), same->second.end(), t) == same->second.end()) same->second.push_back(t);
        } else {
            images.emplace_back(std::move(img), std::move(tags));
        }
    }
    oci::Layout layout = store.layout();
    TempDir tmp("ctl-save");
    WriteArchive out;
    archive_write_set_format_pax_restricted(out.a);
    if (archive_write_open_fd(out.a, out_fd) != ARCHIVE_OK) archive_fail(out.a, "output");
    Json manifest = Json::array();
    Json repositories = Json::object();
    std::set<std::string> written;
    for (const auto& [img, tags] : images) {
        int64_t mtime = img.created_unix();
        const auto& diff_ids = img.resolved.config.diff_ids;
        auto chains = oci::chain_ids(diff_ids);
        Json layer_paths = Json::array();
        std::string parent;
        for (size_t i = 0; i < diff_ids.size(); i++) {
            // The legacy per-layer directory is named by the layer's chain ID (a stable v1 ID).
            std::string v1 = chains[i].encoded();
            std::string path = v1 + "/layer.tar";
            layer_paths.push_back(path);
            if (written.insert(v1).second) {
                add_dir(out.a, v1, mtime);
                add_file(out.a, v1 + "/VERSION", "1.0", mtime);
                Json v1json = {{"id", v1}, {"created", zero_time}, {"container_config", Json::object()}};
                if (!parent.empty()) v1json["parent"] = parent;
                add_file(out.a, v1 + "/json", dump_compact(v1json), mtime);
                auto [fd, size] = uncompressed_layer(layout, img.resolved.manifest.layers[i], diff_ids[i], tmp.path());
                add_fd(out.a, path, fd.get(), size, mtime);
            }
            parent = v1;
        }
        std::string config_name = img.id.substr(7) + ".json";
        if (written.insert(config_name).second) add_file(out.a, config_name, img.resolved.config_bytes, mtime);
        manifest.push_back(Json{{"Config", config_name}, {"RepoTags", tags.empty() ? Json(nullptr) : Json(tags)},
                                {"Layers", layer_paths}});
        for (const auto& t : tags) {
            auto colon = t.rfind(':');
            repositories[t.substr(0, colon)][t.substr(colon + 1)] = parent;
        }
    }
    add_file(out.a, "manifest.json", dump_compact(manifest), 0);
    if (!repositories.empty()) add_file(out.a, "repositories", dump_compact(repositories), 0);
    if (archive_write_close(out.a) != ARCHIVE_OK) archive_fail(out.a, "output");
}

// ---------------------------------------------------------------- docker load

namespace {

// The archive as a seekable uncompressed tar: `in_fd` itself when it is one,
// else a decompressed copy beside the layout (removed with `tmp`).
std::string seekable_tar(int in_fd, const std::string& dir, std::optional<TempDir>& tmp) {
    struct stat st;
    if (::fstat(in_fd, &st) == 0 && S_ISREG(st.st_mode)) {
        unsigned char head[6] = {};
        ssize_t got = ::pread(in_fd, head, sizeof head, 0);
        bool compressed = got >= 3 && ((head[0] == 0x1f && head[1] == 0x8b) || (head[0] == 'B' && head[1] == 'Z') ||
                                       (head[0] == 0xfd && head[1] == '7') || (head[0] == 0x28 && head[1] == 0xb5));
        if (!compressed && ::lseek(in_fd, 0, SEEK_SET) == 0) return "/proc/self/fd/" + std::to_string(in_fd);
    }
    tmp.emplace("img-pack-load", dir);
    std::string path = tmp->path() + "/archive.tar";
    UniqueFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out) throw_errno("create", path);
    ReadArchive in;
    support_compressions(in.a);
    archive_read_support_format_raw(in.a);
    if (archive_read_open_fd(in.a, in_fd, 65536) != ARCHIVE_OK) archive_fail(in.a, "archive");
    archive_entry* e;
    int r = archive_read_next_header(in.a, &e);
    if (r == ARCHIVE_EOF) throw_invalid("archive: empty input (not a docker-archive)");
    if (r != ARCHIVE_OK) archive_fail(in.a, "archive");
    char buf[65536];
    for (;;) {
        la_ssize_t n = archive_read_data(in.a, buf, sizeof buf);
        if (n < 0) archive_fail(in.a, "archive");
        if (n == 0) break;
        write_all(out.get(), std::string_view(buf, static_cast<size_t>(n)), path);
    }
    return path;
}

// Copies a member into a blob; returns its descriptor (media type from its compression).
oci::Descriptor load_layer(LayoutChange& change, const DockerArchive& a, const ArchivedLayer& l,
                           const std::string& what) {
    oci::BlobWriter w = change.layout().begin_blob();
    UniqueFd fd = open_path(a.file(), O_RDONLY | O_CLOEXEC);
    char buf[65536];
    uint64_t done = 0;
    while (done < l.member.size) {
        size_t want = std::min<uint64_t>(sizeof buf, l.member.size - done);
        ssize_t n = ::pread(fd.get(), buf, want, static_cast<off_t>(l.member.offset + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read", a.file());
        }
        if (n == 0) throw_invalid(what + ": truncated");
        w.write(buf, static_cast<size_t>(n));
        done += static_cast<size_t>(n);
    }
    oci::Descriptor d;
    d.size = static_cast<int64_t>(w.size());
    Digest digest = w.verify(l.named);
    bool present = change.layout().has_blob(digest);
    d.digest = w.commit();
    change.wrote(d.digest, !present);
    switch (l.compression) {
    case oci::Compression::none: d.media_type = std::string(oci::media::oci_layer); break;
    case oci::Compression::gzip: d.media_type = std::string(oci::media::oci_layer_gzip); break;
    case oci::Compression::zstd: d.media_type = std::string(oci::media::oci_layer_zstd); break;
    }
    // The layer's uncompressed bytes are what the config's diff_id names.
    Digest diff = l.compression == oci::Compression::none ? d.digest : decompressed_digest(change.layout(), d.digest);
    verify_digest(what + " (uncompressed)", l.diff_id, diff);
    return d;
}

} // namespace

std::vector<LoadedImage> load_images(const ImageStore& store, int in_fd) {
    LayoutChange change(store.layout());
    std::string dir = change.layout().path();
    std::optional<TempDir> tmp;
    DockerArchive archive = DockerArchive::open(seekable_tar(in_fd, dir, tmp));
    struct Pending {
        oci::Descriptor manifest;
        std::vector<std::string> refs;
        LoadedImage loaded;
    };
    std::vector<Pending> pending;
    for (const auto& img : archive.images()) {
        Pending p;
        for (const auto& t : img.repo_tags) {
            p.refs.push_back(normalize_reference(t));
            p.loaded.tags.push_back(familiar_reference(p.refs.back()));
        }
        Json layers = Json::array();
        for (const auto& l : img.layers) layers.push_back(load_layer(change, archive, l, "archive: layer " + quote(l.name)));
        oci::Descriptor cfg = change.write_blob(img.config_bytes, std::string(oci::media::oci_config));
        Json om = {{"schemaVersion", 2}, {"mediaType", oci::media::oci_manifest}, {"config", cfg}, {"layers", layers}};
        p.manifest = change.write_blob(dump_compact(om), std::string(oci::media::oci_manifest));
        p.loaded.id = cfg.digest.str();
        pending.push_back(std::move(p));
    }
    std::vector<LoadedImage> out;
    for (auto& p : pending) {
        index_add(change.index(), p.manifest, p.refs);
        out.push_back(std::move(p.loaded));
    }
    change.commit();
    return out;
}

} // namespace ctk::image
