#include "api/router.hpp"

#include "core/error.hpp"
#include "core/strings.hpp"

namespace ctk::api {

namespace {

std::vector<std::string> segments_of(const std::string& path) {
    std::vector<std::string> out;
    for (const auto& s : split(path, '/'))
        if (!s.empty()) out.push_back(s);
    return out;
}

bool is_param(const std::string& seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }
bool is_greedy(const std::string& seg) { return is_param(seg) && seg[seg.size() - 2] == '*'; }
std::string param_name(const std::string& seg) {
    std::string n = seg.substr(1, seg.size() - 2);
    if (!n.empty() && n.back() == '*') n.pop_back();
    return n;
}

bool match_segments(const std::vector<std::string>& pat, const std::vector<std::string>& path,
                    std::map<std::string, std::string>& params) {
    size_t greedy = pat.size();
    for (size_t i = 0; i < pat.size(); i++)
        if (is_greedy(pat[i])) greedy = i;
    if (greedy == pat.size()) {
        if (pat.size() != path.size()) return false;
        for (size_t i = 0; i < pat.size(); i++) {
            if (is_param(pat[i])) params[param_name(pat[i])] = path[i];
            else if (pat[i] != path[i]) return false;
        }
        return true;
    }
    size_t tail = pat.size() - greedy - 1;
    if (path.size() < pat.size()) return false;
    for (size_t i = 0; i < greedy; i++) {
        if (is_param(pat[i])) params[param_name(pat[i])] = path[i];
        else if (pat[i] != path[i]) return false;
    }
    for (size_t k = 0; k < tail; k++) {
        const std::string& p = pat[pat.size() - 1 - k];
        const std::string& s = path[path.size() - 1 - k];
        if (is_param(p)) params[param_name(p)] = s;
        else if (p != s) return false;
    }
    std::string joined;
    for (size_t i = greedy; i < path.size() - tail; i++) joined += (joined.empty() ? "" : "/") + path[i];
    params[param_name(pat[greedy])] = joined;
    return true;
}

} // namespace

bool split_version(const std::string& path, int& major, int& minor, std::string& rest) {
    if (path.size() < 3 || path[0] != '/' || path[1] != 'v') return false;
    size_t i = 2, start = 2;
    while (i < path.size() && std::isdigit(static_cast<unsigned char>(path[i]))) i++;
    if (i == start || i >= path.size() || path[i] != '.') return false;
    std::string maj = path.substr(start, i - start);
    size_t j = ++i;
    while (j < path.size() && std::isdigit(static_cast<unsigned char>(path[j]))) j++;
    if (j == i || (j < path.size() && path[j] != '/')) return false;
    std::string min = path.substr(i, j - i);
    if (maj.size() > 4 || min.size() > 4) return false;
    major = std::stoi(maj);
    minor = std::stoi(min);
    rest = j < path.size() ? path.substr(j) : "/";
    return true;
}

void Router::add(std::string method, std::string pattern, Handler handler) {
    Route r;
    r.method = std::move(method);
    r.segments = segments_of(pattern);
    r.pattern = std::move(pattern);
    r.handler = std::move(handler);
    routes_.push_back(std::move(r));
}

const Router::Route* Router::find(const std::string& method, const std::string& path,
                                  std::map<std::string, std::string>& params, bool& path_known) const {
    auto segs = segments_of(path);
    path_known = false;
    for (const auto& r : routes_) {
        std::map<std::string, std::string> p;
        if (!match_segments(r.segments, segs, p)) continue;
        path_known = true;
        if (r.method != method) continue;
        params = std::move(p);
        return &r;
    }
    return nullptr;
}

std::string Router::match(const std::string& method, const std::string& path) const {
    std::map<std::string, std::string> params;
    bool known = false;
    const Route* r = find(method, path, params, known);
    return r ? r->pattern : "";
}

int status_of(const std::exception& e) {
    if (auto* h = dynamic_cast<const HttpError*>(&e)) return h->status();
    if (auto* c = dynamic_cast<const Error*>(&e)) {
        switch (c->kind()) {
        case ErrorKind::not_found: return 404;
        case ErrorKind::conflict: return 409;
        case ErrorKind::invalid:
        case ErrorKind::usage: return 400;
        default: return 500;
        }
    }
    return 500;
}

void Router::dispatch(Request& req, Response& res) const {
    int major = 1, minor = 41;
    std::string rest;
    if (split_version(req.path(), major, minor, rest)) {
        std::string v = std::to_string(major) + "." + std::to_string(minor);
        if (major > 1 || (major == 1 && minor > 41)) {
            res.send(400, "application/json",
                     dump_compact(Json{{"message", "client version " + v + " is too new. Maximum supported API version is " +
                                                       api_version}}) + "\n",
                     {}, StdHeaders::no_experimental);
            return;
        }
        if (major < 1 || (major == 1 && minor < 12)) {
            res.send(400, "text/plain; charset=utf-8",
                     "client version " + v + " is too old. Minimum supported API version is " + min_api_version +
                         ", please upgrade your client to a newer version\n",
                     {{"X-Content-Type-Options", "nosniff"}}, StdHeaders::no_experimental);
            return;
        }
        req.route_path = rest;
    } else {
        req.route_path = req.path();
    }
    req.api_major = major;
    req.api_minor = minor;
    bool known = false;
    const Route* r = find(req.method(), req.route_path, req.params, known);
    if (!r) {
        res.send(404, "application/json", "{\"message\":\"page not found\"}\n", {}, StdHeaders::date_only);
        return;
    }
    try {
        r->handler(req, res);
    } catch (const std::exception& e) {
        if (res.started()) throw;
        res.error(status_of(e), e.what());
    }
}

} // namespace ctk::api
