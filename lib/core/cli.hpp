// The frame of every tool's main(): CLI11 for the options, ctk::Error for the
// failures. Usage errors exit 2, ctk::Error exits with its kind's code (see
// core/error.hpp), and every message is one line on stderr: "tool: message".
#pragma once

#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "core/error.hpp"
#include "core/json.hpp"

namespace ctk {

// Prints one JSON document on stdout: indented on a terminal, compact otherwise.
void print_json(const Json& value);

// Reports an error as "tool: message" on stderr.
void report_error(const char* tool, const std::string& message);

template <typename Body> int cli_main(const char* tool, CLI::App& app, int argc, char** argv, Body body) {
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
        return exit_code(ErrorKind::usage);
    }
    try {
        return body();
    } catch (const Error& e) {
        report_error(tool, e.what());
        return exit_code(e.kind());
    } catch (const CLI::ParseError& e) {
        report_error(tool, e.what());
        return exit_code(ErrorKind::usage);
    } catch (const std::bad_alloc&) {
        report_error(tool, "out of memory");
        return exit_code(ErrorKind::failed);
    } catch (const std::exception& e) {
        report_error(tool, std::string("internal error: ") + e.what());
        return exit_code(ErrorKind::failed);
    }
}

} // namespace ctk
