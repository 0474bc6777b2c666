#include "core/cli.hpp"

#include <unistd.h>

#include "core/fs.hpp"

namespace ctk {

void print_json(const Json& value) {
    std::string text = is_terminal(STDOUT_FILENO) ? value.dump(2) : dump_compact(value);
    text += '\n';
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

void report_error(const char* tool, const std::string& message) {
    std::string line = std::string(tool) + ": " + message;
    // One line, whatever the message carried.
    for (char& c : line)
        if (c == '\n') c = ' ';
    line += '\n';
    std::fflush(stdout);
    std::fputs(line.c_str(), stderr);
}

} // namespace ctk
