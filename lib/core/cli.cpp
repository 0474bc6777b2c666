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

std::optional<int> parse_command_line(const char* tool, CLI::App& app, int argc, char** argv, int usage_status) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::fputs(app.help().c_str(), stdout);
        return 0;
    } catch (const CLI::CallForAllHelp&) {
        std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
        return 0;
    } catch (const CLI::CallForVersion&) {
        std::printf("%s %s\n", tool, CTK_VERSION);
        return 0;
    } catch (const CLI::ParseError& e) {
        report_error(tool, std::string(e.what()) + " (see " + tool + " --help)");
        return usage_status;
    }
    return std::nullopt;
}

} // namespace ctk
