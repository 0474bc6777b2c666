#include "container/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "container/state.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"

namespace ctk::container {

void append_json_string(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out += '"';
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 15];
                } else {
                    out += static_cast<char>(c);
                }
            }
            i++;
            continue;
        }
        // A well-formed UTF-8 sequence is copied, anything else is U+FFFD.
        size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
        bool ok = len > 0 && i + len <= s.size();
        for (size_t k = 1; ok && k < len; k++)
            ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
        if (ok && len == 3) {
            unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
            ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
        }
        if (ok && len == 4) {
            unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
            ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
        }
        if (ok) {
            out.append(s.data() + i, len);
            i += len;
        } else {
            out += "\xef\xbf\xbd";
            i++;
        }
    }
    out += '"';
}

void RuntimeLog::write(const char* level, const std::string& msg) const {
    if (file_.empty()) return;
    int fd = ::open(file_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) return;
    std::string line;
    if (json_) {
        line = "{\"level\":";
        append_json_string(line, level);
        line += ",\"msg\":";
        append_json_string(line, msg);
        line += ",\"time\":";
        append_json_string(line, now_rfc3339());
        line += "}\n";
    } else {
        line = now_rfc3339() + " " + level + " " + msg + "\n";
    }
    ssize_t n = ::write(fd, line.data(), line.size());
    (void)n;
    ::close(fd);
}

void RuntimeLog::warn(const std::string& msg) const {
    std::string line = "ns-run: warning: " + msg + "\n";
    ssize_t n = ::write(2, line.data(), line.size());
    (void)n;
    write("warning", msg);
}

void RuntimeLog::error(const std::string& msg) const { write("error", msg); }

void RuntimeLog::failure(const std::string& msg) const {
    std::string line = "ns-run: " + msg + "\n";
    ssize_t n = ::write(2, line.data(), line.size());
    (void)n;
    write("error", msg);
}

void RuntimeLog::debug(const std::string& msg) const {
    if (!debug_) return;
    std::string line = "ns-run: debug: " + msg + "\n";
    ssize_t n = ::write(2, line.data(), line.size());
    (void)n;
    write("debug", msg);
}

JsonFileLog::JsonFileLog(const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) throw_errno("open the stdio log", path);
    fd_.reset(fd);
}

void JsonFileLog::emit(Stream s, std::string_view line) {
    std::string out = "{\"log\":";
    append_json_string(out, line);
    out += s == stdout_stream ? ",\"stream\":\"stdout\",\"time\":\"" : ",\"stream\":\"stderr\",\"time\":\"";
    out += now_rfc3339();
    out += "\"}\n";
    write_all(fd_.get(), out, "the stdio log");
}

void JsonFileLog::feed(Stream s, std::string_view data) {
    constexpr size_t max_line = 16 * 1024;
    std::string& p = pending_[s];
    p.append(data);
    size_t start = 0;
    for (;;) {
        size_t nl = p.find('\n', start);
        size_t end = nl == std::string::npos ? p.size() : nl + 1;
        if (end - start > max_line) {
            emit(s, std::string_view(p).substr(start, max_line));
            start += max_line;
            continue;
        }
        if (nl == std::string::npos) break;
        emit(s, std::string_view(p).substr(start, end - start));
        start = end;
    }
    p.erase(0, start);
}

void JsonFileLog::flush(Stream s) {
    if (!pending_[s].empty()) emit(s, pending_[s]);
    pending_[s].clear();
}

} // namespace ctk::container
