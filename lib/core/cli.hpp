// The frame of every tool's main(): CLI11 for the options, ctk::Error for the
// failures. Usage errors exit 2, ctk::Error exits with its kind's code (see
// core/error.hpp), and every message is one line on stderr: "tool: message".
#pragma once

#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "core/error.hpp"
#include "core/json.hpp"

namespace ctk {

// Prints one JSON document on stdout: indented on a terminal, compact otherwise.
void print_json(const Json& value);

// Reports an error as "tool: message" on stderr.
void report_error(const char* tool, const std::string& message);

// Parses the command line. Returns the exit status when that ends the run:
// 0 after --help or --version, `usage_status` after a usage error.
std::optional<int> parse_command_line(const char* tool, CLI::App& app, int argc, char** argv, int usage_status);

template <typename Body> int cli_main(const char* tool, CLI::App& app, int argc, char** argv, Body body) {
    if (auto status = parse_command_line(tool, app, argc, argv, exit_code(ErrorKind::usage))) return *status;
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
