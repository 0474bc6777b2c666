#include "engine/commit.hpp"

#include <sys/stat.h>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "engine/commands.hpp"
#include "engine/format.hpp"
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

} // namespace

// A plan of one img-pack commit: the bundle's changes (img-pack keeps the
// runtime's mount points out) on the image the container was made from, the
// container's Config laid over the image's, then the --change instructions.
std::string commit_container(Engine& engine, const CommitOptions& o) {
    std::string reference;
    if (!o.reference.empty()) reference = normalize_reference(o.reference);
    ContainerRecord rec = engine.containers().lookup(o.container);
    std::string bundle = rec.ctk().value("Bundle", engine.containers().dir(rec.id) + "/bundle");
    auto record = read_file_if_exists(bundle + "/" + "ctk-bundle.json");
    if (!record) throw_invalid("container " + rec.id.substr(0, 12) + ": its bundle has no ctk-bundle.json (not made by img-unpack)");
    Json br = parse_json(*record, bundle + "/ctk-bundle.json");
    std::string image = br.value("image", "");
    if (image.empty()) throw_invalid("container " + rec.id.substr(0, 12) + ": its bundle does not name its image's manifest");

    Json config = Json::object();
    const Json& rc = rec.doc.value("Config", Json::object());
    for (const char* k : {"Cmd", "Entrypoint", "Env", "WorkingDir", "User", "ExposedPorts", "Volumes", "Labels", "StopSignal"})
        if (rc.contains(k) && !rc[k].is_null()) config[k] = rc[k];
    std::string config_file = engine.paths().root + "/tmp/commit-" + rec.id.substr(0, 12) + "-" + random_hex(4) + ".json";

    Plan p = engine.new_plan("ctl commit " + o.container);
    p.add(make_dir_step(engine.paths().root + "/tmp"));
    p.add(write_file_step(config_file, dump_compact(config) + "\n", 0644, "the container's Config, laid over its image's"));
    p.add(arm_rollback_step({remove_tree_step(config_file)}));
    tools::PackCommit pc;
    pc.base = "@" + image;
    pc.bundle = bundle;
    pc.config_file = config_file;
    pc.changes = o.changes;
    pc.author = o.author;
    pc.message = o.message;
    if (!reference.empty()) pc.tags = {reference};
    Step s = run_step(tools::pack_commit(pc), "the container's changes as a layer on its image");
    s.keep_output = "out";
    p.add(s);
    p.add(remove_tree_step(config_file));
    p.add(disarm_rollback_step());
    ExecResult r;
    try {
        r = engine.run_plan(p);
    } catch (...) {
        if (!engine.explaining()) ::unlink(config_file.c_str());
        throw;
    }
    auto it = r.vars.find("out");
    if (it == r.vars.end()) return "";
    return parse_json_text(it->second, "img-pack commit output").value("id", "");
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
    if (forward.empty()) // an image without history: one row for all of it
        forward.push_back({{"Id", "<missing>"}, {"Created", img.created_unix()}, {"CreatedBy", ""}, {"Tags", nullptr},
                           {"Size", img.size()}, {"Comment", ""}});
    for (auto it = forward.rbegin(); it != forward.rend(); ++it) rows.push_back(*it);
    if (!rows.empty()) {
        rows[0]["Id"] = img.id;
        auto tags = img.repo_tags();
        if (!tags.empty()) rows[0]["Tags"] = tags;
    }
    return rows;
}

std::string render_history(const Json& rows, bool no_trunc, bool quiet, bool human, const std::string& format) {
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
    return text;
}

void print_history(const ImageStore& store, const std::string& ref, bool no_trunc, bool quiet, bool human,
                   const std::string& format, FILE* out) {
    std::string text = render_history(image_history(store, ref), no_trunc, quiet, human, format);
    std::fwrite(text.data(), 1, text.size(), out);
}

} // namespace ctk::engine
