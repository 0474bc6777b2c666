#include "engine/commit.hpp"

#include <sys/stat.h>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "engine/commands.hpp"
#include "engine/format.hpp"
#include "engine/image_archive.hpp"
#include "engine/plan.hpp"
#include "engine/timefmt.hpp"
#include "image/image_writer.hpp"
#include "image/layer_writer.hpp"
#include "oci/media_types.hpp"
#include "engine/tools.hpp"

namespace ctk::engine {

const std::set<std::string>& runtime_mount_points() {
    static const std::set<std::string> paths = {"proc", "sys", "dev", "etc/hosts", "etc/hostname", "etc/resolv.conf",
                                                ".dockerenv"};
    return paths;
}

namespace {

std::string short12(const std::string& id) {
    std::string h = id.rfind("sha256:", 0) == 0 ? id.substr(7) : id;
    return h.substr(0, 12);
}

// The descriptor of a manifest blob known only by digest.
oci::Descriptor manifest_descriptor(const oci::Layout& layout, const Digest& digest) {
    UniqueFd fd = layout.open_blob(digest);
    std::string bytes = read_fd(fd.get(), 4u << 20);
    oci::Descriptor d;
    d.digest = digest;
    d.size = static_cast<int64_t>(bytes.size());
    d.media_type = parse_json(bytes, "manifest " + digest.str()).value("mediaType", std::string(oci::media::oci_manifest));
    return d;
}

} // namespace

std::string commit_container(Engine& engine, const CommitOptions& o) {
    std::string reference;
    if (!o.reference.empty()) reference = normalize_reference(o.reference);
    ContainerRecord rec = engine.containers().lookup(o.container);
    std::string bundle = rec.ctk().value("Bundle", engine.containers().dir(rec.id) + "/bundle");
    auto record = read_file_if_exists(bundle + "/" + "ctk-bundle.json");
    if (!record) throw_invalid("container " + rec.id.substr(0, 12) + ": its bundle has no ctk-bundle.json (not made by img-unpack)");
    Json br = parse_json(*record, bundle + "/ctk-bundle.json");
    oci::Layout layout = engine.images().layout();
    auto base = image::read_stored_image(layout, manifest_descriptor(layout, Digest::parse(br.value("image", ""))));

    image::LayerWriteOptions lo;
    lo.exclude = runtime_mount_points();
    image::WrittenLayer layer;
    if (br.value("mode", "") == "overlay") {
        layer = image::write_layer_from_upper(layout, bundle + "/overlay/upper", lo);
    } else {
        // A flat rootfs: compare with a fresh flat unpack of its image.
        TempDir tmp("commit", engine.paths().root);
        std::string ref = base.manifest_descriptor.digest.str();
        Json pulled = {{"layout", layout.path()}, {"digest", ref}, {"manifest", base.manifest_descriptor}};
        RunOptions ro;
        ro.input = dump_compact(pulled);
        auto p = run_process(tools::unpack_from_stdin("flat", tmp.path() + "/b", {}, false, {}), ro);
        if (!p.ok()) throw Error(std::string(trim(p.err)));
        layer = image::write_layer_from_diff(layout, tmp.path() + "/b/rootfs", bundle + "/rootfs", lo);
    }

    image::ImageDraft draft = image::ImageDraft::from(base.manifest, base.config);
    Json cc = draft.config().config;
    const Json& rc = rec.doc.value("Config", Json::object());
    for (const char* k : {"Cmd", "Entrypoint", "Env", "WorkingDir", "User", "ExposedPorts", "Volumes", "Labels", "StopSignal"})
        if (rc.contains(k) && !rc[k].is_null()) cc[k] = rc[k];
    apply_changes(cc, o.changes);
    draft.config().config = cc.get<oci::ContainerConfig>();
    if (!o.author.empty()) draft.config().author = o.author;
    oci::History h;
    std::vector<std::string> cmd;
    if (rc.contains("Cmd") && rc["Cmd"].is_array())
        for (const auto& w : rc["Cmd"]) cmd.push_back(w.get<std::string>());
    h.created_by = join(cmd, " ");
    h.author = o.author;
    h.comment = o.message;
    draft.add_layer(layer, h);
    auto written = draft.write(layout, format_rfc3339_nano(now_ns()));
    engine.images().add(written.manifest, reference.empty() ? std::vector<std::string>{} : std::vector<std::string>{reference});
    return written.config.str();
}

Json image_history(const ImageStore& store, const std::string& ref) {
    LocalImage img = store.get(ref);
    const auto& cfg = img.resolved.config;
    const auto& layers = img.resolved.manifest.layers;
    Json rows = Json::array();
    size_t layer = 0;
    std::vector<Json> forward;
    for (const auto& h : cfg.history) {
        int64_t size = 0;
        if (!h.empty_layer && layer < layers.size()) size = layers[layer++].size;
        auto t = parse_rfc3339(h.created);
        forward.push_back({{"Id", "<missing>"},
                           {"Created", t ? *t / 1000000000 : 0},
                           {"CreatedBy", h.created_by},
                           {"Tags", nullptr},
                           {"Size", size},
                           {"Comment", h.comment}});
    }
    for (auto it = forward.rbegin(); it != forward.rend(); ++it) rows.push_back(*it);
    if (!rows.empty()) {
        rows[0]["Id"] = img.id;
        auto tags = img.repo_tags();
        if (!tags.empty()) rows[0]["Tags"] = tags;
    }
    return rows;
}

void print_history(const ImageStore& store, const std::string& ref, bool no_trunc, bool quiet, bool human,
                   const std::string& format, FILE* out) {
    Json rows = image_history(store, ref);
    std::vector<Json> shown;
    int64_t now = now_ns() / 1000000000;
    for (const auto& r : rows) {
        std::string id = r["Id"];
        if (!no_trunc && id != "<missing>") id = short12(id);
        std::string by = r["CreatedBy"];
        if (!no_trunc && by.size() > 45) by = by.substr(0, 44) + "…";
        int64_t created = r["Created"];
        int64_t size = r["Size"];
        shown.push_back({{"ID", id},
                         {"CreatedSince", human ? human_duration(now - created) + " ago" : docker_created_at(created)},
                         {"CreatedAt", docker_created_at(created)},
                         {"CreatedBy", by},
                         {"Size", human ? human_size_decimal(size) : std::to_string(size)},
                         {"Comment", r["Comment"]}});
    }
    std::string text;
    if (quiet) {
        for (const auto& s : shown) text += s["ID"].get<std::string>() + "\n";
    } else {
        Listing l;
        l.default_table = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
        l.headers = {{"ID", "IMAGE"}, {"CreatedSince", "CREATED"}, {"CreatedAt", "CREATED AT"},
                     {"CreatedBy", "CREATED BY"}, {"Size", "SIZE"}, {"Comment", "COMMENT"}};
        text = render_listing(l, format, shown);
    }
    std::fwrite(text.data(), 1, text.size(), out);
}

} // namespace ctk::engine
