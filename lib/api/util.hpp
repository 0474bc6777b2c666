// Small helpers the route files share.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/process.hpp"

namespace ctk::api {

std::string json_str(const Json& j, const char* key, const std::string& fallback = "");
Json json_get(const Json& j, const char* key, Json fallback);

// go-units HumanSize: 4 significant digits, decimal units ("36.41kB", "1.065MB").
std::string human_size4(double bytes);
// jsonmessage's progress bar: "[=====>      ]  36.41kB/1.065MB".
std::string progress_bar(int64_t current, int64_t total);

// Runs a tool and throws ctk::Error with its last stderr line (without the
// "tool: " prefix) and the kind its exit status maps to.
ProcessResult run_tool(const std::vector<std::string>& argv, const std::string& input = "");
// The message of a tool's failure: its last stderr line without "tool: ".
std::string tool_message(const std::string& err, const std::string& fallback);

// Runs a tool, handing each stderr line to `on_line` as it comes (progress),
// collecting stdout. Returns exit status; stderr's last line in `last_err`.
int run_streaming(const std::vector<std::string>& argv, const std::function<void(const std::string&)>& on_line,
                  std::string& out, std::string& last_err);

} // namespace ctk::api
