#include "registry/progress.hpp"

#include <unistd.h>

#include "core/json.hpp"
#include "core/strings.hpp"

namespace ctk::registry {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

std::string short_id(const std::string& id) {
    size_t colon = id.find(':');
    std::string hex = colon == std::string::npos ? id : id.substr(colon + 1);
    return hex.size() > 12 ? hex.substr(0, 12) : hex;
}

const char* label(const std::string& status) {
    if (status == "waiting") return "Waiting";
    if (status == "exists") return "Already exists";
    if (status == "resuming") return "Resuming";
    if (status == "downloading") return "Downloading";
    if (status == "verifying") return "Verifying Checksum";
    if (status == "complete") return "Pull complete";
    if (status == "retrying") return "Retrying";
    if (status == "uploading") return "Pushing";
    if (status == "mounted") return "Mounted";
    if (status == "pushed") return "Pushed";
    if (status == "layer exists") return "Layer already exists";
    return status.c_str();
}

class TerminalProgress final : public Progress {
public:
    explicit TerminalProgress(FILE* out) : out_(out) {}

    void event(const std::string& id, const std::string& status, uint64_t current, uint64_t total,
               const std::string& detail) override {
        std::lock_guard lock(mutex_);
        auto [it, fresh] = lines_.try_emplace(id);
        if (fresh) order_.push_back(id);
        Line& l = it->second;
        bool changed = l.status != status;
        if (changed && (status == "downloading" || status == "uploading")) {
            l.started = Clock::now();
            l.base = current;
        }
        l.status = status;
        l.current = current;
        if (total) l.total = total;
        l.detail = detail;
        auto now = Clock::now();
        if (changed || now - last_draw_ >= 100ms) draw(now);
    }

    void note(const std::string& text) override {
        std::lock_guard lock(mutex_);
        draw(Clock::now());
        std::fprintf(out_, "%s\n", text.c_str());
        std::fflush(out_);
        // Later events start a new block below this line.
        order_.clear();
        lines_.clear();
        drawn_ = 0;
    }

    void finish() override {
        std::lock_guard lock(mutex_);
        draw(Clock::now());
    }

private:
    struct Line {
        std::string status, detail;
        uint64_t current = 0, total = 0, base = 0;
        Clock::time_point started = Clock::now();
    };

    std::string render(const std::string& id, const Line& l, Clock::time_point now) const {
        std::string s = id.empty() ? std::string(label(l.status)) : short_id(id) + ": " + label(l.status);
        if (l.status == "downloading" || l.status == "uploading" || l.status == "resuming") {
            s += "  " + human_size(l.current);
            if (l.total) s += " / " + human_size(l.total);
            double secs = std::chrono::duration<double>(now - l.started).count();
            if (secs > 0.2 && l.current > l.base)
                s += "  (" + human_size(static_cast<uint64_t>((l.current - l.base) / secs)) + "/s)";
        } else if (!l.detail.empty()) {
            s += ": " + l.detail;
        }
        return s;
    }

    void draw(Clock::time_point now) {
        std::string buf;
        if (drawn_ > 0) buf += "\x1b[" + std::to_string(drawn_) + "A";
        for (const auto& id : order_) buf += "\r\x1b[2K" + render(id, lines_.at(id), now) + "\n";
        drawn_ = order_.size();
        std::fwrite(buf.data(), 1, buf.size(), out_);
        std::fflush(out_);
        last_draw_ = now;
    }

    FILE* out_;
    std::mutex mutex_;
    std::vector<std::string> order_;
    std::map<std::string, Line> lines_;
    size_t drawn_ = 0;
    Clock::time_point last_draw_{};
};

class JsonProgress final : public Progress {
public:
    explicit JsonProgress(FILE* out) : out_(out) {}

    void event(const std::string& id, const std::string& status, uint64_t current, uint64_t total,
               const std::string& detail) override {
        std::lock_guard lock(mutex_);
        auto now = Clock::now();
        auto& last = last_[id];
        bool streaming = status == "downloading" || status == "uploading";
        if (streaming && last.status == status && current != total && now - last.when < 500ms) return;
        last = {status, now};
        Json j = Json::object();
        if (!id.empty()) j["id"] = id;
        j["status"] = status;
        if (current || total) j["current"] = current;
        if (total) j["total"] = total;
        if (!detail.empty()) j["detail"] = detail;
        std::string line = j.dump() + "\n";
        std::fwrite(line.data(), 1, line.size(), out_);
        std::fflush(out_);
    }

    void note(const std::string& text) override {
        std::lock_guard lock(mutex_);
        std::string line = Json{{"status", "note"}, {"detail", text}}.dump() + "\n";
        std::fwrite(line.data(), 1, line.size(), out_);
        std::fflush(out_);
    }

private:
    struct Last {
        std::string status;
        Clock::time_point when;
    };
    FILE* out_;
    std::mutex mutex_;
    std::map<std::string, Last> last_;
};

} // namespace

std::unique_ptr<Progress> make_progress(ProgressMode mode, FILE* out) {
    if (mode == ProgressMode::automatic)
        mode = ::isatty(fileno(out)) ? ProgressMode::terminal : ProgressMode::json;
    switch (mode) {
    case ProgressMode::terminal: return std::make_unique<TerminalProgress>(out);
    case ProgressMode::json: return std::make_unique<JsonProgress>(out);
    default: return std::make_unique<QuietProgress>();
    }
}

} // namespace ctk::registry
