#include "engine/volume_list.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "engine/commands.hpp"
#include "engine/format.hpp"
#include "engine/json_fields.hpp"
#include "engine/tools.hpp"

namespace ctk::engine {

Json docker_volume(Json v) {
    v.erase("Users");
    if (!v.contains("Labels") || v["Labels"].is_null()) v["Labels"] = Json::object();
    if (!v.contains("Options") || v["Options"].is_null()) v["Options"] = Json::object();
    if (!v.contains("Scope")) v["Scope"] = "local";
    if (!v.contains("Driver")) v["Driver"] = "local";
    return v;
}

std::vector<Json> list_volumes(const FilterMap& f) {
    check_filter_keys(f, {"name", "label", "driver", "dangling"});
    auto any = [&](const std::string& key, auto pred) { return filter_any(f, key, pred); };
    ProcessResult p = run_process(tools::vol_ls());
    if (!p.ok()) throw Error(std::string(trim(p.err)), error_kind_of_exit(p.status));
    std::vector<Json> out;
    for (const auto& line : split(p.out, '\n')) {
        if (trim(line).empty()) continue;
        Json v = parse_json_text(line, "vol-mount output");
        std::string name = str_or(v, "Name");
        bool dangling = v.value("Users", Json::array()).empty();
        Json labels = v.value("Labels", Json::object());
        if (!any("name", [&](const std::string& x) { return name.find(x) != std::string::npos; })) continue;
        if (!any("driver", [&](const std::string& x) { return x == "local"; })) continue;
        if (!any("dangling", [&](const std::string& x) { return (x == "true" || x == "1") == dangling; })) continue;
        if (auto it = f.find("label"); it != f.end()) {
            bool every = true;
            for (const auto& x : it->second) every = every && label_matches(labels, x);
            if (!every) continue;
        }
        out.push_back(docker_volume(v));
    }
    return out;
}

std::string render_volumes(const std::vector<Json>& entries, const ListOptions& o) {
    std::vector<Json> rows;
    for (const auto& v : entries)
        rows.push_back(Json{{"Driver", v.value("Driver", "local")}, {"Name", v.value("Name", "")}, {"Scope", v.value("Scope", "local")},
                            {"Mountpoint", v.value("Mountpoint", "")}, {"Labels", join_labels(v.value("Labels", Json::object()))},
                            {"Links", "N/A"}, {"Size", "N/A"}});
    Listing l;
    l.default_table = "table {{.Driver}}\t{{.Name}}";
    l.headers = {{"Driver", "DRIVER"}, {"Name", "VOLUME NAME"}, {"Scope", "SCOPE"}, {"Mountpoint", "MOUNTPOINT"},
                 {"Labels", "LABELS"}, {"Links", "LINKS"}, {"Size", "SIZE"}};
    return render_rows(l, o.format, rows, o.quiet, "Name");
}

} // namespace ctk::engine
