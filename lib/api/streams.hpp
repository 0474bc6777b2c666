// Container output as the API streams it.
//
// Output comes from the container's json-file log (written by ns-run's
// monitor, or by the stdio keeper for a TTY), read from an offset and
// followed with inotify. For a container without a TTY each piece goes out in
// Docker's multiplexed frame: an 8-byte header [stream, 0, 0, 0, big-endian
// uint32 length] (stream 1 stdout, 2 stderr) and the bytes; a TTY's output
// goes out raw.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/fd.hpp"

namespace ctk::api {

std::string mux_frame(int stream, std::string_view data);

struct LogEntry {
    std::string stream; // "stdout" / "stderr"
    std::string time;   // RFC 3339
    std::string log;
};

// Parses one json-file line; false when it is not one.
bool parse_log_line(std::string_view line, LogEntry& out);

class LogTail {
public:
    // Opens the log (made empty when missing, so it can be followed before
    // the container writes), at its start or at its current end.
    LogTail(const std::string& path, bool from_start);
    int watch_fd() const { return inotify_.get(); }
    // Complete entries written since the last call.
    std::vector<LogEntry> read();

private:
    UniqueFd fd_, inotify_;
    std::string pending_;
};

} // namespace ctk::api
