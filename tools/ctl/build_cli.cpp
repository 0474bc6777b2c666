#include "build_cli.hpp"

#include <signal.h>

#include <cstdio>

#include "build/builder.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "engine/format.hpp"
#include <unistd.h>
#include "core/strings.hpp"
#include "engine/commit.hpp"

using namespace ctk;

namespace {

volatile sig_atomic_t g_build_signal = 0;
void on_build_signal(int sig) { g_build_signal = sig; }

void build_flags(CLI::App* c, BuildCli& b) {
    c->add_option("-t,--tag", b.build_request.tags, "Name and optionally a tag in the 'name:tag' format")->allow_extra_args(false);
    c->add_option("-f,--file", b.build_request.dockerfile, "Name of the Dockerfile (Default is 'PATH/Dockerfile')");
    c->add_option("--build-arg", b.build_args, "Set build-time variables")->allow_extra_args(false);
    c->add_option("--label", b.labels, "Set metadata for an image")->allow_extra_args(false);
    c->add_option("--target", b.build_request.target, "Set the target build stage to build");
    c->add_flag("--no-cache", b.build_request.no_cache, "Do not use cache when building the image");
    c->add_flag("-q,--quiet", b.build_request.quiet, "Suppress the build output and print image ID on success");
    c->add_flag("--pull", b.pull, "Always attempt to pull a newer version of the image (ignored)");
    c->add_flag("--rm", b.rm, "Remove intermediate containers after a successful build (always)");
    c->add_flag("--force-rm", b.force_rm, "Always remove intermediate containers (always)");
    c->add_option("PATH", b.build_request.context, "Build context directory")->required();
}

void history_flags(CLI::App* c, BuildCli& b) {
    c->add_flag("--no-trunc", b.history_request.no_trunc, "Don't truncate output");
    c->add_flag("-q,--quiet", b.history_request.quiet, "Only show image IDs");
    c->add_option("-H,--human", b.history_request.human, "Print sizes and dates in human readable format");
    c->add_option("--format", b.history_request.format, "Format output using a custom template");
    c->add_option("IMAGE", b.history_request.image)->required();
}

} // namespace

std::shared_ptr<BuildCli> add_build_commands(CLI::App& app, CLI::App* image) {
    auto b = std::make_shared<BuildCli>();
    b->commit = app.add_subcommand("commit", "Create a new image from a container's changes");
    b->commit->add_option("-a,--author", b->commit_options.author, "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")");
    b->commit->add_option("-c,--change", b->commit_options.changes, "Apply Dockerfile instruction to the created image")->allow_extra_args(false);
    b->commit->add_option("-m,--message", b->commit_options.message, "Commit message");
    b->commit->add_flag("-p,--pause,!--no-pause", b->pause, "Pause container during commit (accepted; ctk does not pause)");
    b->commit->add_option("CONTAINER", b->commit_options.container)->required();
    b->commit->add_option("REPOSITORY", b->commit_options.reference, "REPOSITORY[:TAG]");
    b->build = app.add_subcommand("build", "Build an image from a Dockerfile");
    build_flags(b->build, *b);
    b->i_build = image->add_subcommand("build", "Build an image from a Dockerfile");
    build_flags(b->i_build, *b);
    b->history = app.add_subcommand("history", "Show the history of an image");
    history_flags(b->history, *b);
    b->i_history = image->add_subcommand("history", "Show the history of an image");
    history_flags(b->i_history, *b);
    return b;
}

void finish_build_requests(BuildCli& b) {
    b.history_request.format = engine::unescape_format(b.history_request.format);
    for (const auto& a : b.build_args) {
        auto kv = split_once(a, '=');
        if (kv) b.build_request.build_args[kv->first] = kv->second;
        else if (const char* v = std::getenv(a.c_str())) b.build_request.build_args[a] = v;
    }
    for (const auto& l : b.labels) {
        auto kv = split_once(l, '=');
        b.build_request.labels[kv ? kv->first : l] = kv ? kv->second : "";
    }
}

int build_locally(engine::Engine& engine, const engine::BuildRequest& req) {
    build::BuildOptions bo{.context = req.context, .dockerfile = req.dockerfile, .dockerfile_text = "", .tags = req.tags,
                           .build_args = req.build_args, .target = req.target, .no_cache = req.no_cache, .labels = req.labels};
    if (bo.dockerfile == "-") {
        bo.dockerfile_text = read_fd(0);
        bo.dockerfile.clear();
    }
    const bool quiet = req.quiet;
    build::BuildSink sink;
    bool json = !is_terminal(STDOUT_FILENO);
    if (quiet || engine.explaining()) {
        // nothing but the ID at the end (and the output of a failing step); --explain: the script alone
    } else if (json) {
        sink.stream = [](const std::string& s) {
            std::string line = dump_compact(Json{{"stream", s}}) + "\n";
            std::fwrite(line.data(), 1, line.size(), stdout);
            std::fflush(stdout);
        };
        sink.aux = [](const Json& a) {
            std::string line = dump_compact(Json{{"aux", a}}) + "\n";
            std::fwrite(line.data(), 1, line.size(), stdout);
            std::fflush(stdout);
        };
    } else {
        sink.stream = [](const std::string& s) {
            std::fwrite(s.data(), 1, s.size(), stdout);
            std::fflush(stdout);
        };
        sink.run_output_inherited = true;
    }
    // A signal stops the build before its next step; the step running gets it
    // from the terminal itself (same process group) or ends on its own, and
    // its bundle, mounts and container are removed on the way out.
    struct sigaction sa {};
    sa.sa_handler = on_build_signal;
    sigemptyset(&sa.sa_mask);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(s, &sa, nullptr);
    sink.before_step = [] {
        if (g_build_signal) throw Error("interrupted by signal " + std::to_string(int(g_build_signal)));
    };
    build::BuildResult r;
    try {
        r = build::build_image(engine, bo, sink);
    } catch (const Error& e) {
        // the stream ends with the error as the Engine API's does; ctl reports it on stderr too
        if (json && !quiet) {
            std::string line = dump_compact(Json{{"errorDetail", {{"message", e.what()}}}, {"error", e.what()}}) + "\n";
            std::fwrite(line.data(), 1, line.size(), stdout);
            std::fflush(stdout);
        }
        throw;
    }
    if (r.ok) {
        if (quiet && !engine.explaining()) std::printf("%s\n", r.id.c_str());
        return 0;
    }
    if (json && !quiet) {
        std::string line = dump_compact(Json{{"errorDetail", {{"code", r.code}, {"message", r.message}}}, {"error", r.message}}) + "\n";
        std::fwrite(line.data(), 1, line.size(), stdout);
    } else {
        std::fflush(stdout);
        std::fprintf(stderr, "%s\n", r.message.c_str());
    }
    return r.code == 0 ? 1 : r.code;
}
