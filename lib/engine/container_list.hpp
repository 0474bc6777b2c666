// `docker ps` written once. The engine answers GET /containers/json (the
// Engine API's list entries, filtered as dockerd filters them); ctld sends
// that list as it is, and one renderer turns such a list into ctl's table or
// --format output, whether the list came from the local store or from a
// daemon (`ctl -H`).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/json.hpp"

namespace ctk::engine {

class Engine;
struct ListOptions;

// Docker's filters: key -> values. Different keys must all match; the values of
// one key are alternatives, except `label`, whose values must all match.
using FilterMap = std::map<std::string, std::vector<std::string>>;

// An unknown key in `f` is an ErrorKind::invalid error ("invalid filter 'k'", dockerd's words).
void check_filter_keys(const FilterMap& f, const std::vector<std::string>& known);
// Whether `pred` holds for one of the values of `key` (true when `key` is not filtered on).
template <typename Pred> bool filter_any(const FilterMap& f, const std::string& key, Pred pred) {
    auto it = f.find(key);
    if (it == f.end() || it->second.empty()) return true;
    for (const auto& v : it->second)
        if (pred(v)) return true;
    return false;
}
// A label filter's value ("k" or "k=v") against an object's labels.
bool label_matches(const Json& labels, const std::string& filter);

// ctl's `--filter k=v` arguments as a FilterMap (usage error for a bad one).
FilterMap filter_map(const std::vector<std::string>& args);

struct ContainerListQuery {
    bool all = false;   // stopped containers too
    int64_t limit = -1; // the newest N (implies all), as ?limit= and ps -n/-l
    FilterMap filters;
    bool size = false;  // SizeRw/SizeRootFs
};

// The list, newest first. An unknown filter key or status value is an
// ErrorKind::invalid error (ctld: 400).
std::vector<Json> list_containers(Engine& e, const ContainerListQuery& q);

// ListOptions (ps's flags) as the query: -a, -l, -n, --filter, -s.
ContainerListQuery container_list_query(const ListOptions& o);

// ctl ps's output from list entries: -q, --no-trunc, --format, the table.
std::string render_ps(const std::vector<Json>& entries, const ListOptions& o);

} // namespace ctk::engine
