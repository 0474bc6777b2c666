#include "engine/container_list.hpp"

#include <algorithm>
#include <regex>
#include <set>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "core/strings.hpp"
#include "engine/commands.hpp"
#include "engine/engine.hpp"
#include "engine/format.hpp"
#include "engine/image_store.hpp"
#include "engine/json_fields.hpp"
#include "engine/timefmt.hpp"

namespace ctk::engine {

namespace {

template <typename Pred> bool every_value(const FilterMap& f, const std::string& key, Pred pred) {
    auto it = f.find(key);
    if (it == f.end()) return true;
    for (const auto& v : it->second)
        if (!pred(v)) return false;
    return true;
}

// "80", "80/udp", "8000-8080/tcp" as dockerd's publish/expose filters take them.
struct PortRange {
    int first = 0, last = 0;
    std::string proto = "tcp";
};

PortRange parse_port_filter(const std::string& v) {
    PortRange r;
    std::string ports = v;
    if (auto slash = v.find('/'); slash != std::string::npos) {
        ports = v.substr(0, slash);
        r.proto = to_lower(v.substr(slash + 1));
    }
    auto dash = ports.find('-');
    auto number = [&](const std::string& s) {
        if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos)
            throw Error("invalid port filter " + quote(v), ErrorKind::invalid);
        return std::stoi(s);
    };
    r.first = number(ports.substr(0, dash));
    r.last = dash == std::string::npos ? r.first : number(ports.substr(dash + 1));
    if (r.last < r.first) throw Error("invalid port filter " + quote(v), ErrorKind::invalid);
    return r;
}

// publish: a container port that is published; expose: any port the container
// exposes (published ones are exposed too, as the docker CLI adds them).
bool port_matches(const Json& ports, const std::string& v, bool published_only) {
    PortRange want = parse_port_filter(v);
    for (const auto& p : ports) {
        if (published_only && p.value("PublicPort", 0) == 0) continue;
        int port = p.value("PrivatePort", 0);
        if (port >= want.first && port <= want.last && str_or(p, "Type", "tcp") == want.proto) return true;
    }
    return false;
}

void check_query(const FilterMap& f) {
    static const std::set<std::string> keys = {"id",     "name",   "label",  "status",  "exited",    "ancestor", "network",
                                               "volume", "before", "since",  "publish", "expose",    "health",   "isolation",
                                               "is-task"};
    static const std::set<std::string> statuses = {"created", "restarting", "running", "removing",
                                                   "paused",  "exited",     "dead"};
    for (const auto& [k, vs] : f) {
        if (!keys.count(k)) throw Error("invalid filter '" + k + "'", ErrorKind::invalid);
        if (k == "status")
            for (const auto& s : vs)
                if (!statuses.count(s)) throw Error("invalid filter 'status=" + s + "'", ErrorKind::invalid);
        if (k == "publish" || k == "expose")
            for (const auto& s : vs) parse_port_filter(s);
    }
}

} // namespace

bool label_matches(const Json& labels, const std::string& v) {
    auto eq = v.find('=');
    std::string k = v.substr(0, eq);
    if (!labels.is_object() || !labels.contains(k)) return false;
    return eq == std::string::npos || (labels[k].is_string() && labels[k].get<std::string>() == v.substr(eq + 1));
}

void check_filter_keys(const FilterMap& f, const std::vector<std::string>& known) {
    for (const auto& [k, v] : f)
        if (std::find(known.begin(), known.end(), k) == known.end()) throw Error("invalid filter '" + k + "'", ErrorKind::invalid);
}

FilterMap filter_map(const std::vector<std::string>& args) {
    FilterMap out;
    for (const auto& [k, v] : parse_filters(args)) out[k].push_back(v);
    return out;
}

ContainerListQuery container_list_query(const ListOptions& o) {
    ContainerListQuery q;
    q.all = o.all;
    q.limit = o.latest ? 1 : o.last;
    q.filters = filter_map(o.filters);
    q.size = o.size;
    return q;
}

std::vector<Json> list_containers(Engine& e, const ContainerListQuery& q) {
    const FilterMap& f = q.filters;
    check_query(f);
    // the records as far as a listing reads them (not whole), and every
    // container's runtime state in one pass over the runtime's state files
    auto records = e.containers().list_brief();
    auto states = e.runtime_states();
    std::optional<std::string> before, since;
    if (auto it = f.find("before"); it != f.end() && !it->second.empty())
        before = e.containers().lookup(it->second.front()).doc.value("Created", "");
    if (auto it = f.find("since"); it != f.end() && !it->second.empty())
        since = e.containers().lookup(it->second.front()).doc.value("Created", "");
    bool need_all = q.all || f.count("status") || f.count("exited") || q.limit > 0 || before || since;
    // what the record and the state decide, newest first
    struct Candidate {
        const ContainerRecord* record;
        ContainerState state;
    };
    std::vector<Candidate> candidates;
    for (auto it = records.rbegin(); it != records.rend(); ++it) {
        const ContainerRecord& r = **it;
        auto st_it = states.find(r.id);
        ContainerState st = e.state(r, st_it == states.end() ? RuntimeState{} : st_it->second);
        if (!need_all && st.status != "running" && st.status != "paused") continue;
        std::string created = r.doc.value("Created", "");
        if (before && created >= *before) continue;
        if (since && created <= *since) continue;
        if (!filter_any(f, "id", [&](const std::string& v) { return r.id.rfind(v, 0) == 0; })) continue;
        if (!filter_any(f, "name", [&](const std::string& v) {
                try {
                    return std::regex_search(r.name, std::regex(v));
                } catch (const std::regex_error&) {
                    return r.name.find(v) != std::string::npos;
                }
            }))
            continue;
        if (!filter_any(f, "status", [&](const std::string& v) { return st.status == v; })) continue;
        if (!filter_any(f, "exited", [&](const std::string& v) {
                return st.status == "exited" && std::to_string(st.exit_code) == v;
            }))
            continue;
        candidates.push_back({&r, std::move(st)});
    }
    // the entries, each read from its own container's files: built on every
    // CPU, unless only the newest few are wanted; a network's file (all its
    // endpoints) is read once for the listing, not once per container
    std::vector<const ContainerRecord*> listed;
    for (const auto& c : candidates) listed.push_back(c.record);
    std::map<std::string, std::string> network_ids = e.network_ids(listed);
    std::vector<Json> entries(candidates.size());
    auto build = [&](size_t i) { entries[i] = e.list_entry(*candidates[i].record, candidates[i].state, network_ids); };
    if (q.limit <= 0) for_each_index_in_parallel(candidates.size(), build);
    std::vector<Json> out;
    for (size_t i = 0; i < candidates.size(); i++) {
        if (q.limit > 0) build(i);
        Json& entry = entries[i];
        if (!every_value(f, "label", [&](const std::string& v) { return label_matches(entry["Labels"], v); })) continue;
        if (!filter_any(f, "ancestor", [&](const std::string& v) {
                std::string img = str_or(entry, "Image"), iid = str_or(entry, "ImageID");
                if (img == v) return true;
                try {
                    if (normalize_reference(img) == normalize_reference(v)) return true;
                } catch (const Error&) {
                }
                if (auto i = e.images().find(v)) return i->id == iid;
                return false;
            }))
            continue;
        if (!filter_any(f, "network", [&](const std::string& v) { return entry["NetworkSettings"]["Networks"].contains(v); }))
            continue;
        if (!filter_any(f, "volume", [&](const std::string& v) {
                for (const auto& m : entry["Mounts"])
                    if (str_or(m, "Name") == v || str_or(m, "Destination") == v || str_or(m, "Source") == v) return true;
                return false;
            }))
            continue;
        if (!filter_any(f, "publish", [&](const std::string& v) { return port_matches(entry["Ports"], v, true); })) continue;
        if (!filter_any(f, "expose", [&](const std::string& v) { return port_matches(entry["Ports"], v, false); })) continue;
        if (q.size) {
            entry["SizeRw"] = 0;
            entry["SizeRootFs"] = 0;
        }
        out.push_back(std::move(entry));
        if (q.limit > 0 && static_cast<int64_t>(out.size()) >= q.limit) break;
    }
    return out;
}

std::string render_ps(const std::vector<Json>& entries, const ListOptions& o) {
    std::vector<Json> rows(entries.size());
    int64_t now_s = now_ns() / 1000000000;
    for_each_index_in_parallel(entries.size(), [&](size_t i) {
        const Json& e = entries[i];
        std::string id = str_or(e, "Id");
        const Json& names = ref_or(e, "Names", empty_json_array);
        std::string name = names.empty() || !names[0].is_string() ? "" : names[0].get<std::string>();
        if (!name.empty() && name[0] == '/') name = name.substr(1);
        std::string command = str_or(e, "Command");
        int64_t created = get_or(e, "Created", 0).get<int64_t>();
        std::vector<std::string> nets, mounts;
        const Json& n = ref_or(ref_or(e, "NetworkSettings", empty_json_object), "Networks", empty_json_object);
        for (auto it = n.begin(); it != n.end(); ++it) nets.push_back(it.key());
        for (const auto& m : ref_or(e, "Mounts", empty_json_array)) mounts.push_back(str_or(m, "Name", str_or(m, "Source")));
        std::string size = "0B";
        if (e.contains("SizeRw"))
            size = human_size_decimal(get_or(e, "SizeRw", 0).get<int64_t>()) + " (virtual " +
                   human_size_decimal(get_or(e, "SizeRootFs", 0).get<int64_t>()) + ")";
        rows[i] = Json{{"ID", o.no_trunc ? id : id.substr(0, 12)},
                       {"Image", str_or(e, "Image")},
                       {"Command", dump_compact(Json(o.no_trunc ? command : ellipsis(command, 20)))},
                       {"CreatedAt", docker_created_at(created)},
                       {"RunningFor", human_duration(now_s - created) + " ago"},
                       {"Ports", ports_display(ref_or(e, "Ports", empty_json_array))},
                       {"State", str_or(e, "State")},
                       {"Status", str_or(e, "Status")},
                       {"Size", size},
                       {"Names", name},
                       {"Labels", join_labels(ref_or(e, "Labels", empty_json_object))},
                       {"Mounts", join(mounts, ",")},
                       {"Networks", join(nets, ",")},
                       {"LocalVolumes", std::to_string(mounts.size())}};
    });
    Listing l;
    l.default_table = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
    if (o.size) l.default_table += "\t{{.Size}}";
    l.headers = {{"ID", "CONTAINER ID"}, {"Image", "IMAGE"},   {"Command", "COMMAND"},  {"CreatedAt", "CREATED AT"},
                 {"RunningFor", "CREATED"}, {"Ports", "PORTS"}, {"State", "STATE"},     {"Status", "STATUS"},
                 {"Size", "SIZE"},         {"Names", "NAMES"},  {"Labels", "LABELS"},   {"Mounts", "MOUNTS"},
                 {"Networks", "NETWORKS"}, {"LocalVolumes", "LOCAL VOLUMES"}};
    return render_rows(l, o.format, rows, o.quiet, "ID");
}

} // namespace ctk::engine
