#include "engine/image_archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "engine/timefmt.hpp"
#include "oci/media_types.hpp"
#include "oci/reference.hpp"

namespace ctk::engine {

namespace {

struct ReadArchive {
    archive* a = archive_read_new();
    ~ReadArchive() { archive_read_free(a); }
};
struct WriteArchive {
    archive* a = archive_write_new();
    ~WriteArchive() { archive_write_free(a); }
};
struct DiskArchive {
    archive* a = archive_read_disk_new();
    ~DiskArchive() { archive_read_free(a); }
};
struct Entry {
    archive_entry* e = archive_entry_new();
    ~Entry() { archive_entry_free(e); }
};

[[noreturn]] void archive_fail(archive* a, const std::string& what) {
    const char* msg = archive_error_string(a);
    throw_invalid(what + ": " + (msg ? msg : "archive error"));
}

// ---------------------------------------------------------------- gzip'd layer blob

// Receives the uncompressed tar stream: hashes it (the diff_id) and gzips it
// into a blob of the layout (whose digest the BlobWriter computes).
class LayerSink {
public:
    explicit LayerSink(const oci::Layout& layout) : blob_(layout.begin_blob()) {
        std::memset(&zs_, 0, sizeof zs_);
        if (deflateInit2(&zs_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            throw Error("gzip: deflateInit2 failed");
    }
    ~LayerSink() { deflateEnd(&zs_); }

    void write(const void* data, size_t size) {
        diff_.update(data, size);
        zs_.next_in = static_cast<Bytef*>(const_cast<void*>(data));
        zs_.avail_in = static_cast<uInt>(size);
        pump(Z_NO_FLUSH);
    }
    oci::Descriptor finish(Digest& diff_id) {
        zs_.next_in = nullptr;
        zs_.avail_in = 0;
        pump(Z_FINISH);
        diff_id = diff_.digest();
        oci::Descriptor d;
        d.media_type = std::string(oci::media::oci_layer_gzip);
        d.size = static_cast<int64_t>(blob_.size());
        d.digest = blob_.commit();
        return d;
    }

private:
    void pump(int flush) {
        unsigned char out[65536];
        for (;;) {
            zs_.next_out = out;
            zs_.avail_out = sizeof out;
            int rc = deflate(&zs_, flush);
            if (rc == Z_STREAM_ERROR) throw Error("gzip: deflate failed");
            size_t have = sizeof out - zs_.avail_out;
            if (have) blob_.write(out, have);
            if (flush == Z_FINISH ? rc == Z_STREAM_END : zs_.avail_out != 0) break;
        }
    }
    oci::BlobWriter blob_;
    Hasher diff_;
    z_stream zs_;
};

la_ssize_t sink_write(archive*, void* self, const void* buf, size_t n) {
    try {
        static_cast<LayerSink*>(self)->write(buf, n);
    } catch (...) {
        return -1;
    }
    return static_cast<la_ssize_t>(n);
}

void copy_data(archive* in, archive* out, const std::string& what) {
    char buf[65536];
    for (;;) {
        la_ssize_t n = archive_read_data(in, buf, sizeof buf);
        if (n < 0) archive_fail(in, what);
        if (n == 0) break;
        if (archive_write_data(out, buf, static_cast<size_t>(n)) < 0) archive_fail(out, what);
    }
}

std::string strip_root(const char* p) {
    std::string s = p ? p : "";
    while (!s.empty() && s[0] == '/') s.erase(0, 1);
    return s;
}

void write_header(archive* out, archive_entry* e, const std::string& what) {
    if (archive_write_header(out, e) < ARCHIVE_WARN) archive_fail(out, what);
}

// Copies a tar stream (any compression libarchive knows) entry by entry.
void copy_tar(int fd, const std::string& shown, archive* out) {
    ReadArchive in;
    archive_read_support_filter_all(in.a);
    archive_read_support_format_tar(in.a);
    archive_read_support_format_gnutar(in.a);
    if (archive_read_open_fd(in.a, fd, 65536) != ARCHIVE_OK) archive_fail(in.a, shown);
    archive_entry* e;
    int r;
    while ((r = archive_read_next_header(in.a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        std::string name = strip_root(archive_entry_pathname(e));
        if (name.empty() || name == "." || name == "./") continue;
        archive_entry_set_pathname(e, name.c_str());
        if (const char* hl = archive_entry_hardlink(e)) archive_entry_set_hardlink(e, strip_root(hl).c_str());
        write_header(out, e, shown + ": " + name);
        if (archive_entry_size(e) > 0) copy_data(in.a, out, shown + ": " + name);
    }
    if (r != ARCHIVE_EOF) archive_fail(in.a, shown);
}

// Copies a directory tree (symlinks kept, hardlinks linked, xattrs kept).
void copy_dir(const std::string& dir, archive* out) {
    DiskArchive disk;
    archive_read_disk_set_symlink_physical(disk.a);
    archive_read_disk_set_standard_lookup(disk.a);
    if (archive_read_disk_open(disk.a, dir.c_str()) != ARCHIVE_OK) archive_fail(disk.a, dir);
    archive_entry_linkresolver* links = archive_entry_linkresolver_new();
    archive_entry_linkresolver_set_strategy(links, archive_format(out));
    ScopeGuard free_links([&] { archive_entry_linkresolver_free(links); });
    std::string prefix = dir;
    while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
    for (;;) {
        Entry entry;
        int r = archive_read_next_header2(disk.a, entry.e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) archive_fail(disk.a, dir);
        archive_read_disk_descend(disk.a);
        std::string path = archive_entry_pathname(entry.e);
        if (path == prefix) continue;
        std::string rel = path.substr(prefix.size() + 1);
        archive_entry_set_pathname(entry.e, rel.c_str());
        archive_entry* e = entry.e;
        archive_entry* spare = nullptr;
        archive_entry_linkify(links, &e, &spare);
        if (e) {
            write_header(out, e, dir + ": " + rel);
            if (archive_entry_size(e) > 0) copy_data(disk.a, out, dir + "/" + rel);
        }
        // e may be a deferred entry released by linkify: its data comes from disk
        if (e && e != entry.e) archive_entry_free(e);
    }
    archive_entry* e = nullptr;
    archive_entry* spare = nullptr;
    for (;;) {
        archive_entry_linkify(links, &e, &spare);
        if (!e) break;
        write_header(out, e, dir);
        archive_entry_free(e);
        e = nullptr;
    }
}

std::vector<std::string> words(std::string_view s) {
    std::vector<std::string> out;
    std::string cur;
    char q = 0;
    bool have = false;
    for (size_t i = 0; i < s.size(); i++) {
        char c = s[i];
        if (q) {
            if (c == q) q = 0;
            else if (c == '\\' && q == '"' && i + 1 < s.size()) cur += s[++i];
            else cur += c;
        } else if (c == '"' || c == '\'') {
            q = c;
            have = true;
        } else if (c == '\\' && i + 1 < s.size()) {
            cur += s[++i];
            have = true;
        } else if (c == ' ' || c == '\t') {
            if (have || !cur.empty()) out.push_back(cur);
            cur.clear();
            have = false;
        } else {
            cur += c;
        }
    }
    if (q) throw_invalid("unterminated quote in " + quote(std::string(s)));
    if (have || !cur.empty()) out.push_back(cur);
    return out;
}

Json exec_or_shell(std::string_view rest) {
    std::string_view r = trim(rest);
    if (!r.empty() && r[0] == '[') {
        try {
            Json j = parse_json_text(r, "instruction");
            if (j.is_array() && std::all_of(j.begin(), j.end(), [](const Json& x) { return x.is_string(); }))
                return j;
        } catch (const std::exception&) {
        }
    }
    return Json::array({"/bin/sh", "-c", std::string(r)});
}

} // namespace

void apply_changes(Json& config, const std::vector<std::string>& changes) {
    if (!config.is_object()) config = Json::object();
    for (const auto& change : changes) {
        std::string_view c = trim(change);
        auto sp = c.find_first_of(" \t");
        std::string kw = to_lower(c.substr(0, sp));
        std::string_view rest = sp == std::string_view::npos ? "" : trim(c.substr(sp));
        if (kw == "cmd") {
            config["Cmd"] = exec_or_shell(rest);
        } else if (kw == "entrypoint") {
            config["Entrypoint"] = exec_or_shell(rest);
        } else if (kw == "env" || kw == "label") {
            const char* key = kw == "env" ? "Env" : "Labels";
            std::vector<std::pair<std::string, std::string>> kvs;
            auto ws = words(rest);
            if (!ws.empty() && ws[0].find('=') == std::string::npos) {
                std::string_view r2 = trim(rest.substr(rest.find(ws[0]) + ws[0].size()));
                kvs.emplace_back(ws[0], std::string(r2));
            } else {
                for (const auto& w : ws) {
                    auto kv = split_once(w, '=');
                    if (!kv) throw_invalid(std::string(kw) + " needs KEY=VALUE: " + quote(w));
                    kvs.push_back(*kv);
                }
            }
            if (kvs.empty()) throw_invalid(kw + " requires at least one argument");
            for (const auto& [k, v] : kvs) {
                if (kw == "label") {
                    config[key][k] = v;
                    continue;
                }
                Json& env = config[key];
                if (!env.is_array()) env = Json::array();
                Json out = Json::array();
                for (const auto& e : env)
                    if (e.get<std::string>().rfind(k + "=", 0) != 0) out.push_back(e);
                out.push_back(k + "=" + v);
                env = out;
            }
        } else if (kw == "expose") {
            for (auto p : words(rest)) {
                if (p.find('/') == std::string::npos) p += "/tcp";
                config["ExposedPorts"][p] = Json::object();
            }
        } else if (kw == "volume") {
            Json list = exec_or_shell(rest);
            std::vector<std::string> vols;
            if (list.size() == 3 && list[0] == "/bin/sh") vols = words(rest);
            else for (const auto& v : list) vols.push_back(v.get<std::string>());
            for (const auto& v : vols) config["Volumes"][v] = Json::object();
        } else if (kw == "user") {
            config["User"] = std::string(rest);
        } else if (kw == "workdir") {
            config["WorkingDir"] = std::string(rest);
        } else if (kw == "stopsignal") {
            config["StopSignal"] = std::string(rest);
        } else if (kw == "onbuild") {
            if (!config["OnBuild"].is_array()) config["OnBuild"] = Json::array();
            config["OnBuild"].push_back(std::string(rest));
        } else {
            throw_invalid(quote(std::string(c.substr(0, sp))) + " is not a valid change command");
        }
    }
}

std::string import_rootfs(const ImageStore& store, const ImportOptions& o) {
    std::string reference;
    if (!o.reference.empty()) reference = normalize_reference(o.reference);
    oci::Layout layout = store.layout();
    LayerSink sink(layout);
    {
        WriteArchive out;
        archive_write_set_format_pax_restricted(out.a);
        archive_write_set_bytes_in_last_block(out.a, 1);
        if (archive_write_open2(out.a, &sink, nullptr, sink_write, nullptr, nullptr) != ARCHIVE_OK)
            archive_fail(out.a, "layer");
        struct stat st;
        if (o.source != "-" && ::stat(o.source.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            copy_dir(o.source, out.a);
        } else if (o.source == "-") {
            copy_tar(STDIN_FILENO, "stdin", out.a);
        } else {
            UniqueFd fd = open_path(o.source, O_RDONLY | O_CLOEXEC);
            copy_tar(fd.get(), o.source, out.a);
        }
        if (archive_write_close(out.a) != ARCHIVE_OK) archive_fail(out.a, "layer");
    }
    Digest diff_id;
    oci::Descriptor layer = sink.finish(diff_id);

    oci::Platform p = o.platform ? *o.platform : oci::Platform::host();
    std::string created = format_rfc3339_nano(now_ns());
    Json cfg_config = Json::object();
    apply_changes(cfg_config, o.changes);
    std::string comment = o.message.empty() ? "Imported from " + (o.source == "-" ? std::string("-") : o.source)
                                            : o.message;
    Json config = {{"architecture", p.architecture}, {"os", p.os}, {"created", created}};
    if (!p.variant.empty()) config["variant"] = p.variant;
    config["config"] = cfg_config;
    config["rootfs"] = {{"type", "layers"}, {"diff_ids", Json::array({diff_id.str()})}};
    config["history"] = Json::array({Json{{"created", created}, {"created_by", "ctl import"}, {"comment", comment}}});
    oci::Descriptor cfg = layout.write_blob(dump_compact(config), std::string(oci::media::oci_config));
    Json manifest = {{"schemaVersion", 2},
                     {"mediaType", oci::media::oci_manifest},
                     {"config", cfg},
                     {"layers", Json::array({layer})}};
    oci::Descriptor m = layout.write_blob(dump_compact(manifest), std::string(oci::media::oci_manifest));
    store.add(m, reference.empty() ? std::vector<std::string>{} : std::vector<std::string>{reference});
    return cfg.digest.str();
}

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
    archive_read_support_filter_all(in.a);
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
    Entry entry;
    archive_entry_set_pathname(entry.e, name.c_str());
    archive_entry_set_filetype(entry.e, AE_IFREG);
    archive_entry_set_perm(entry.e, 0644);
    archive_entry_set_size(entry.e, static_cast<la_int64_t>(data.size()));
    archive_entry_set_mtime(entry.e, mtime, 0);
    write_header(out, entry.e, name);
    if (!data.empty() && archive_write_data(out, data.data(), data.size()) < 0) archive_fail(out, name);
}

void add_dir(archive* out, const std::string& name, int64_t mtime) {
    Entry entry;
    archive_entry_set_pathname(entry.e, name.c_str());
    archive_entry_set_filetype(entry.e, AE_IFDIR);
    archive_entry_set_perm(entry.e, 0755);
    archive_entry_set_mtime(entry.e, mtime, 0);
    write_header(out, entry.e, name);
}

void add_fd(archive* out, const std::string& name, int fd, int64_t size, int64_t mtime) {
    Entry entry;
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

struct ArchivedBlob {
    oci::Descriptor descriptor; // digest and size of the bytes as stored
    oci::Compression compression = oci::Compression::none;
};

oci::Compression sniff(const unsigned char* p, size_t n) {
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) return oci::Compression::gzip;
    if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) return oci::Compression::zstd;
    return oci::Compression::none;
}

std::string clean_name(std::string s) {
    while (s.rfind("./", 0) == 0) s.erase(0, 2);
    while (!s.empty() && s[0] == '/') s.erase(0, 1);
    return s;
}

std::string join_rel(const std::string& from_entry, const std::string& target) {
    if (!target.empty() && target[0] == '/') return clean_name(target);
    std::vector<std::string> parts;
    auto slash = from_entry.rfind('/');
    if (slash != std::string::npos)
        for (auto& p : split(from_entry.substr(0, slash), '/')) parts.push_back(p);
    for (auto& p : split(target, '/')) {
        if (p.empty() || p == ".") continue;
        if (p == "..") {
            if (!parts.empty()) parts.pop_back();
        } else {
            parts.push_back(p);
        }
    }
    return join(parts, "/");
}

} // namespace

std::vector<LoadedImage> load_images(const ImageStore& store, int in_fd) {
    oci::Layout layout = store.layout();
    std::map<std::string, std::string> small;       // name -> bytes (JSON documents)
    std::map<std::string, ArchivedBlob> blobs;      // name -> blob in the layout
    std::map<std::string, std::string> links;       // name -> target name
    ReadArchive in;
    archive_read_support_filter_all(in.a);
    archive_read_support_format_tar(in.a);
    archive_read_support_format_gnutar(in.a);
    if (archive_read_open_fd(in.a, in_fd, 65536) != ARCHIVE_OK) archive_fail(in.a, "archive");
    archive_entry* e;
    int r;
    constexpr size_t small_max = 4u << 20;
    while ((r = archive_read_next_header(in.a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        std::string name = clean_name(archive_entry_pathname(e));
        mode_t type = archive_entry_filetype(e);
        if (type == AE_IFLNK) {
            links[name] = join_rel(name, archive_entry_symlink(e) ? archive_entry_symlink(e) : "");
            continue;
        }
        if (const char* hl = archive_entry_hardlink(e)) {
            links[name] = clean_name(hl);
            continue;
        }
        if (type != AE_IFREG) continue;
        int64_t size = archive_entry_size(e);
        bool is_json = name.size() > 5 && name.substr(name.size() - 5) == ".json";
        bool metadata = name == "manifest.json" || name == "repositories" || name == "index.json" ||
                        name == "oci-layout" || is_json || (name.size() > 5 && name.substr(name.size() - 5) == "/json") ||
                        (name.size() > 8 && name.substr(name.size() - 8) == "/VERSION");
        if (metadata && size >= 0 && static_cast<size_t>(size) <= small_max) {
            std::string data;
            data.resize(static_cast<size_t>(size));
            size_t got = 0;
            while (got < data.size()) {
                la_ssize_t n = archive_read_data(in.a, data.data() + got, data.size() - got);
                if (n < 0) archive_fail(in.a, name);
                if (n == 0) break;
                got += static_cast<size_t>(n);
            }
            data.resize(got);
            small[name] = std::move(data);
            continue;
        }
        oci::BlobWriter w = layout.begin_blob();
        unsigned char head[4];
        size_t head_n = 0;
        char buf[65536];
        for (;;) {
            la_ssize_t n = archive_read_data(in.a, buf, sizeof buf);
            if (n < 0) archive_fail(in.a, name);
            if (n == 0) break;
            for (la_ssize_t k = 0; k < n && head_n < sizeof head; k++) head[head_n++] = static_cast<unsigned char>(buf[k]);
            w.write(buf, static_cast<size_t>(n));
        }
        ArchivedBlob b;
        b.descriptor.size = static_cast<int64_t>(w.size());
        b.descriptor.digest = w.commit();
        b.compression = sniff(head, head_n);
        blobs[name] = b;
    }
    if (r != ARCHIVE_EOF) archive_fail(in.a, "archive");

    auto resolve = [&](std::string name) {
        for (int hops = 0; hops < 16; hops++) {
            auto it = links.find(name);
            if (it == links.end()) break;
            name = it->second;
        }
        return name;
    };
    auto m = small.find("manifest.json");
    if (m == small.end()) throw_invalid("archive: no manifest.json (not a docker-archive)");
    Json manifest = parse_json(m->second, "manifest.json");
    if (!manifest.is_array()) throw_invalid("manifest.json: expected an array");

    std::vector<LoadedImage> loaded;
    for (const auto& item : manifest) {
        std::string config_name = resolve(clean_name(item.value("Config", "")));
        std::string config_bytes;
        if (auto it = small.find(config_name); it != small.end()) {
            config_bytes = it->second;
        } else if (auto b = blobs.find(config_name); b != blobs.end()) {
            oci::Descriptor d = b->second.descriptor;
            config_bytes = layout.read_blob(d, small_max);
        } else {
            throw_invalid("manifest.json: config " + quote(config_name) + " is not in the archive");
        }
        oci::ImageConfig config = oci::ImageConfig::parse(config_bytes, config_name);
        const Json& layers = item.value("Layers", Json::array());
        if (layers.size() != config.diff_ids.size())
            throw_invalid(config_name + ": " + std::to_string(config.diff_ids.size()) + " diff_ids but " +
                          std::to_string(layers.size()) + " layers in manifest.json");
        Json layer_descs = Json::array();
        for (size_t i = 0; i < layers.size(); i++) {
            std::string ln = resolve(clean_name(layers[i].get<std::string>()));
            auto b = blobs.find(ln);
            if (b == blobs.end()) throw_invalid("manifest.json: layer " + quote(ln) + " is not in the archive");
            oci::Descriptor d = b->second.descriptor;
            switch (b->second.compression) {
            case oci::Compression::none:
                d.media_type = std::string(oci::media::oci_layer);
                verify_digest("layer " + ln, config.diff_ids[i], d.digest);
                break;
            case oci::Compression::gzip: d.media_type = std::string(oci::media::oci_layer_gzip); break;
            case oci::Compression::zstd: d.media_type = std::string(oci::media::oci_layer_zstd); break;
            }
            layer_descs.push_back(d);
        }
        oci::Descriptor cfg = layout.write_blob(config_bytes, std::string(oci::media::oci_config));
        Json om = {{"schemaVersion", 2}, {"mediaType", oci::media::oci_manifest}, {"config", cfg}, {"layers", layer_descs}};
        oci::Descriptor md = layout.write_blob(dump_compact(om), std::string(oci::media::oci_manifest));
        std::vector<std::string> refs, tags;
        if (item.contains("RepoTags") && item["RepoTags"].is_array())
            for (const auto& t : item["RepoTags"]) {
                refs.push_back(normalize_reference(t.get<std::string>()));
                tags.push_back(familiar_reference(refs.back()));
            }
        store.add(md, refs);
        loaded.push_back(LoadedImage{cfg.digest.str(), tags});
    }
    return loaded;
}

} // namespace ctk::engine
