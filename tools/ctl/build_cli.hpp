// ctl's image-making verbs (commit, build, history; image build/history):
// argument parsing, registered on ctl's CLI11 app, and the local build.
#pragma once

#include <memory>

#include <CLI/CLI.hpp>

#include "engine/backend.hpp"

struct BuildCli {
    CLI::App *commit = nullptr, *build = nullptr, *i_build = nullptr, *history = nullptr, *i_history = nullptr;
    ctk::engine::CommitOptions commit_options;
    ctk::engine::BuildRequest build_request;
    ctk::engine::HistoryRequest history_request;
    std::vector<std::string> build_args, labels;
    bool pull = false, rm = true, force_rm = false, pause = true;
};

// Adds the subcommands to `app` and to its `image` group.
std::shared_ptr<BuildCli> add_build_commands(CLI::App& app, CLI::App* image);
// The values parsed, as the requests (build-args and labels resolved, --format unescaped).
void finish_build_requests(BuildCli& cli);
// ctl's local build (engine::Commands' builder): the build's output as docker prints it.
int build_locally(ctk::engine::Engine& engine, const ctk::engine::BuildRequest& request);
