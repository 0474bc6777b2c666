// Two logs: the runtime's own (--log FILE --log-format text|json, as runc
// writes it for containerd) and the container's stdout/stderr in Docker's
// json-file format (CONTRACTS.md, ns-run "stdio log (--stdio-log)"), one JSON
// object per line:
//   {"log":"hello\n","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}
#pragma once

#include <string>
#include <string_view>

#include "core/fd.hpp"

namespace ctk::container {

class RuntimeLog {
public:
    RuntimeLog() = default;
    RuntimeLog(std::string file, bool json, bool debug) : file_(std::move(file)), json_(json), debug_(debug) {}

    // "ns-run: warning: ..." on stderr and a line in the log file.
    void warn(const std::string& msg) const;
    void error(const std::string& msg) const;
    // "ns-run: ..." on stderr (and logged as an error): a failure that is
    // reported while the verb still ends with the container's own status.
    void failure(const std::string& msg) const;
    void debug(const std::string& msg) const;
    bool debugging() const { return debug_; }

private:
    void write(const char* level, const std::string& msg) const;
    std::string file_;
    bool json_ = false;
    bool debug_ = false;
};

// JSON string escaping that keeps the output valid UTF-8 (bad bytes become U+FFFD).
void append_json_string(std::string& out, std::string_view s);

class JsonFileLog {
public:
    JsonFileLog() = default;
    // Opens (O_APPEND, created 0640) the log file.
    explicit JsonFileLog(const std::string& path);
    explicit operator bool() const { return static_cast<bool>(fd_); }

    enum Stream { stdout_stream = 0, stderr_stream = 1 };
    // Feeds bytes of one stream; complete lines are written at once, a line
    // longer than 16 KiB is written in parts (as Docker's json-file does).
    void feed(Stream s, std::string_view data);
    // Writes what is left of a stream (the last line without a newline).
    void flush(Stream s);

private:
    void emit(Stream s, std::string_view line);
    UniqueFd fd_;
    std::string pending_[2];
};

} // namespace ctk::container
