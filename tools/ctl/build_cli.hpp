// ctl's image-making verbs (commit, build, history; image build/history):
// argument parsing, registered on ctl's CLI11 app.
#pragma once

#include <memory>

#include <CLI/CLI.hpp>

#include "engine/engine.hpp"

struct BuildCli;

// Adds the subcommands to `app` and to its `image` group.
std::shared_ptr<BuildCli> add_build_commands(CLI::App& app, CLI::App* image);
// Runs the one that was parsed; false when none was.
bool run_build_commands(BuildCli& cli, ctk::engine::Engine& engine, int& status);
