#include "api/util.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "api/spawn.hpp"
#include "core/error.hpp"
#include "core/strings.hpp"
#include "engine/commands.hpp"

namespace ctk::api {

std::string json_str(const Json& j, const char* key, const std::string& fallback) {
    if (!j.is_object()) return fallback;
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

Json json_get(const Json& j, const char* key, Json fallback) {
    if (!j.is_object()) return fallback;
    auto it = j.find(key);
    return it != j.end() && !it->is_null() ? *it : fallback;
}

std::string human_size4(double v) { return engine::human_size_decimal(static_cast<int64_t>(v), 4); }

std::string progress_bar(int64_t current, int64_t total) {
    if (total <= 0) return human_size4(static_cast<double>(current));
    if (current > total) current = total;
    // jsonmessage: percent / 2 '=' then '>', in 50 columns; current padded to 8
    int bars = static_cast<int>(100.0 * static_cast<double>(current) / static_cast<double>(total)) / 2;
    bars = std::clamp(bars, 0, 50);
    std::string bar = "[" + std::string(static_cast<size_t>(bars), '=') + ">" +
                      std::string(static_cast<size_t>(50 - bars), ' ') + "] ";
    std::string cur = human_size4(static_cast<double>(current));
    if (cur.size() < 8) cur = std::string(8 - cur.size(), ' ') + cur;
    return bar + cur + "/" + human_size4(static_cast<double>(total));
}

std::string tool_message(const std::string& err, const std::string& fallback) {
    std::string_view v = trim(err);
    auto nl = v.rfind('\n');
    std::string last(nl == std::string_view::npos ? v : v.substr(nl + 1));
    // "reg-fetch: manifest … not found" -> "manifest … not found"
    auto colon = last.find(": ");
    if (colon != std::string::npos && colon < 16 && last.find(' ') > colon) last = last.substr(colon + 2);
    return last.empty() ? fallback : last;
}

ProcessResult run_tool(const std::vector<std::string>& argv, const std::string& input) {
    RunOptions o;
    o.input = input;
    ProcessResult r = run_process(argv, o);
    if (!r.ok()) {
        std::string name = argv[0].substr(argv[0].rfind('/') + 1);
        throw Error(tool_message(r.err, name + " exited with status " + std::to_string(r.status)), error_kind_of_exit(r.status));
    }
    return r;
}

int run_streaming(const std::vector<std::string>& argv, const std::function<void(const std::string&)>& on_line,
                  std::string& out, std::string& last_err) {
    SpawnOptions o;
    o.pipe_stdout = true;
    o.pipe_stderr = true;
    Spawned s = spawn(argv, o);
    std::string pending;
    bool listening = true;
    // A client that went away stops hearing, but the tool finishes its work.
    auto deliver = [&](const std::string& line) {
        if (!listening) return;
        try {
            on_line(line);
        } catch (const std::exception&) {
            listening = false;
        }
    };
    while (s.out || s.err) {
        pollfd p[2];
        int n = 0, oi = -1, ei = -1;
        if (s.out) {
            oi = n;
            p[n++] = {s.out.get(), POLLIN, 0};
        }
        if (s.err) {
            ei = n;
            p[n++] = {s.err.get(), POLLIN, 0};
        }
        if (::poll(p, static_cast<nfds_t>(n), -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        char buf[65536];
        if (oi >= 0 && p[oi].revents) {
            ssize_t r = ::read(s.out.get(), buf, sizeof buf);
            if (r > 0) out.append(buf, static_cast<size_t>(r));
            else if (r == 0 || errno != EINTR) s.out.reset();
        }
        if (ei >= 0 && p[ei].revents) {
            ssize_t r = ::read(s.err.get(), buf, sizeof buf);
            if (r > 0) {
                pending.append(buf, static_cast<size_t>(r));
                size_t nl;
                while ((nl = pending.find('\n')) != std::string::npos) {
                    std::string line = pending.substr(0, nl);
                    pending.erase(0, nl + 1);
                    if (!trim(line).empty()) {
                        last_err = line;
                        deliver(line);
                    }
                }
            } else if (r == 0 || errno != EINTR) {
                s.err.reset();
            }
        }
    }
    if (!trim(pending).empty()) {
        last_err = pending;
        deliver(pending);
    }
    return wait_child(s.pid);
}

} // namespace ctk::api
