// reg-fetch: pull and push images over the registry API, into and out of an
// OCI image layout (see reg-fetch(1)).
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "core/cli.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "registry/inspect.hpp"
#include "registry/pull.hpp"
#include "registry/push.hpp"

using namespace ctk;
using namespace ctk::registry;

namespace {

ProgressMode progress_mode(bool quiet, const std::string& mode) {
    if (quiet || mode == "none") return ProgressMode::quiet;
    if (mode == "tty") return ProgressMode::terminal;
    if (mode == "json") return ProgressMode::json;
    return ProgressMode::automatic;
}

std::string read_password(bool from_stdin) {
    std::string line;
    if (from_stdin) {
        std::getline(std::cin, line);
        while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
        return line;
    }
    if (!is_terminal(STDIN_FILENO))
        throw Error("no password: use --password or --password-stdin", ErrorKind::usage);
    std::fputs("Password: ", stderr);
    std::fflush(stderr);
    termios old{};
    ::tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::getline(std::cin, line);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fputs("\n", stderr);
    return line;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"reg-fetch: pull and push images over the registry API into and out of an OCI image layout"};
    app.set_version_flag("--version", std::string("reg-fetch ") + CTK_VERSION);
    app.require_subcommand(1);
    bool quiet = false;
    std::string progress = "auto";
    app.add_flag("--quiet,-q", quiet, "no progress on stderr")->configurable(false);
    app.add_option("--progress", progress, "progress on stderr: auto (terminal lines, else JSON lines), tty, json, none")
        ->check(CLI::IsMember({"auto", "tty", "json", "none"}));

    std::string platform_text;
    auto* pull = app.add_subcommand("pull", "fetch an image into an OCI image layout (default: the store's)");
    std::string pull_ref;
    PullOptions pull_opts;
    pull->add_option("REF", pull_ref, "image reference, e.g. 127.0.0.1:5000/tiny:latest")->required();
    pull->add_option("--layout", pull_opts.layout, "OCI image layout directory (made when missing)");
    pull->add_option("--platform", platform_text, "os/arch[/variant] to pick from an index (default: this host)");
    pull->add_flag("--all-platforms", pull_opts.all_platforms, "every image of an index; the index is tagged");
    pull->add_option("--tag", pull_opts.tag, "name in the layout's index.json (default: the full reference)");
    pull->add_option("--max-concurrent-downloads", pull_opts.max_concurrent, "layers fetched at once")
        ->check(CLI::Range(1, 64));
    pull->add_flag("--quiet,-q", quiet, "no progress on stderr");

    auto* push = app.add_subcommand("push", "send an image of an OCI image layout to a registry");
    std::string push_src, push_dest, chunk_text;
    PushOptions push_opts;
    push->add_option("SOURCE", push_src, "LAYOUT:NAME, or an image of the store")->required();
    push->add_option("DEST", push_dest, "destination reference (default: SOURCE's name, store images)");
    push->add_option("--chunk-size", chunk_text, "blobs larger than this go up in PATCH chunks of this size (default 32m)");
    push->add_option("--max-concurrent-uploads", push_opts.max_concurrent, "blobs sent at once")
        ->check(CLI::Range(1, 64));
    push->add_flag("--quiet,-q", quiet, "no progress on stderr");

    auto* inspect = app.add_subcommand("inspect", "print an image's manifest and config facts (as skopeo inspect)");
    std::string inspect_ref;
    bool raw = false, config = false, no_tags = false;
    inspect->add_option("REF", inspect_ref, "image reference")->required();
    inspect->add_flag("--raw", raw, "the manifest or index exactly as the registry serves it");
    inspect->add_flag("--config", config, "the image config");
    inspect->add_flag("--no-tags", no_tags, "do not list the repository's tags");
    inspect->add_option("--platform", platform_text, "os/arch[/variant] to pick from an index");

    auto* tags = app.add_subcommand("tags", "list a repository's tags (as skopeo list-tags)");
    std::string tags_repo;
    tags->add_option("REPOSITORY", tags_repo, "e.g. 127.0.0.1:5000/tiny")->required();

    auto* login = app.add_subcommand("login", "check credentials and store them in the Docker config file");
    std::string login_registry, username, password;
    bool password_stdin = false;
    login->add_option("REGISTRY", login_registry, "registry host[:port] (default: the default registry)");
    login->add_option("--username,-u", username, "user name")->required();
    login->add_option("--password,-p", password, "password (prefer --password-stdin)");
    login->add_flag("--password-stdin", password_stdin, "read the password from stdin");
    bool login_check_only = false;
    login->add_flag("--no-store", login_check_only, "only check the credentials; store nothing (ctld's POST /auth)");

    auto* logout = app.add_subcommand("logout", "remove stored credentials");
    std::string logout_registry;
    logout->add_option("REGISTRY", logout_registry, "registry host[:port] (default: the default registry)");

    return cli_main("reg-fetch", app, argc, argv, [&]() -> int {
        Session session;
        auto shown = make_progress(progress_mode(quiet, progress));
        session.progress = shown.get();
        std::optional<oci::Platform> platform;
        if (!platform_text.empty()) platform = oci::Platform::parse(platform_text);

        if (*pull) {
            pull_opts.platform = platform;
            for (const Json& j : registry::pull(session, pull_ref, pull_opts)) {
                std::string line = dump_compact(j) + "\n";
                if (is_terminal(STDOUT_FILENO) && !pull_opts.all_platforms) line = j.dump(2) + "\n";
                std::fwrite(line.data(), 1, line.size(), stdout);
            }
            std::fflush(stdout);
            return 0;
        }
        if (*push) {
            if (!chunk_text.empty()) {
                auto n = parse_size(chunk_text);
                if (!n || *n == 0) throw Error("--chunk-size " + quote(chunk_text) + ": expected a size such as 8m", ErrorKind::usage);
                push_opts.chunk_size = *n;
            }
            print_json(registry::push(session, push_src, push_dest, push_opts));
            return 0;
        }
        if (*inspect) {
            if (raw) {
                std::string bytes = inspect_raw(session, inspect_ref);
                std::fwrite(bytes.data(), 1, bytes.size(), stdout);
                if (is_terminal(STDOUT_FILENO)) std::fputc('\n', stdout);
                return 0;
            }
            if (config) {
                std::string bytes = inspect_config(session, inspect_ref, platform);
                std::fwrite(bytes.data(), 1, bytes.size(), stdout);
                if (is_terminal(STDOUT_FILENO)) std::fputc('\n', stdout);
                return 0;
            }
            InspectOptions o;
            o.platform = platform;
            o.tags = !no_tags;
            print_json(registry::inspect(session, inspect_ref, o));
            return 0;
        }
        if (*tags) {
            print_json(list_tags(session, tags_repo));
            return 0;
        }
        if (*login) {
            std::string registry = login_registry.empty() ? session.settings.default_registry : login_registry;
            if (password.empty()) password = read_password(password_stdin);
            std::string domain =
                registry::login(session, registry, Credentials{username, password, ""}, !login_check_only);
            Json out = {{"registry", domain}, {"status", "Login Succeeded"}};
            if (!login_check_only) out["config"] = CredentialStore::config_path();
            print_json(out);
            return 0;
        }
        if (*logout) {
            std::string registry = logout_registry.empty() ? session.settings.default_registry : logout_registry;
            std::string domain = registry::logout(session, registry);
            print_json(Json{{"registry", domain}, {"status", "Removed login credentials"}});
            return 0;
        }
        return 2;
    });
}
