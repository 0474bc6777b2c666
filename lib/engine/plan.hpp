// The command plan behind every ctl verb and behind --explain.
//
// A verb does not call the tools directly: it builds a Plan, an ordered list
// of steps (run a tool, write a small file, edit config.json, make a network
// namespace), and then either executes it or renders it as a shell script.
// Both use the same Plan, so the script that `ctl --explain` prints is what
// ctl runs: running it by hand makes the same container.
//
// Words may hold ${VAR} for a value that a capture step reads from an earlier
// step's JSON output (an address from net-bridge's result, say).
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/json.hpp"

namespace ctk::engine {

// One change to a JSON file (config.json, container.json), rendered as jq.
struct JsonEdit {
    enum class Op {
        set,              // path = value
        remove,           // del(path)
        append,           // path += [value]
        set_namespace,    // the linux.namespaces entry of `key` gets path `value` (added when absent)
        remove_namespace, // the linux.namespaces entry of `key` is dropped
        set_env,          // process.env: the entry for variable `key` becomes `value` ("K=V")
        capabilities,     // process.capabilities bounding/effective/permitted: + value["add"] - value["drop"]
        set_rlimit,       // process.rlimits: the entry of type `key` becomes `value`
        remove_entries,   // the array at path loses the elements whose member `key` ("a/b": .a.b) equals `value`
    };
    Op op = Op::set;
    std::vector<std::string> path; // object keys; "#N" is array index N
    std::string key;
    Json value;
};

struct Step {
    enum class Kind {
        run, write_file, edit_json, make_dir, remove_tree, make_netns, remove_netns, capture, background,
        remove_container, // a container directory: everything, container.json last (rm -rf in the script)
        copy_file,        // `from` copied to `path` (cp in the script)
        // The undo of a half-made object (`steps`), armed from here until
        // disarm_rollback: the script's EXIT trap. ctl itself runs the same
        // steps (Engine::rollback) when a step fails or it is interrupted.
        arm_rollback,
        disarm_rollback,
        symlink,        // `path` made a symlink to `from`; fails when `path` exists (ln -s)
        unlink_if_link, // `path` removed when it is a symlink to `from` (and left alone otherwise)
    };
    Kind kind = Kind::run;
    std::string comment; // shown above the step in the script

    // run
    std::vector<std::string> argv;
    std::vector<std::string> pipe_to; // a second command reading argv's stdout through a pipe ("A | B")
    std::string stdin_file;    // "" = nothing (/dev/null) unless `foreground`
    std::string stdout_file;   // "" = discarded (captured) unless `foreground` / `show_output`
    bool foreground = false;   // the user's stdin/stdout/stderr; its status is the plan's status
    bool stdin_null = false;   // foreground, but stdin from /dev/null (docker run without -i)
    bool show_output = false;  // stdout goes to the user (ctl network ls, images …)
    bool stdin_inherit = false; // the user's stdin (ctl load < FILE), not /dev/null
    std::string keep_output;   // ctl keeps stdout as the value of this name (ExecResult::vars); the script shows it
    bool show_stderr = false;  // progress (reg-fetch pull) goes to the user's terminal
    bool may_fail = false;     // clean-up: a failure is not an error (" || true")
    int timeout_s = 0;         // `timeout N …`; expiry counts as a failure
    bool script_only = false;  // shown in the script, done natively by ctl (the record, under a lock)

    // write_file / edit_json / make_dir / remove_tree / make_netns / remove_netns / copy_file
    std::string path;
    std::string from;
    std::string content;
    mode_t mode = 0644;
    std::vector<JsonEdit> edits;
    std::string lock; // edit_json: a lock file held (flock) while the file is edited

    // capture: VAR=$(jq -r 'EXPR' FILE)  EXPR: a path like .ips[0].address, with
    // `strip_prefix_len` dropping a CIDR suffix ("10.0.0.2/16" -> "10.0.0.2").
    std::string var;
    std::string expr;
    bool strip_prefix_len = false;

    // background: ( steps ) detached from ctl, e.g. the clean-up of run -d --rm; arm_rollback: the undo
    std::vector<Step> steps;
};

struct Plan {
    std::string title;                                   // "ctl run --rm tiny true"
    std::vector<std::string> env;                        // exported K=V (CTK_ROOT, CTK_RUN, CTK_CONFIG)
    std::vector<std::string> path_dirs;                  // prepended to PATH (where the tools are)
    std::vector<std::pair<std::string, std::string>> vars; // shorthands: ID=…, C=… (longest match wins)
    std::vector<Step> steps;

    Plan& add(Step s) {
        steps.push_back(std::move(s));
        return *this;
    }
    void append(const Plan& other) { steps.insert(steps.end(), other.steps.begin(), other.steps.end()); }
};

// Step builders.
Step run_step(std::vector<std::string> argv, std::string comment = "");
// `from | to`: streamed through a pipe; the step fails when either fails, with
// the message of the one that failed first (the writer, unless it died of SIGPIPE).
Step pipe_step(std::vector<std::string> from, std::vector<std::string> to, std::string comment = "");
Step write_file_step(std::string path, std::string content, mode_t mode = 0644, std::string comment = "");
Step edit_json_step(std::string path, std::vector<JsonEdit> edits, std::string comment = "");
Step make_dir_step(std::string path);
Step remove_tree_step(std::string path, std::string comment = "");
Step make_netns_step(std::string path, std::string comment = "");
Step remove_netns_step(std::string path);
Step capture_step(std::string var, std::string file, std::string expr, bool strip_prefix_len = false);
Step copy_file_step(std::string from, std::string to, std::string comment = "");
Step symlink_step(std::string target, std::string path, std::string comment = "");
Step unlink_if_link_step(std::string target, std::string path, std::string comment = "");
Step arm_rollback_step(std::vector<Step> undo, std::string comment = "");
Step disarm_rollback_step();

// Applies edits to a JSON document (what the jq line does).
void apply_edits(Json& doc, const std::vector<JsonEdit>& edits);

// The shell script: #!/bin/sh, set -eu, exports, PATH, vars, steps.
std::string render_script(const Plan& plan);
// Shell quoting of one word; ${VAR} stays expandable.
std::string shell_word(const std::string& word);

struct ExecOptions {
    // Called before each step (ctl aborts here after SIGINT while setting up).
    std::function<void(const Step&)> before_step;
    // A foreground step's pid while it runs (signal forwarding); 0 afterwards.
    std::function<void(pid_t)> on_foreground;
};

struct ExecResult {
    int status = 0;                           // of the foreground step, else 0
    bool ran_foreground = false;
    std::map<std::string, std::string> vars; // captured values, and the stdout of keep_output steps
};

// Runs the steps in order. A failing step (not may_fail) throws ctk::Error
// carrying the tool's own last stderr line, and the kind its exit status maps
// to; the steps after it do not run. `vars` seeds captured values.
ExecResult execute(const Plan& plan, const ExecOptions& options = {},
                   std::map<std::string, std::string> vars = {});

// A tool's message: the last line of its stderr (CONTRACTS.md, "Output").
std::string last_line(const std::string& text);

// Locates a tool: next to the running executable (the build tree's
// tools/<t>/<t> from tools/ctl/ctl, or an installed bin/ directory), then PATH.
// $CTK_TOOLS_DIR (a directory holding the tools, or <dir>/<tool>/<tool>) wins.
std::string tool_path(const std::string& tool);
// The directories of the tools used in `plan` (for the script's PATH line).
std::vector<std::string> tool_dirs(const std::vector<std::string>& tools);

// Makes a network namespace that outlives its process: a new netns bind-mounted
// on `path` (what `unshare --net=PATH true` does). And its removal (unmount + unlink).
void make_netns(const std::string& path);
void remove_netns(const std::string& path);

// --explain's guarantee that nothing changes, made by the kernel rather than
// by each verb: the calling process moves into a mount namespace of its own in
// which every path of `paths` (or its nearest existing parent) and everything
// mounted below it is read-only. A write to the store from here on fails with
// EROFS, whichever code path attempts it; tools started from here inherit the view.
void read_only_view(const std::vector<std::string>& paths);

} // namespace ctk::engine
