// Docker's event stream (GET /events): what ctld did to containers, images,
// networks and volumes, in Docker's message shape. The last events are kept
// in memory for --since/--until; subscribers get live ones through a queue
// whose eventfd they poll beside their socket.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/fd.hpp"
#include "core/json.hpp"

namespace ctk::api {

class EventSubscription {
public:
    EventSubscription();
    int fd() const { return efd_.get(); }
    // Events queued since the last call (clears the eventfd).
    std::vector<Json> take();
    void push(const Json& e);

private:
    UniqueFd efd_;
    std::mutex m_;
    std::deque<Json> q_;
    bool overflow_ = false;
};

class Events {
public:
    explicit Events(size_t keep = 1024) : keep_(keep) {}
    // Adds "scope", "time", "timeNano" and, for containers and images, the
    // legacy "status", "id", "from" fields; records and fans out.
    void publish(const std::string& type, const std::string& action, const std::string& id,
                 std::map<std::string, std::string> attributes);
    std::shared_ptr<EventSubscription> subscribe();
    void unsubscribe(const std::shared_ptr<EventSubscription>& s);
    // Recorded events with since_ns <= timeNano <= until_ns.
    std::vector<Json> history(int64_t since_ns, int64_t until_ns) const;

private:
    // A recorded event as its time and its compact JSON text: one allocation an
    // event instead of a tree of them, so the ring, rewritten all day while
    // connections come and go, does not pin pages of the heap all over.
    struct Recorded {
        int64_t time_nano;
        std::string text;
    };
    size_t keep_;
    mutable std::mutex m_;
    std::deque<Recorded> recent_;
    std::vector<std::shared_ptr<EventSubscription>> subs_;
};

// Docker's event filters: {"type":{"container":true}} (CLI) or
// {"label":["k=v"]} (docker-py), keys type, event, container, image, label,
// network, volume, scope, daemon. Throws HttpError 400 on a bad filter.
class EventFilter {
public:
    static EventFilter parse(const std::string& filters_json);
    bool match(const Json& event) const;

private:
    std::map<std::string, std::vector<std::string>> f_;
};

// Both filter encodings, as key -> values. Throws HttpError 400 when malformed.
std::map<std::string, std::vector<std::string>> parse_filters_json(const std::string& text);

// How Docker applies them: a key matches when it is absent (or has no values)
// or when any of its values satisfies `pred`; label filters use filter_every,
// where each value must.
template <typename Pred>
bool filter_any(const std::map<std::string, std::vector<std::string>>& f, const std::string& key, Pred pred) {
    auto it = f.find(key);
    if (it == f.end() || it->second.empty()) return true;
    for (const auto& v : it->second)
        if (pred(v)) return true;
    return false;
}
template <typename Pred>
bool filter_every(const std::map<std::string, std::vector<std::string>>& f, const std::string& key, Pred pred) {
    auto it = f.find(key);
    if (it == f.end()) return true;
    for (const auto& v : it->second)
        if (!pred(v)) return false;
    return true;
}

} // namespace ctk::api
