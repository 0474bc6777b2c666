// vol-mount: named volumes, bind mounts and tmpfs as OCI mount entries (see vol-mount(8)).
#include <cstdio>

#include "core/cli.hpp"
#include "core/strings.hpp"
#include "volume/bundle.hpp"
#include "volume/spec.hpp"
#include "volume/store.hpp"

using namespace ctk;
using namespace ctk::volume;

namespace {

// Splits "apply"'s remaining words into --id, BUNDLE and the specs.
struct ApplyArgs {
    std::string id;
    std::string bundle;
    std::vector<std::string> specs;
};

ApplyArgs split_apply_args(std::vector<std::string> words, std::string id) {
    ApplyArgs a;
    a.id = std::move(id);
    for (size_t i = 0; i < words.size(); i++) {
        if (words[i] == "--id") {
            if (i + 1 >= words.size()) throw Error("--id needs a value", ErrorKind::usage);
            a.id = words[++i];
        } else if (words[i].rfind("--id=", 0) == 0) {
            a.id = words[i].substr(5);
        } else if (a.bundle.empty() && words[i] != "--") {
            a.bundle = words[i];
        } else if (words[i] != "--" || !a.specs.empty()) {
            a.specs.push_back(words[i]);
        }
    }
    if (a.bundle.empty()) throw Error("apply needs a BUNDLE", ErrorKind::usage);
    return a;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"vol-mount: named volumes, bind mounts and tmpfs as OCI mount entries"};
    app.set_version_flag("--version", std::string("vol-mount ") + CTK_VERSION);
    app.require_subcommand(1);

    auto* create = app.add_subcommand("create", "create a named volume (no NAME: a generated one)");
    std::string create_name;
    std::vector<std::string> labels, opts;
    create->add_option("NAME", create_name, "volume name, [a-zA-Z0-9][a-zA-Z0-9_.-]+");
    create->add_option("--label,-l", labels, "label KEY=VALUE (repeatable)")->allow_extra_args(false);
    create->add_option("--opt,-o", opts, "driver option: type=tmpfs|none, device=..., o=... (repeatable)")->allow_extra_args(false);

    auto* ls = app.add_subcommand("ls", "list volumes");
    bool ls_json = false, ls_quiet = false;
    ls->add_flag("--json", ls_json, "one JSON object a line (Docker's volume shape plus Users)");
    ls->add_flag("--quiet,-q", ls_quiet, "names only");

    auto* inspect = app.add_subcommand("inspect", "print volumes in the Docker Engine API shape");
    std::vector<std::string> inspect_names;
    inspect->add_option("NAME", inspect_names, "volume names")->required();

    auto* rm = app.add_subcommand("rm", "remove volumes (refused while used, unless -f)");
    std::vector<std::string> rm_names;
    bool rm_force = false;
    rm->add_flag("--force,-f", rm_force, "remove even when used; no error for a missing volume");
    rm->add_option("NAME", rm_names, "volume names")->required();

    auto* prune = app.add_subcommand("prune", "remove unused anonymous volumes (--all: every unused volume)");
    bool prune_all = false, prune_force = false;
    prune->add_flag("--all,-a", prune_all, "also unused named volumes");
    prune->add_flag("--force,-f", prune_force, "accepted for docker compatibility (never asks)");

    auto* spec = app.add_subcommand("spec", "print OCI mount entries for docker-style specs");
    spec->prefix_command();
    spec->footer("SPEC: -v NAME:/path[:MODE] | -v /host:/path[:MODE] | -v /path | "
                 "--mount type=volume|bind|tmpfs,... | --tmpfs /path[:OPTIONS]");

    auto* apply = app.add_subcommand("apply", "merge mount entries into BUNDLE/config.json");
    std::string apply_id;
    apply->add_option("--id", apply_id, "container id recorded as the volumes' user (default: bundle basename)");
    apply->prefix_command();
    apply->footer("usage: vol-mount apply [--id ID] BUNDLE SPEC...");

    auto* release = app.add_subcommand("release", "drop BUNDLE's container as a user of its volumes");
    std::string release_bundle_dir, release_id;
    bool release_volumes = false;
    release->add_option("--id", release_id, "container id (default: bundle basename)");
    release->add_flag("--volumes,-v", release_volumes, "also remove the anonymous volumes it used (docker rm -v)");
    release->add_option("BUNDLE", release_bundle_dir, "bundle directory")->required();

    return cli_main("vol-mount", app, argc, argv, [&]() -> int {
        VolumeStore store = VolumeStore::from_env();
        if (*create) {
            CreateOptions o{parse_label_args(labels), parse_opt_args(opts)};
            print_json(store.create(create_name, o).docker_json());
        } else if (*ls) {
            auto volumes = store.list_with_users();
            if (ls_json) {
                for (const auto& v : volumes) std::fputs((dump_compact(v.to_json()) + "\n").c_str(), stdout);
            } else if (ls_quiet) {
                for (const auto& v : volumes) std::printf("%s\n", v.volume.name.c_str());
            } else {
                std::printf("%-8s  %-64s  %s\n", "DRIVER", "VOLUME NAME", "USED BY");
                for (const auto& v : volumes) {
                    std::vector<std::string> ids;
                    for (const auto& u : v.users) ids.push_back(u.id);
                    std::printf("%-8s  %-64s  %s\n", "local", v.volume.name.c_str(), join(ids, ",").c_str());
                }
            }
        } else if (*inspect) {
            std::vector<Json> out;
            for (const auto& n : inspect_names) out.push_back(store.get(n).docker_json());
            if (out.size() == 1) print_json(out[0]);
            else
                for (const auto& j : out) std::fputs((dump_compact(j) + "\n").c_str(), stdout);
        } else if (*rm) {
            RemoveResult r = store.remove(rm_names, rm_force);
            print_json(Json{{"removed", r.removed}});
            for (const auto& [name, err] : r.failed) report_error("vol-mount", err.what());
            if (!r.failed.empty()) return exit_code(r.failed.front().second.kind());
        } else if (*prune) {
            print_json(store.prune(prune_all).docker_json());
        } else if (*spec) {
            auto requests = parse_spec_args(spec->remaining());
            if (requests.empty()) throw Error("spec needs at least one SPEC", ErrorKind::usage);
            print_json(resolve_mounts(store, requests).to_json());
        } else if (*apply) {
            ApplyArgs a = split_apply_args(apply->remaining(), apply_id);
            auto requests = parse_spec_args(a.specs);
            print_json(apply_to_bundle(store, a.bundle, requests, a.id).to_json());
        } else if (*release) {
            print_json(release_bundle(store, release_bundle_dir, release_id, release_volumes).to_json());
        }
        return 0;
    });
}
