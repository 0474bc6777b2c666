#include "engine/image_list.hpp"

#include <optional>
#include <set>

#include "core/error.hpp"
#include "engine/commands.hpp"
#include "engine/format.hpp"
#include "engine/image_store.hpp"
#include "engine/timefmt.hpp"

namespace ctk::engine {

namespace {

// path.Match without character classes: '*' any run and '?' any one character, neither '/'.
bool reference_path_match(const std::string& pattern, const std::string& s) {
    size_t p = 0, i = 0, star = std::string::npos, mark = 0;
    while (i < s.size()) {
        if (p < pattern.size() && pattern[p] != '*' && (pattern[p] == s[i] || (pattern[p] == '?' && s[i] != '/'))) {
            p++;
            i++;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = i;
        } else if (star != std::string::npos && s[mark] != '/') {
            p = star + 1;
            i = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') p++;
    return p == pattern.size();
}

const std::vector<std::string>* filter_values(const FilterMap& f, const std::string& key) {
    auto it = f.find(key);
    return it == f.end() || it->second.empty() ? nullptr : &it->second;
}

} // namespace

bool reference_match(const std::string& pattern, const std::string& familiar_ref) {
    if (reference_path_match(pattern, familiar_ref)) return true;
    auto colon = familiar_ref.rfind(':');
    bool tagged = colon != std::string::npos && familiar_ref.find('/', colon) == std::string::npos &&
                  familiar_ref.find('@') == std::string::npos;
    return tagged && reference_path_match(pattern, familiar_ref.substr(0, colon));
}

std::vector<Json> list_images(const ImageStore& store, const FilterMap& f) {
    check_filter_keys(f, {"dangling", "label", "reference", "before", "since"});
    std::optional<int64_t> before, since;
    if (auto v = filter_values(f, "before")) before = store.get(v->front()).created_unix();
    if (auto v = filter_values(f, "since")) since = store.get(v->front()).created_unix();
    const auto* dangling = filter_values(f, "dangling");
    const auto* labels = filter_values(f, "label");
    const auto* refs = filter_values(f, "reference");
    std::vector<Json> out;
    for (const auto& img : store.list()) {
        Json j = store.list_json(img);
        if (j["Labels"].is_null()) j["Labels"] = Json::object();
        auto tags = img.repo_tags();
        if (dangling) {
            bool want = (*dangling)[0] == "true" || (*dangling)[0] == "1";
            if (want != tags.empty()) continue;
        }
        if (labels) {
            bool all = true;
            for (const auto& l : *labels) all = all && label_matches(j["Labels"], l);
            if (!all) continue;
        }
        if (before && img.created_unix() >= *before) continue;
        if (since && img.created_unix() <= *since) continue;
        if (refs) {
            Json kept = Json::array();
            for (const auto& t : tags)
                for (const auto& p : *refs)
                    if (reference_match(p, t)) {
                        kept.push_back(t);
                        break;
                    }
            if (kept.empty()) continue;
            j["RepoTags"] = kept;
        }
        out.push_back(j);
    }
    return out;
}

FilterMap image_list_filters(const ListOptions& o, const std::string& repository) {
    FilterMap f = filter_map(o.filters);
    if (!repository.empty()) f["reference"].push_back(repository);
    return f;
}

std::string render_images(const std::vector<Json>& entries, const ListOptions& o) {
    std::vector<Json> rows;
    int64_t now = now_ns() / 1000000000;
    for (const auto& img : entries) {
        std::vector<std::pair<std::string, std::string>> shown; // repository, tag
        for (const auto& t : img.value("RepoTags", Json::array())) {
            std::string s = t.get<std::string>();
            auto colon = s.rfind(':');
            shown.emplace_back(s.substr(0, colon), s.substr(colon + 1));
        }
        if (shown.empty()) shown.emplace_back("<none>", "<none>");
        std::string id = img.value("Id", "");
        int64_t created = img.value("Created", int64_t(0));
        int64_t size = img.value("Size", int64_t(0));
        for (const auto& [r, tg] : shown) {
            std::string digest = "<none>";
            for (const auto& dj : img.value("RepoDigests", Json::array())) {
                std::string d = dj.get<std::string>();
                if (d.substr(0, d.find('@')) == r) digest = d.substr(d.find('@') + 1);
            }
            rows.push_back(Json{{"Repository", r},
                                {"Tag", tg},
                                {"ID", o.no_trunc ? id : short_id(id)},
                                {"Digest", digest},
                                {"CreatedSince", human_duration(now - created) + " ago"},
                                {"CreatedAt", docker_created_at(created)},
                                {"Size", human_size_decimal(size)},
                                {"Containers", "N/A"},
                                {"SharedSize", "N/A"},
                                {"UniqueSize", "N/A"},
                                {"VirtualSize", human_size_decimal(size)}});
        }
    }
    if (o.quiet) {
        std::string text;
        std::set<std::string> printed;
        for (const auto& r : rows) {
            std::string id = r["ID"].get<std::string>();
            if (printed.insert(id).second) text += id + "\n";
        }
        return text;
    }
    Listing l;
    l.default_table = o.digests ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                                : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
    l.headers = {{"Repository", "REPOSITORY"}, {"Tag", "TAG"}, {"ID", "IMAGE ID"}, {"Digest", "DIGEST"},
                 {"CreatedSince", "CREATED"}, {"CreatedAt", "CREATED AT"}, {"Size", "SIZE"},
                 {"Containers", "CONTAINERS"}, {"SharedSize", "SHARED SIZE"}, {"UniqueSize", "UNIQUE SIZE"},
                 {"VirtualSize", "VIRTUAL SIZE"}};
    return render_listing(l, o.format, rows);
}

} // namespace ctk::engine
