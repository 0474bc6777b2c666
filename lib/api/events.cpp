#include "api/events.hpp"

#include <sys/eventfd.h>

#include <algorithm>

#include "api/http.hpp"
#include "core/error.hpp"
#include "engine/timefmt.hpp"

namespace ctk::api {

EventSubscription::EventSubscription() : efd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!efd_) throw_errno("eventfd");
}

std::vector<Json> EventSubscription::take() {
    uint64_t v;
    while (::read(efd_.get(), &v, sizeof v) > 0) {
    }
    std::lock_guard<std::mutex> l(m_);
    std::vector<Json> out(q_.begin(), q_.end());
    q_.clear();
    return out;
}

void EventSubscription::push(const Json& e) {
    {
        std::lock_guard<std::mutex> l(m_);
        // a subscriber that does not read loses the oldest events, never ctld's memory
        if (q_.size() >= 4096) q_.pop_front();
        q_.push_back(e);
    }
    uint64_t one = 1;
    (void)!::write(efd_.get(), &one, sizeof one);
}

void Events::publish(const std::string& type, const std::string& action, const std::string& id,
                     std::map<std::string, std::string> attributes) {
    int64_t ns = engine::now_ns();
    Json attrs = Json::object();
    for (auto& [k, v] : attributes) attrs[k] = v;
    Json e = Json::object();
    if (type == "container" || type == "image") {
        e["status"] = action;
        e["id"] = id;
        if (type == "container" && attributes.count("image")) e["from"] = attributes["image"];
    }
    e["Type"] = type;
    e["Action"] = action;
    e["Actor"] = Json{{"ID", id}, {"Attributes", attrs}};
    e["scope"] = "local";
    e["time"] = ns / 1000000000;
    e["timeNano"] = ns;
    std::vector<std::shared_ptr<EventSubscription>> subs;
    {
        std::lock_guard<std::mutex> l(m_);
        recent_.push_back(Recorded{ns, dump_compact(e)});
        while (recent_.size() > keep_) recent_.pop_front();
        subs = subs_;
    }
    for (auto& s : subs) s->push(e);
}

std::shared_ptr<EventSubscription> Events::subscribe() {
    auto s = std::make_shared<EventSubscription>();
    std::lock_guard<std::mutex> l(m_);
    subs_.push_back(s);
    return s;
}

void Events::unsubscribe(const std::shared_ptr<EventSubscription>& s) {
    std::lock_guard<std::mutex> l(m_);
    subs_.erase(std::remove(subs_.begin(), subs_.end(), s), subs_.end());
}

std::vector<Json> Events::history(int64_t since_ns, int64_t until_ns) const {
    std::lock_guard<std::mutex> l(m_);
    std::vector<Json> out;
    for (const auto& e : recent_)
        if (e.time_nano >= since_ns && e.time_nano <= until_ns) out.push_back(parse_json_text(e.text, "event"));
    return out;
}

std::map<std::string, std::vector<std::string>> parse_filters_json(const std::string& text) {
    std::map<std::string, std::vector<std::string>> out;
    if (text.empty()) return out;
    Json j;
    try {
        j = parse_json_text(text, "filters");
    } catch (const std::exception& e) {
        throw HttpError(400, std::string("invalid filter: ") + e.what());
    }
    if (!j.is_object()) throw HttpError(400, "invalid filter: not a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it) {
        auto& vals = out[it.key()];
        if (it.value().is_object()) {
            for (auto v = it.value().begin(); v != it.value().end(); ++v)
                if (!v.value().is_boolean() || v.value().get<bool>()) vals.push_back(v.key());
        } else if (it.value().is_array()) {
            for (const auto& v : it.value())
                if (v.is_string()) vals.push_back(v.get<std::string>());
                else throw HttpError(400, "invalid filter '" + it.key() + "'");
        } else {
            throw HttpError(400, "invalid filter '" + it.key() + "'");
        }
    }
    return out;
}

EventFilter EventFilter::parse(const std::string& filters_json) {
    EventFilter f;
    f.f_ = parse_filters_json(filters_json);
    static const char* known[] = {"type", "event", "container", "image", "label", "network", "volume", "scope",
                                  "daemon", "plugin", "node", "service", "secret", "config"};
    for (const auto& [k, v] : f.f_) {
        bool ok = false;
        for (const char* n : known) ok = ok || k == n;
        if (!ok) throw HttpError(400, "invalid filter '" + k + "'");
    }
    return f;
}

bool EventFilter::match(const Json& e) const {
    const std::string type = e.value("Type", "");
    const std::string action = e.value("Action", "");
    const Json& actor = e["Actor"];
    const std::string id = actor.value("ID", "");
    const Json attrs = actor.value("Attributes", Json::object());
    auto attr = [&](const char* k) { return attrs.contains(k) && attrs[k].is_string() ? attrs[k].get<std::string>() : ""; };
    if (!filter_any(f_, "type", [&](const std::string& v) { return v == type; })) return false;
    if (!filter_any(f_, "event", [&](const std::string& v) {
            // "exec_start" matches "exec_start: sh -c …" as Docker's does
            return v == action || action.rfind(v + ":", 0) == 0;
        }))
        return false;
    if (!filter_any(f_, "scope", [&](const std::string& v) { return v == e.value("scope", ""); })) return false;
    if (f_.count("container") &&
        !(type == "container" && filter_any(f_, "container", [&](const std::string& v) {
              return v == id || v == attr("name") || (v.size() >= 1 && id.rfind(v, 0) == 0);
          })))
        return false;
    if (f_.count("image") && !filter_any(f_, "image", [&](const std::string& v) {
            std::string img = type == "image" ? id : attr("image");
            return v == img || v == attr("name") || (type == "image" && id.rfind(v, 0) == 0);
        }))
        return false;
    if (f_.count("network") &&
        !(type == "network" && filter_any(f_, "network", [&](const std::string& v) { return v == id || v == attr("name"); })))
        return false;
    if (f_.count("volume") && !(type == "volume" && filter_any(f_, "volume", [&](const std::string& v) { return v == id; })))
        return false;
    if (!filter_every(f_, "label", [&](const std::string& v) {
            auto eq = v.find('=');
            std::string k = v.substr(0, eq);
            if (!attrs.contains(k)) return false;
            return eq == std::string::npos || attr(k.c_str()) == v.substr(eq + 1);
        }))
        return false;
    return true;
}

} // namespace ctk::api
