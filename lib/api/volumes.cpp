// /volumes/…: vol-mount's volumes, already kept in Docker's shape.
#include "api/daemon.hpp"
#include "api/util.hpp"
#include "core/error.hpp"
#include "core/strings.hpp"
#include "engine/backend.hpp"
#include "engine/tools.hpp"
#include "engine/volume_list.hpp"

namespace ctk::api {

namespace {

// The API's volume object (vol-mount adds the users, the API does not show them).
Json api_volume(const Json& v) { return engine::docker_volume(v); }

std::optional<Json> find_volume(const std::string& name) {
    ProcessResult p = run_process(engine::tools::vol_inspect(name));
    if (!p.ok()) {
        if (p.status == 4) return std::nullopt;
        throw Error(tool_message(p.err, "vol-mount failed"), error_kind_of_exit(p.status));
    }
    for (const auto& line : split(p.out, '\n'))
        if (!trim(line).empty()) {
            Json j = parse_json_text(line, "vol-mount output");
            if (j.is_array() && !j.empty()) return j[0];
            return j;
        }
    return std::nullopt;
}

} // namespace

void add_volume_routes(Router& r, Daemon& d) {
    r.add("GET", "/volumes", [](Request& req, Response& res) {
        engine::FilterMap f;
        for (const auto& [k, v] : parse_filters_json(req.query().value("filters"))) f[k] = v;
        Json out = Json::array();
        try {
            for (auto& v : engine::list_volumes(f)) out.push_back(std::move(v));
        } catch (const Error& x) {
            if (x.kind() == ErrorKind::invalid) throw HttpError(400, x.what());
            throw;
        }
        res.json(200, Json{{"Volumes", out}, {"Warnings", nullptr}});
    });

    r.add("GET", "/volumes/{name}", [](Request& req, Response& res) {
        auto v = find_volume(req.params["name"]);
        if (!v) throw HttpError(404, engine::no_such_volume(req.params["name"]));
        res.json(200, api_volume(*v));
    });

    r.add("POST", "/volumes/create", [&d](Request& req, Response& res) {
        Json body = json_body(req, d.options().json_body_limit);
        std::string name = json_str(body, "Name");
        std::string driver = json_str(body, "Driver", "local");
        if (!driver.empty() && driver != "local") throw HttpError(404, engine::no_driver_plugin(driver, "volumes are local"));
        if (!name.empty())
            if (auto v = find_volume(name)) return res.json(201, api_volume(*v)); // Docker: create is idempotent
        std::vector<std::string> labels, opts;
        Json label_map = json_get(body, "Labels", Json::object());
        for (auto it = label_map.begin(); it != label_map.end(); ++it)
            if (it.value().is_string()) labels.push_back(it.key() + "=" + it.value().get<std::string>());
        Json opt_map = json_get(body, "DriverOpts", Json::object());
        for (auto it = opt_map.begin(); it != opt_map.end(); ++it)
            if (it.value().is_string()) opts.push_back(it.key() + "=" + it.value().get<std::string>());
        ProcessResult p = run_tool(engine::tools::vol_create(name, labels, opts));
        Json v;
        try {
            v = parse_json_text(p.out, "vol-mount output");
        } catch (const std::exception&) {
            v = Json::object();
        }
        if (name.empty()) name = json_str(v, "Name");
        if (auto full = find_volume(name)) v = *full;
        d.events().publish("volume", "create", name, {{"driver", "local"}});
        res.json(201, api_volume(v));
    });

    r.add("DELETE", "/volumes/{name}", [&d](Request& req, Response& res) {
        std::string name = req.params["name"];
        ProcessResult p = run_process(engine::tools::vol_rm({name}, req.query().flag("force")));
        if (!p.ok()) {
            std::string msg = tool_message(p.err, "vol-mount failed");
            if (p.status == 4) {
                if (req.query().flag("force")) return res.no_content(204);
                throw HttpError(404, engine::no_such_volume(name));
            }
            if (p.status == 5) throw HttpError(409, "remove " + name + ": volume is in use - " + msg);
            throw Error(msg, error_kind_of_exit(p.status));
        }
        d.events().publish("volume", "destroy", name, {{"driver", "local"}});
        res.no_content(204);
    });

    r.add("POST", "/volumes/prune", [&d](Request& req, Response& res) {
        auto f = parse_filters_json(req.query().value("filters"));
        // API 1.41 prunes every unused volume; "all" (1.42+) chooses it later
        bool all = req.api_minor <= 41;
        if (f.count("all") && !f["all"].empty()) all = f["all"][0] == "true" || f["all"][0] == "1";
        ProcessResult p = run_tool(engine::tools::vol_prune(all));
        Json j;
        try {
            j = parse_json_text(p.out, "vol-mount output");
        } catch (const std::exception&) {
            j = Json::object();
        }
        Json deleted = json_get(j, "VolumesDeleted", Json::array());
        for (const auto& v : deleted)
            if (v.is_string()) d.events().publish("volume", "destroy", v.get<std::string>(), {{"driver", "local"}});
        res.json(200, Json{{"VolumesDeleted", deleted.empty() ? Json(nullptr) : deleted},
                           {"SpaceReclaimed", j.value("SpaceReclaimed", 0)}});
    });
}

} // namespace ctk::api
