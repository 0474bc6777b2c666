#include "image/pack.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "build/config_change.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "core/time.hpp"
#include "image/archive_io.hpp"
#include "image/docker_archive.hpp"
#include "image/image_writer.hpp"
#include "image/layer_store.hpp"
#include "store/paths.hpp"
#include "oci/media_types.hpp"
#include "oci/reference.hpp"

namespace ctk::image {

const std::set<std::string>& runtime_mount_points() {
    static const std::set<std::string> paths = {"proc", "sys", "dev", "etc/hosts", "etc/hostname", "etc/resolv.conf",
                                                ".dockerenv"};
    return paths;
}

// ---- one change of a layout

LayoutChange::LayoutChange(oci::Layout layout) : layout_(std::move(layout)), lock_(layout_.lock_path()) {}

LayoutChange::~LayoutChange() {
    if (done_) return;
    for (const auto& d : new_blobs_) ::unlink(layout_.blob_path(d).c_str());
}

oci::Index& LayoutChange::index() {
    if (!index_) index_ = layout_.read_index();
    return *index_;
}

oci::Descriptor LayoutChange::write_blob(std::string_view data, std::string media_type) {
    bool present = layout_.has_blob(Digest::sha256_of(data));
    oci::Descriptor d = layout_.write_blob(data, std::move(media_type));
    wrote(d.digest, !present);
    return d;
}

void LayoutChange::wrote(const Digest& digest, bool new_blob) {
    if (new_blob) new_blobs_.push_back(digest);
}

void LayoutChange::commit() {
    if (index_) layout_.write_index(*index_);
    done_ = true;
}

// ---- layers

namespace {

// A bundle's changes as the callers want them: `from_upper(upper, lowers)`
// for an overlay bundle (its upper directory over its layers' diff
// directories, top first), `from_diff(lower, rootfs, options)` for a flat one
// (a fresh flat unpack of its image beside the layout, against its rootfs).
template <class R>
R bundle_changes(const oci::Layout& layout, const std::string& bundle, const std::set<std::string>& exclude,
                 const FlatUnpacker& unpack_flat,
                 const std::function<R(const std::string&, const std::vector<std::string>&, const LayerWriteOptions&)>& from_upper,
                 const std::function<R(const std::string&, const std::string&, const LayerWriteOptions&)>& from_diff) {
    std::string record_path = bundle + "/ctk-bundle.json";
    auto record = read_file_if_exists(record_path);
    if (!record) throw_invalid("bundle " + quote(bundle) + " has no ctk-bundle.json (not made by img-unpack)");
    Json br = parse_json(*record, record_path);
    LayerWriteOptions lo;
    lo.exclude = exclude;
    lo.exclude.insert(runtime_mount_points().begin(), runtime_mount_points().end());
    if (br.value("mode", "") == "overlay") {
        std::vector<std::string> lowers; // top first
        LayerStore layers(store::Paths::from_env().layers());
        for (const auto& chain : br.value("layers", Json::array()))
            if (chain.is_string() && Digest::valid(chain.get<std::string>()))
                lowers.insert(lowers.begin(), layers.diff_dir(Digest::parse(chain.get<std::string>())));
        if (lowers.empty()) lowers.push_back(bundle + "/overlay/empty");
        return from_upper(br.value("upper", bundle + "/overlay/upper"), lowers, lo);
    }
    std::string image = br.value("image", "");
    if (!Digest::valid(image))
        throw_invalid(record_path + ": no manifest digest in \"image\" (a legacy docker-archive image): use --diff");
    if (!unpack_flat) throw Error("bundle " + quote(bundle) + ": flat bundles need an unpacker");
    // beside the layout: on the store's file system, not a small /tmp
    std::string dir = layout.path();
    TempDir tmp("img-pack-flat", dir.substr(0, dir.find_last_of('/') == 0 ? 1 : dir.find_last_of('/')));
    unpack_flat(layout, Digest::parse(image), tmp.path() + "/b");
    return from_diff(tmp.path() + "/b/rootfs", br.value("rootfs", bundle + "/rootfs"), lo);
}

WrittenLayer bundle_layer(LayoutChange& change, const LayerSource& s, const FlatUnpacker& unpack_flat) {
    const oci::Layout& layout = change.layout();
    return bundle_changes<WrittenLayer>(
        layout, s.bundle, s.exclude, unpack_flat,
        [&](const std::string& upper, const std::vector<std::string>&, const LayerWriteOptions& lo) {
            return write_layer_from_upper(layout, upper, lo);
        },
        [&](const std::string& lower, const std::string& rootfs, const LayerWriteOptions& lo) {
            return write_layer_from_diff(layout, lower, rootfs, lo);
        });
}

} // namespace

WrittenLayer write_layer(LayoutChange& change, const LayerSource& s, const FlatUnpacker& unpack_flat) {
    WrittenLayer out;
    if (!s.bundle.empty()) {
        out = bundle_layer(change, s, unpack_flat);
    } else {
        LayerWriteOptions lo;
        lo.exclude = s.exclude;
        if (!s.upper.empty()) out = write_layer_from_upper(change.layout(), s.upper, lo);
        else if (!s.lower.empty()) out = write_layer_from_diff(change.layout(), s.lower, s.diff_upper, lo);
        else throw Error("no layer source", ErrorKind::usage);
    }
    if (!out.empty()) change.wrote(out.descriptor.digest, out.new_blob);
    return out;
}

std::vector<PathChange> bundle_diff(const oci::Layout& layout, const std::string& bundle,
                                    const FlatUnpacker& unpack_flat) {
    using Changes = std::vector<PathChange>;
    return bundle_changes<Changes>(
        layout, bundle, {}, unpack_flat,
        [](const std::string& upper, const std::vector<std::string>& lowers, const LayerWriteOptions& lo) {
            return changes_from_upper(upper, lowers, lo);
        },
        [](const std::string& lower, const std::string& rootfs, const LayerWriteOptions& lo) {
            return changes_from_diff(lower, rootfs, lo);
        });
}

WrittenLayer existing_layer(const oci::Layout& layout, const Digest& blob) {
    if (!layout.has_blob(blob)) throw_not_found("layer " + blob.str() + " is not in " + quote(layout.path()));
    UniqueFd fd = layout.open_blob(blob);
    unsigned char head[4] = {};
    ssize_t got = ::pread(fd.get(), head, sizeof head, 0);
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) throw_errno("stat", layout.blob_path(blob));
    // The blob is read whole: its digest must be its name (a corrupt blob is refused).
    Hasher whole;
    {
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(fd.get(), buf, sizeof buf);
            if (n < 0) {
                if (errno == EINTR) continue;
                throw_errno("read", layout.blob_path(blob));
            }
            if (n == 0) break;
            whole.update(buf, static_cast<size_t>(n));
        }
    }
    verify_digest("layer " + blob.str(), blob, whole.digest());
    WrittenLayer out;
    out.descriptor.digest = blob;
    out.descriptor.size = st.st_size;
    switch (sniff_compression(head, got > 0 ? static_cast<size_t>(got) : 0)) {
    case oci::Compression::gzip: out.descriptor.media_type = std::string(oci::media::oci_layer_gzip); break;
    case oci::Compression::zstd: out.descriptor.media_type = std::string(oci::media::oci_layer_zstd); break;
    case oci::Compression::none: out.descriptor.media_type = std::string(oci::media::oci_layer); break;
    }
    uint64_t size = 0;
    out.diff_id = decompressed_digest(layout, blob, [&](const char*, size_t n) { size += n; });
    out.tar_size = size;
    out.entries = 1;
    return out;
}

std::string created_time(const std::string& created) {
    if (!created.empty()) {
        auto t = parse_rfc3339(created);
        if (!t) throw_invalid("--created " + quote(created) + ": not an RFC 3339 time");
        return format_rfc3339_nano(*t);
    }
    if (const char* e = std::getenv("SOURCE_DATE_EPOCH"); e && *e) {
        char* end = nullptr;
        long long secs = std::strtoll(e, &end, 10);
        if (*end || secs < 0) throw_invalid("SOURCE_DATE_EPOCH " + quote(e) + ": not a number of seconds");
        return format_rfc3339_nano(static_cast<int64_t>(secs) * 1000000000);
    }
    return format_rfc3339_nano(now_ns());
}

// ---- commit

Json CommitResult::json() const {
    Json l = nullptr;
    if (layer) {
        const WrittenLayer& w = *layer;
        l = Json{{"digest", w.descriptor.digest.str()}, {"diff_id", w.diff_id.str()},
                 {"media_type", w.descriptor.media_type}, {"size", w.descriptor.size},
                 {"tar_size", w.tar_size}, {"content_size", w.content_size}, {"entries", w.entries}};
    }
    return Json{{"id", id.str()}, {"manifest", manifest}, {"tags", tags}, {"layer", l}};
}

namespace {

std::vector<std::string> normalized(const std::vector<std::string>& refs) {
    std::vector<std::string> out;
    for (const auto& r : refs) {
        std::string full = normalize_reference(r);
        if (full.find('@') != std::string::npos) throw_invalid("cannot tag with a digest reference: " + quote(r));
        if (std::find(out.begin(), out.end(), full) == out.end()) out.push_back(full);
    }
    return out;
}

std::string join_words(const Json& j) {
    std::vector<std::string> w;
    if (j.is_array())
        for (const auto& x : j)
            if (x.is_string()) w.push_back(x.get<std::string>());
    return join(w, " ");
}

} // namespace

CommitResult commit_image(const ImageStore& store, const CommitRequest& r, const FlatUnpacker& unpack_flat) {
    std::vector<std::string> tags = normalized(r.tags);
    if (!r.index && !tags.empty()) throw Error("--no-index and --tag do not go together: a name is an index entry", ErrorKind::usage);
    std::string created = created_time(r.created);
    LayoutChange change(store.layout());
    const oci::Layout& layout = change.layout();

    std::optional<ImageDraft> draft;
    if (r.base.empty()) throw Error("no base image (--base IMAGE or scratch)", ErrorKind::usage);
    if (r.base == "scratch") {
        draft = ImageDraft::scratch(r.platform ? *r.platform : oci::Platform::host());
    } else {
        LocalImage base = store.get(r.base);
        oci::ResolvedImage resolved = base.resolved;
        if (r.platform) {
            oci::Descriptor top = resolved.index_descriptor ? *resolved.index_descriptor : resolved.manifest_descriptor;
            resolved = oci::resolve_image(layout, top, r.platform);
            if (!resolved.config.platform().satisfies(*r.platform))
                throw_not_found("image " + quote(r.base) + " is for " + resolved.config.platform().str() + ", not " +
                                r.platform->str());
        }
        draft = ImageDraft::from(resolved.manifest, resolved.config);
    }

    Json cc = draft->config().config;
    if (!cc.is_object()) cc = Json::object();
    if (r.set_config) {
        if (!r.set_config->is_object()) throw_invalid("--set-config: expected a JSON object (Docker's Config)");
        cc = *r.set_config;
    }
    if (r.config) {
        if (!r.config->is_object()) throw_invalid("--config: expected a JSON object (Docker's Config)");
        for (const char* k :
             {"Cmd", "Entrypoint", "Env", "WorkingDir", "User", "ExposedPorts", "Volumes", "Labels", "StopSignal"})
            if (r.config->contains(k) && !(*r.config)[k].is_null()) cc[k] = (*r.config)[k];
    }
    build::apply_changes(cc, r.changes);
    try {
        draft->config().config = cc.get<oci::ContainerConfig>();
    } catch (const Error& e) {
        throw e.wrap("--config");
    } catch (const std::exception& e) {
        throw_invalid(std::string("--config: ") + e.what());
    }
    if (!r.author.empty()) draft->config().author = r.author;

    CommitResult out;
    if (r.layer.blob) {
        out.layer = existing_layer(layout, *r.layer.blob);
    } else if (!r.layer.empty()) {
        out.layer = write_layer(change, r.layer, unpack_flat);
    }
    oci::History h;
    h.created = created;
    h.author = r.author;
    h.comment = r.message;
    if (!r.created_by.empty()) {
        h.created_by = r.created_by;
    } else if (out.layer && !out.layer->empty()) {
        // docker commit: the container's command
        h.created_by = r.config ? join_words(r.config->value("Cmd", Json())) : "";
    } else if (!r.changes.empty()) {
        h.created_by = "/bin/sh -c #(nop)  " + join(r.changes, " ");
    }
    if (out.layer && !out.layer->empty()) draft->add_layer(*out.layer, h);
    else draft->add_empty(h);

    WrittenImage written = draft->write(layout, created);
    out.id = written.config;
    out.manifest = written.manifest;
    out.tags = tags;
    if (r.index) index_add(change.index(), written.manifest, tags);
    change.commit();
    return out;
}

// ---- import

namespace {

std::string strip_root(const char* p) {
    std::string s = p ? p : "";
    while (!s.empty() && s[0] == '/') s.erase(0, 1);
    return s;
}

// Copies a tar stream (any compression of support_compressions) entry by entry.
void copy_tar(int fd, const std::string& shown, archive* out) {
    ReadArchive in;
    support_compressions(in.a);
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
        if (archive_write_header(out, e) < ARCHIVE_WARN) archive_fail(out, shown + ": " + name);
        if (archive_entry_size(e) > 0) {
            char buf[65536];
            for (;;) {
                la_ssize_t n = archive_read_data(in.a, buf, sizeof buf);
                if (n < 0) archive_fail(in.a, shown + ": " + name);
                if (n == 0) break;
                if (archive_write_data(out, buf, static_cast<size_t>(n)) < 0) archive_fail(out, shown + ": " + name);
            }
        }
    }
    if (r != ARCHIVE_EOF) archive_fail(in.a, shown);
}

WrittenLayer tar_layer(LayoutChange& change, const std::string& source) {
    GzipLayerSink sink(change.layout());
    {
        WriteArchive out;
        archive_write_set_format_pax_restricted(out.a);
        archive_write_set_bytes_in_last_block(out.a, 1);
        if (archive_write_open2(out.a, &sink, nullptr, GzipLayerSink::write_callback, nullptr, nullptr) != ARCHIVE_OK)
            archive_fail(out.a, "layer");
        if (source == "-") {
            copy_tar(STDIN_FILENO, "stdin", out.a);
        } else {
            UniqueFd fd = open_path(source, O_RDONLY | O_CLOEXEC);
            copy_tar(fd.get(), source, out.a);
        }
        if (archive_write_close(out.a) != ARCHIVE_OK) archive_fail(out.a, "layer");
    }
    WrittenLayer w = sink.finish();
    change.wrote(w.descriptor.digest, w.new_blob);
    return w;
}

} // namespace

Json import_image(const ImageStore& store, const ImportRequest& o) {
    std::vector<std::string> tags;
    if (!o.reference.empty()) tags = normalized({o.reference});
    std::string created = created_time(o.created);
    Json cfg_config = Json::object();
    build::apply_changes(cfg_config, o.changes);
    LayoutChange change(store.layout());
    WrittenLayer layer;
    struct stat st;
    if (o.source != "-" && ::stat(o.source.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        // A directory: every entry is an addition (a diff against nothing).
        TempDir empty("img-pack-empty");
        layer = write_layer_from_diff(change.layout(), empty.path(), o.source);
        if (!layer.empty()) change.wrote(layer.descriptor.digest, layer.new_blob);
    } else {
        layer = tar_layer(change, o.source);
    }
    oci::Platform p = o.platform ? *o.platform : oci::Platform::host();
    ImageDraft draft = ImageDraft::scratch(p);
    try {
        draft.config().config = cfg_config.get<oci::ContainerConfig>();
    } catch (const std::exception& e) {
        throw_invalid(std::string("--change: ") + e.what());
    }
    oci::History h;
    h.created_by = "ctl import";
    h.comment = o.message.empty() ? "Imported from " + o.source : o.message;
    if (layer.empty()) {
        // an empty directory or tar: still one (empty) layer, as docker import makes
        GzipLayerSink sink(change.layout());
        {
            WriteArchive out;
            archive_write_set_format_pax_restricted(out.a);
            archive_write_set_bytes_in_last_block(out.a, 1);
            if (archive_write_open2(out.a, &sink, nullptr, GzipLayerSink::write_callback, nullptr, nullptr) != ARCHIVE_OK ||
                archive_write_close(out.a) != ARCHIVE_OK)
                archive_fail(out.a, "layer");
        }
        layer = sink.finish();
        change.wrote(layer.descriptor.digest, layer.new_blob);
    }
    draft.add_layer(layer, h);
    WrittenImage written = draft.write(change.layout(), created);
    index_add(change.index(), written.manifest, tags);
    change.commit();
    return Json{{"id", written.config.str()}, {"manifest", written.manifest}, {"tags", tags}};
}

// ---- names

Json tag_image(const ImageStore& store, const std::string& image, const std::vector<std::string>& targets) {
    std::vector<std::string> tags = normalized(targets);
    LayoutChange change(store.layout());
    LocalImage img = store.get(image);
    oci::Descriptor d = img.entries.empty() ? img.resolved.manifest_descriptor : img.entries[0];
    d.annotations.erase(oci::annotation_ref_name);
    index_add(change.index(), d, tags);
    change.commit();
    return Json{{"id", img.id}, {"tags", tags}};
}

Json untag_references(const ImageStore& store, const std::vector<std::string>& refs) {
    LayoutChange change(store.layout());
    Json out = Json::array();
    for (const auto& r : refs) {
        if (r.empty() || r.rfind("sha256:", 0) == 0 || r[0] == '@' || (r.size() == 64 && oci::is_hex_identifier(r)))
            throw_invalid(quote(r) + " is an image ID, not a name: untag removes names (use rm)");
        std::string full = normalize_reference(r);
        if (!index_untag(change.index(), full)) throw_not_found("No such image: " + r);
        out.push_back(full);
    }
    change.commit();
    return Json{{"untagged", out}};
}

Json remove_images(const ImageStore& store, const std::vector<std::string>& images, bool force) {
    Json out = Json::array();
    for (const auto& ref : images) {
        LayoutChange change(store.layout());
        ImageStore::Removal r = store.removal(ref, force, {});
        for (const auto& name : r.untag) index_untag(change.index(), name);
        if (!r.entries.empty()) index_remove(change.index(), r.entries);
        change.commit();
        // index.json no longer reaches them; still under the lock
        for (const auto& b : r.blobs) ::unlink(change.layout().blob_path(Digest::parse(b)).c_str());
        for (const auto& j : r.result) out.push_back(j);
    }
    return out;
}

} // namespace ctk::image
