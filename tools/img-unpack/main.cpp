// img-unpack: an OCI image (layout, reg-fetch's JSON, docker save archive)
// to an OCI runtime bundle. See man/img-unpack.1.
#include <cstdio>
#include <cstdlib>
#include <tuple>

#include "core/cli.hpp"
#include "core/fs.hpp"
#include "image/unpack.hpp"
#include "store/paths.hpp"

int main(int argc, char** argv) {
    CLI::App app{"img-unpack: unpack an OCI image into an OCI runtime bundle (config.json + rootfs)\n\n"
                 "  img-unpack [OPTIONS] (--image IMAGE | --archive FILE[:TAG] | -) [--] BUNDLE [CMD [ARG...]]\n"
                 "  img-unpack --release BUNDLE\n",
                 "img-unpack"};
    // Everything from the first positional word on is BUNDLE and the command:
    // `img-unpack --image x b sh -c 'echo hi'` must not read "-c" as an option.
    app.prefix_command();
    std::string image, archive, platform, mode = "flat", release, user, workdir, hostname, seccomp, host_config,
        netns, etc_files, cgroup_name;
    std::optional<std::string> entrypoint;
    std::vector<std::string> env, cap_add, cap_drop;
    bool tty = false, read_only = false, no_new_privileges = false, no_sync = false;
    app.add_option("--image", image,
                   "LAYOUT:REF, LAYOUT (its only image) or a reference in the store ($CTK_ROOT/images)");
    app.add_option("--archive", archive, "a `docker save` archive; FILE:TAG picks one of several images");
    app.add_option("--platform", platform, "os/arch[/variant] to pick from an image index (default: this host)");
    app.add_option("--mode", mode, "flat (a complete rootfs/) or overlay (shared layers in $CTK_ROOT/layers)")
        ->check(CLI::IsMember({"flat", "overlay"}));
    app.add_option("--entrypoint", entrypoint, "replace the image's Entrypoint (and drop its Cmd); '' clears it");
    app.add_option("-e,--env", env, "KEY=VALUE for the process environment (KEY alone: from ours, or unset)");
    app.add_option("-u,--user", user, "USER[:GROUP] (names from the image's /etc/passwd and /etc/group)");
    app.add_option("-w,--workdir", workdir, "working directory of the process");
    app.add_option("--hostname", hostname, "the container's hostname (default: the bundle's directory name)");
    app.add_flag("-t,--tty", tty, "the process gets a terminal (and TERM=xterm)");
    // docker run's HostConfig, and ctk's own inputs beside it
    using Option = std::tuple<const char*, std::string*, const char*>;
    for (const auto& [flag, value, help] :
         {Option{"--host-config", &host_config,
                 "docker run's HostConfig (Engine API JSON): limits, capabilities, security options, "
                 "namespaces, devices, applied to config.json"},
          Option{"--netns", &netns, "the network namespace to join (a path, e.g. one net-bridge attached)"},
          Option{"--etc-files", &etc_files, "bind-mount DIR/hostname, DIR/hosts and DIR/resolv.conf on /etc"},
          Option{"--cgroup-name", &cgroup_name,
                 "linux.cgroupsPath PARENT/NAME (PARENT: HostConfig.CgroupParent or ctk)"}})
        app.add_option(flag, *value, help);
    app.add_flag("--read-only", read_only, "mount the rootfs read-only (HostConfig.ReadonlyRootfs)");
    app.add_option("--cap-add", cap_add, "add a capability (NET_ADMIN, ALL, ...), after HostConfig.CapAdd");
    app.add_option("--cap-drop", cap_drop, "drop a capability (NET_RAW, ALL, ...), after HostConfig.CapDrop");
    app.add_option("--seccomp", seccomp, "seccomp profile: default (Docker's), unconfined, or a JSON FILE "
                                         "(HostConfig.SecurityOpt seccomp=)");
    app.add_flag("--no-new-privileges", no_new_privileges, "set no_new_privs for the process "
                                                            "(HostConfig.SecurityOpt no-new-privileges)");
    app.add_flag("--no-sync", no_sync, "do not syncfs before committing (for throw-away bundles)");
    app.add_option("--release", release, "unmount and remove what img-unpack made in BUNDLE");
    app.set_version_flag("--version", std::string(CTK_VERSION));

    return ctk::cli_main("img-unpack", app, argc, argv, [&]() -> int {
        using ctk::Error;
        using ctk::ErrorKind;
        std::vector<std::string> words = app.remaining();
        if (!release.empty()) {
            if (!words.empty() || !image.empty() || !archive.empty())
                throw Error("--release takes only the bundle", ErrorKind::usage);
            ctk::print_json(ctk::image::release_bundle(release));
            return 0;
        }
        if (!words.empty() && words.front() == "--") words.erase(words.begin());
        bool from_stdin = !words.empty() && words.front() == "-";
        if (from_stdin) words.erase(words.begin());
        if (!words.empty() && words.front() == "--") words.erase(words.begin());
        if (int(from_stdin) + int(!image.empty()) + int(!archive.empty()) != 1)
            throw Error("name the image once: --image IMAGE, --archive FILE or - (reg-fetch's JSON on stdin)",
                        ErrorKind::usage);
        if (words.empty()) throw Error("no bundle directory given", ErrorKind::usage);
        std::string bundle = words.front();
        words.erase(words.begin());
        if (!words.empty() && words.front() == "--") words.erase(words.begin()); // BUNDLE -- CMD

        std::optional<ctk::oci::Platform> plat;
        if (!platform.empty()) plat = ctk::oci::Platform::parse(platform);
        ctk::store::Paths paths = ctk::store::Paths::from_env();

        ctk::image::UnpackOptions o;
        o.mode = ctk::image::parse_bundle_mode(mode);
        o.sync = !no_sync;
        auto& s = o.spec;
        if (!words.empty()) s.cmd = words;
        if (entrypoint) s.entrypoint = entrypoint->empty() ? std::vector<std::string>{}
                                                           : std::vector<std::string>{*entrypoint};
        for (auto e : env) {
            // docker run -e KEY: the value of KEY here, if any.
            if (e.find('=') == std::string::npos)
                if (const char* v = std::getenv(e.c_str())) e += std::string("=") + v;
            s.env.push_back(e);
        }
        if (!user.empty()) s.user = user;
        if (!workdir.empty()) s.workdir = workdir;
        s.hostname = hostname;
        s.terminal = tty;
        if (!host_config.empty())
            s.host = ctk::oci::HostConfig::from_json(ctk::read_json_file(host_config));
        // the single-setting options add to the file's
        auto append = [](std::optional<std::vector<std::string>>& to, const std::vector<std::string>& v) {
            if (v.empty()) return;
            if (!to) to.emplace();
            to->insert(to->end(), v.begin(), v.end());
        };
        if (read_only) s.host.readonly_rootfs = true;
        append(s.host.cap_add, cap_add);
        append(s.host.cap_drop, cap_drop);
        if (!seccomp.empty()) append(s.host.security_opt, {"seccomp=" + seccomp});
        if (no_new_privileges) append(s.host.security_opt, {"no-new-privileges"});
        s.netns = netns;
        s.etc_dir = etc_files;
        s.cgroup_name = cgroup_name;
        if (ctk::is_terminal(2))
            o.progress = [](const std::string& line) { std::fprintf(stderr, "img-unpack: %s\n", line.c_str()); };

        ctk::image::ImageSource source = [&] {
            if (from_stdin) {
                std::string in = ctk::read_fd(0, 4u << 20);
                return ctk::image::ImageSource::from_pull_output(in, plat);
            }
            if (!archive.empty()) return ctk::image::ImageSource::from_archive_argument(archive, plat);
            return ctk::image::ImageSource::from_argument(image, paths.images(), plat);
        }();
        ctk::print_json(ctk::image::unpack_image(source, bundle, o, paths));
        return 0;
    });
}
