#include "api/streams.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/json.hpp"

namespace ctk::api {

std::string mux_frame(int stream, std::string_view data) {
    std::string out(8, '\0');
    out[0] = static_cast<char>(stream);
    uint32_t n = static_cast<uint32_t>(data.size());
    out[4] = static_cast<char>((n >> 24) & 0xff);
    out[5] = static_cast<char>((n >> 16) & 0xff);
    out[6] = static_cast<char>((n >> 8) & 0xff);
    out[7] = static_cast<char>(n & 0xff);
    out.append(data);
    return out;
}

bool parse_log_line(std::string_view line, LogEntry& out) {
    try {
        Json j = parse_json_text(line, "log line");
        if (!j.is_object()) return false;
        auto get = [&](const char* k) {
            auto it = j.find(k);
            return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        out.stream = get("stream");
        out.time = get("time");
        out.log = get("log");
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

LogTail::LogTail(const std::string& path, bool from_start) {
    fd_.reset(::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0640));
    if (!fd_) throw_errno("open", path);
    if (!from_start) ::lseek(fd_.get(), 0, SEEK_END);
    inotify_.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (inotify_) ::inotify_add_watch(inotify_.get(), path.c_str(), IN_MODIFY);
}

std::vector<LogEntry> LogTail::read() {
    if (inotify_) {
        char ev[4096];
        while (::read(inotify_.get(), ev, sizeof ev) > 0) {
        }
    }
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd_.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        pending_.append(buf, static_cast<size_t>(n));
    }
    std::vector<LogEntry> out;
    size_t start = 0, nl;
    while ((nl = pending_.find('\n', start)) != std::string::npos) {
        LogEntry e;
        if (parse_log_line(std::string_view(pending_).substr(start, nl - start), e)) out.push_back(std::move(e));
        start = nl + 1;
    }
    pending_.erase(0, start);
    return out;
}

} // namespace ctk::api
