// ctl: the docker-like command line over the ctk tools. Argument parsing only;
// the verbs live in lib/engine (commands.hpp, engine.hpp).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include <CLI/CLI.hpp>

#include "api/remote.hpp"
#include "core/cli.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "build_cli.hpp"
#include "engine/commands.hpp"
#include "engine/plan.hpp"
#include "engine/timefmt.hpp"
#include "store/paths.hpp"

using namespace ctk;
using namespace ctk::engine;

namespace {

std::atomic<int> g_signal{0};
std::atomic<pid_t> g_child{0};

void on_signal(int sig) {
    pid_t child = g_child.load();
    if (child > 0) {
        ::kill(child, sig); // the foreground tool (ns-run) passes it to the container
        return;
    }
    g_signal.store(sig);
}

void install_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(s, &sa, nullptr);
}

// Docker's exit codes: 125 ctl failed, 126 cannot invoke, 127 not found, else the container's.
constexpr int exit_failed = 125;

void add_list_flags(CLI::App* c, ListOptions& o, bool all_flag = true) {
    if (all_flag) c->add_flag("-a,--all", o.all, "Show all");
    c->add_flag("-q,--quiet", o.quiet, "Only display IDs");
    c->add_flag("--no-trunc", o.no_trunc, "Don't truncate output");
    c->add_option("--format", o.format, "Format output: table, json, or a Go template");
    c->add_option("-f,--filter", o.filters, "Filter output based on conditions provided")->allow_extra_args(false);
}

void add_run_flags(CLI::App* c, RunFlags& f, bool run) {
    c->prefix_command();
    if (run) {
        c->add_flag("-d,--detach", f.detach, "Run container in background and print container ID");
    }
    c->add_flag("--rm", f.rm, "Automatically remove the container when it exits");
    c->add_flag("-i,--interactive", f.interactive, "Keep STDIN open");
    c->add_flag("-t,--tty", f.tty, "Allocate a pseudo-TTY");
    c->add_option("--name", f.name, "Assign a name to the container");
    c->add_option("-e,--env", f.env, "Set environment variables")->allow_extra_args(false);
    c->add_option("--env-file", f.env_files, "Read in a file of environment variables")->allow_extra_args(false);
    c->add_option("-w,--workdir", f.workdir, "Working directory inside the container");
    c->add_option("-u,--user", f.user, "Username or UID (format: <name|uid>[:<group|gid>])");
    c->add_option_function<std::string>(
        "--entrypoint",
        [&f](const std::string& v) {
            f.entrypoint = v;
            f.entrypoint_set = true;
        },
        "Overwrite the default ENTRYPOINT of the image");
    c->add_option("-v,--volume", f.volumes, "Bind mount a volume")->allow_extra_args(false);
    c->add_option("--mount", f.mounts, "Attach a filesystem mount to the container")->allow_extra_args(false);
    c->add_option("--tmpfs", f.tmpfs, "Mount a tmpfs directory")->allow_extra_args(false);
    c->add_option("-p,--publish", f.publish, "Publish a container's port(s) to the host")->allow_extra_args(false);
    c->add_option("--expose", f.expose, "Expose a port or a range of ports")->allow_extra_args(false);
    c->add_option("--network,--net", f.networks, "Connect a container to a network")->allow_extra_args(false);
    c->add_option("--network-alias,--net-alias", f.network_aliases, "Add network-scoped alias")->allow_extra_args(false);
    c->add_option("-h,--hostname", f.hostname, "Container host name");
    c->add_option("-m,--memory", f.memory, "Memory limit");
    c->add_option("--memory-swap", f.memory_swap, "Swap limit equal to memory plus swap: '-1' to enable unlimited swap");
    c->add_option("--cpus", f.cpus, "Number of CPUs");
    c->add_option("--pids-limit", f.pids_limit, "Tune container pids limit");
    c->add_option("--cap-add", f.cap_add, "Add Linux capabilities")->allow_extra_args(false);
    c->add_option("--cap-drop", f.cap_drop, "Drop Linux capabilities")->allow_extra_args(false);
    c->add_option("--security-opt", f.security_opt, "Security Options")->allow_extra_args(false);
    c->add_flag("--read-only", f.read_only, "Mount the container's root filesystem as read only");
    c->add_flag("--init", f.init, "Run an init inside the container that forwards signals and reaps processes");
    c->add_flag("--privileged", f.privileged, "Give extended privileges to this container (not supported)");
    c->add_option("--restart", f.restart, "Restart policy to apply when a container exits (only \"no\")");
    c->add_option("-l,--label", f.labels, "Set meta data on a container")->allow_extra_args(false);
    c->add_option("--add-host", f.add_hosts, "Add a custom host-to-IP mapping (host:ip)")->allow_extra_args(false);
    c->add_option("--dns", f.dns, "Set custom DNS servers")->allow_extra_args(false);
    c->add_option("--dns-search", f.dns_search, "Set custom DNS search domains")->allow_extra_args(false);
    c->add_option("--dns-option,--dns-opt", f.dns_options, "Set DNS options")->allow_extra_args(false);
    c->add_option("--ulimit", f.ulimits, "Ulimit options")->allow_extra_args(false);
    c->add_option("--sysctl", f.sysctls, "Sysctl options")->allow_extra_args(false);
    c->add_option("--group-add", f.group_add, "Add additional groups to join")->allow_extra_args(false);
    c->add_option("--device", f.devices, "Add a host device to the container (not supported)")->allow_extra_args(false);
    c->add_option("--stop-signal", f.stop_signal, "Signal to stop the container");
    c->add_option("--stop-timeout", f.stop_timeout, "Timeout (in seconds) to stop a container");
    c->add_option("--platform", f.platform, "Set platform if server is multi-platform capable");
    c->add_option("--pull", f.pull, "Pull image before running (\"always\", \"missing\", \"never\")");
    c->add_option("--cgroup-parent", f.cgroup_parent, "Optional parent cgroup for the container");
}

std::string quoted_command_line(int argc, char** argv) {
    std::string s = "ctl";
    for (int i = 1; i < argc; i++) s += " " + shell_word(argv[i]);
    return s;
}

// "network create", "rmi", "image rm": the subcommands the user named.
std::string verb_path(const CLI::App& app) {
    std::string path;
    const CLI::App* c = &app;
    while (!c->get_subcommands().empty()) {
        c = c->get_subcommands().front();
        path += (path.empty() ? "" : " ") + c->get_name();
    }
    return path;
}

// --explain runs only the verbs whose work is a Plan (lib/engine/plan.hpp):
// everything they change goes through Engine::execute, which in explain mode
// appends to the script instead. Every other verb is refused before it starts.
std::optional<std::string> no_plan_reason(const std::string& verb) {
    static const char* planned[] = {
        "pull", "push", "run", "create", "start", "stop", "restart", "kill", "rm", "exec", "pause", "unpause",
        "container rm", "container prune", "image pull", "image push", "tag", "image tag", "rmi", "image rm",
        "commit", "container commit", "save", "image save", "load", "image load", "import", "image import",
        "build", "image build", "cp",
        "network create", "network rm", "network connect", "network disconnect", "network prune",
        "volume create", "volume rm", "volume prune",
    };
    static const char* reads_only[] = {
        "ps", "images", "inspect", "logs", "attach", "wait", "top", "port", "history", "container ls",
        "container inspect", "image ls", "image inspect", "image history", "system df", "network ls",
        "network inspect", "volume ls", "volume inspect", "diff", "container diff", "export", "container export",
    };
    for (const char* v : planned)
        if (verb == v) return std::nullopt;
    for (const char* v : reads_only)
        if (verb == v) return "it only reads the store: nothing to explain";
    return "it changes the store directly, not through tool steps";
}

} // namespace

int main(int argc, char** argv) {
    // ns-run relays NOTIFY_SOCKET into a container and waits for its READY=1
    // (man ns-run.8): the containers ctl makes are not its caller's service
    // (a ctl in a Type=notify unit would wait for a READY=1 that never comes).
    ::unsetenv("NOTIFY_SOCKET");
    CLI::App app("ctl: containers the way docker makes them, by running the ctk tools (reg-fetch, img-unpack, "
                 "ns-run, net-bridge, vol-mount) over the store. --explain prints those tool invocations as a "
                 "shell script instead of running them.",
                 "ctl");
    app.set_help_flag("--help", "Print usage");
    app.set_version_flag("-v,--version", std::string("ctl ") + CTK_VERSION);
    app.require_subcommand(1);
    bool explain = false;
    app.add_flag("--explain", explain, "Print the tool pipeline as a shell script instead of running it");
    api::RemoteFlags remote;
    app.add_option("-H,--host", remote.host, "Send the command to a daemon (unix:///path or tcp://host:port; also CTK_HOST)");
    app.add_option("-c,--context", remote.context, "Send the command to a daemon named in the configuration (ctl.contexts)");
    app.add_flag("--tlsverify", remote.tls_verify, "Mutual TLS with the daemon");
    app.add_option("--tlscacert", remote.tls.ca, "CA certificate the daemon's certificate is signed by");
    app.add_option("--tlscert", remote.tls.cert, "Client certificate");
    app.add_option("--tlskey", remote.tls.key, "Client key");

    // ---- images
    std::string s1, s2, platform, output, input, message, format, type;
    std::vector<std::string> refs, changes, args;
    bool quiet = false, force = false, all = false, volumes = false;
    ListOptions lo;

    auto pull = app.add_subcommand("pull", "Download an image from a registry");
    pull->add_flag("-q,--quiet", quiet, "Suppress verbose output");
    pull->add_option("--platform", platform, "Set platform");
    pull->add_option("NAME", s1, "Image reference")->required();
    auto push = app.add_subcommand("push", "Upload an image to a registry");
    push->add_flag("-q,--quiet", quiet, "Suppress verbose output");
    push->add_option("NAME", s1, "Image reference")->required();
    auto images = app.add_subcommand("images", "List images");
    add_list_flags(images, lo);
    images->add_flag("--digests", lo.digests, "Show digests");
    images->add_option("REPOSITORY", s1, "Only images of this repository[:tag]");
    auto rmi = app.add_subcommand("rmi", "Remove one or more images");
    rmi->add_flag("-f,--force", force, "Force removal of the image");
    rmi->add_option("IMAGE", refs, "Images")->required();
    auto tag = app.add_subcommand("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE");
    tag->add_option("SOURCE", s1)->required();
    tag->add_option("TARGET", s2)->required();
    auto import = app.add_subcommand("import", "Import a root filesystem (tarball, - for stdin, or a directory) as an image");
    import->add_option("-c,--change", changes, "Apply Dockerfile instruction to the created image")->allow_extra_args(false);
    import->add_option("-m,--message", message, "Set commit message for imported image");
    import->add_option("--platform", platform, "Set platform");
    import->add_option("SOURCE", s1, "file|-|directory")->required();
    import->add_option("REPOSITORY", s2, "REPOSITORY[:TAG]");
    auto save = app.add_subcommand("save", "Save one or more images to a tar archive (docker-archive)");
    save->add_option("-o,--output", output, "Write to a file, instead of STDOUT");
    save->add_option("IMAGE", refs, "Images")->required();
    auto load = app.add_subcommand("load", "Load an image from a tar archive or STDIN");
    load->add_option("-i,--input", input, "Read from tar archive file, instead of STDIN");
    load->add_flag("-q,--quiet", quiet, "Suppress the load output");
    auto login = app.add_subcommand("login", "Log in to a registry (reg-fetch login)");
    login->prefix_command();
    auto logout = app.add_subcommand("logout", "Log out from a registry (reg-fetch logout)");
    logout->prefix_command();

    // ---- containers
    RunFlags rf;
    auto run = app.add_subcommand("run", "Create and run a new container from an image");
    add_run_flags(run, rf, true);
    auto create = app.add_subcommand("create", "Create a new container");
    add_run_flags(create, rf, false);
    bool attach_flag = false, interactive = false;
    auto start = app.add_subcommand("start", "Start one or more stopped containers");
    start->add_flag("-a,--attach", attach_flag, "Attach STDOUT/STDERR and forward signals");
    start->add_flag("-i,--interactive", interactive, "Attach container's STDIN");
    start->add_option("CONTAINER", refs)->required();
    std::optional<int> timeout;
    auto stop = app.add_subcommand("stop", "Stop one or more running containers");
    stop->add_option("-t,--time,--timeout", timeout, "Seconds to wait before killing the container");
    stop->add_option("CONTAINER", refs)->required();
    auto restart = app.add_subcommand("restart", "Restart one or more containers");
    restart->add_option("-t,--time,--timeout", timeout, "Seconds to wait before killing the container");
    restart->add_option("CONTAINER", refs)->required();
    std::string signal_name;
    auto kill = app.add_subcommand("kill", "Kill one or more running containers");
    kill->add_option("-s,--signal", signal_name, "Signal to send to the container");
    kill->add_option("CONTAINER", refs)->required();
    auto rm = app.add_subcommand("rm", "Remove one or more containers");
    rm->add_flag("-f,--force", force, "Force the removal of a running container (uses SIGKILL)");
    rm->add_flag("-v,--volumes", volumes, "Remove anonymous volumes associated with the container");
    rm->add_option("CONTAINER", refs)->required();
    auto ps = app.add_subcommand("ps", "List containers");
    add_list_flags(ps, lo);
    ps->add_flag("-l,--latest", lo.latest, "Show the latest created container");
    ps->add_option("-n,--last", lo.last, "Show n last created containers");
    ps->add_flag("-s,--size", lo.size, "Display total file sizes");
    LogOptions logo;
    std::string since, until;
    auto logs = app.add_subcommand("logs", "Fetch the logs of a container");
    logs->add_flag("-f,--follow", logo.follow, "Follow log output");
    logs->add_option("-n,--tail", logo.tail, "Number of lines to show from the end of the logs");
    logs->add_flag("-t,--timestamps", logo.timestamps, "Show timestamps");
    logs->add_option("--since", since, "Show logs since timestamp or relative (e.g. 42m)");
    logs->add_option("--until", until, "Show logs before a timestamp or relative");
    logs->add_option("CONTAINER", s1)->required();
    ExecRequest er;
    std::vector<std::string> env_files;
    auto exec = app.add_subcommand("exec", "Execute a command in a running container");
    exec->prefix_command();
    exec->add_flag("-i,--interactive", er.interactive, "Keep STDIN open");
    exec->add_flag("-t,--tty", er.tty, "Allocate a pseudo-TTY");
    exec->add_flag("-d,--detach", er.detach, "Detached mode: run command in the background");
    exec->add_option("-e,--env", er.env, "Set environment variables")->allow_extra_args(false);
    exec->add_option("--env-file", env_files, "Read in a file of environment variables")->allow_extra_args(false);
    exec->add_option("-u,--user", er.user, "Username or UID (format: <name|uid>[:<group|gid>])");
    exec->add_option("-w,--workdir", er.workdir, "Working directory inside the container");
    auto attach = app.add_subcommand("attach", "Follow a running container's output until it exits");
    attach->add_option("CONTAINER", s1)->required();
    auto pause = app.add_subcommand("pause", "Pause all processes within one or more containers");
    pause->add_option("CONTAINER", refs)->required();
    auto unpause = app.add_subcommand("unpause", "Unpause all processes within one or more containers");
    unpause->add_option("CONTAINER", refs)->required();
    auto wait = app.add_subcommand("wait", "Block until one or more containers stop, then print their exit codes");
    wait->add_option("CONTAINER", refs)->required();
    auto top = app.add_subcommand("top", "Display the running processes of a container");
    top->prefix_command();
    auto port = app.add_subcommand("port", "List port mappings or a specific mapping for the container");
    port->add_option("CONTAINER", s1)->required();
    port->add_option("PRIVATE_PORT", s2);
    auto rename = app.add_subcommand("rename", "Rename a container");
    rename->add_option("CONTAINER", s1)->required();
    rename->add_option("NEW_NAME", s2)->required();
    auto cp = app.add_subcommand("cp", "Copy files/folders between a container and the local filesystem");
    cp->add_option("SRC", s1)->required();
    cp->add_option("DEST", s2)->required();
    auto diff = app.add_subcommand("diff", "Inspect changes to files or directories on a container's filesystem");
    diff->add_option("CONTAINER", s1)->required();
    auto export_ = app.add_subcommand("export", "Export a container's filesystem as a tar archive");
    export_->add_option("-o,--output", output, "Write to a file, instead of STDOUT");
    export_->add_option("CONTAINER", s1)->required();
    auto inspect = app.add_subcommand("inspect", "Return low-level information on containers, images, networks, volumes");
    inspect->add_option("-f,--format", format, "Format output using a Go template, or json");
    inspect->add_option("--type", type, "Only this type: container, image, network, volume");
    inspect->add_option("NAME", refs)->required();

    // ---- management commands
    auto container = app.add_subcommand("container", "Manage containers");
    container->require_subcommand(1);
    auto c_ls = container->add_subcommand("ls", "List containers")->alias("ps")->alias("list");
    add_list_flags(c_ls, lo);
    auto c_inspect = container->add_subcommand("inspect", "Display detailed information on containers");
    c_inspect->add_option("-f,--format", format);
    c_inspect->add_option("CONTAINER", refs)->required();
    auto c_diff = container->add_subcommand("diff", "Inspect changes to files or directories on a container's filesystem");
    c_diff->add_option("CONTAINER", s1)->required();
    auto c_export = container->add_subcommand("export", "Export a container's filesystem as a tar archive");
    c_export->add_option("-o,--output", output, "Write to a file, instead of STDOUT");
    c_export->add_option("CONTAINER", s1)->required();
    auto c_prune = container->add_subcommand("prune", "Remove all stopped containers");
    c_prune->add_flag("-f,--force", force);
    auto c_rm = container->add_subcommand("rm", "Remove containers");
    c_rm->add_flag("-f,--force", force);
    c_rm->add_flag("-v,--volumes", volumes);
    c_rm->add_option("CONTAINER", refs)->required();

    auto image = app.add_subcommand("image", "Manage images");
    image->require_subcommand(1);
    auto build_cli = add_build_commands(app, image);
    auto i_ls = image->add_subcommand("ls", "List images")->alias("list");
    add_list_flags(i_ls, lo);
    i_ls->add_flag("--digests", lo.digests);
    i_ls->add_option("REPOSITORY", s1);
    auto i_inspect = image->add_subcommand("inspect", "Display detailed information on images");
    i_inspect->add_option("-f,--format", format);
    i_inspect->add_option("IMAGE", refs)->required();
    auto i_rm = image->add_subcommand("rm", "Remove images")->alias("rmi");
    i_rm->add_flag("-f,--force", force);
    i_rm->add_option("IMAGE", refs)->required();
    auto i_pull = image->add_subcommand("pull", "Download an image");
    i_pull->add_flag("-q,--quiet", quiet);
    i_pull->add_option("NAME", s1)->required();
    auto i_push = image->add_subcommand("push", "Upload an image");
    i_push->add_flag("-q,--quiet", quiet);
    i_push->add_option("NAME", s1)->required();
    auto i_tag = image->add_subcommand("tag", "Tag an image");
    i_tag->add_option("SOURCE", s1)->required();
    i_tag->add_option("TARGET", s2)->required();
    auto i_import = image->add_subcommand("import", "Import a root filesystem as an image");
    i_import->add_option("-c,--change", changes)->allow_extra_args(false);
    i_import->add_option("-m,--message", message);
    i_import->add_option("--platform", platform);
    i_import->add_option("SOURCE", s1)->required();
    i_import->add_option("REPOSITORY", s2);
    auto i_save = image->add_subcommand("save", "Save images to a tar archive");
    i_save->add_option("-o,--output", output);
    i_save->add_option("IMAGE", refs)->required();
    auto i_load = image->add_subcommand("load", "Load images from a tar archive");
    i_load->add_option("-i,--input", input);
    i_load->add_flag("-q,--quiet", quiet);

    auto i_prune = image->add_subcommand("prune", "Remove unused images");
    i_prune->add_flag("-a,--all", all, "Remove all unused images, not just dangling ones");
    i_prune->add_flag("-f,--force", force, "Do not prompt for confirmation (ctl never asks)");

    auto system = app.add_subcommand("system", "Manage the store");
    system->require_subcommand(1);
    bool verbose = false, prune_volumes = false;
    auto s_df = system->add_subcommand("df", "Show disk usage");
    s_df->add_flag("-v,--verbose", verbose, "Show detailed information on space usage");
    s_df->add_option("--format", format, "Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'");
    auto s_prune = system->add_subcommand("prune", "Remove unused data");
    s_prune->add_flag("-a,--all", all, "Remove all unused images not just dangling ones");
    s_prune->add_flag("--volumes", prune_volumes, "Prune anonymous volumes");
    s_prune->add_flag("-f,--force", force, "Do not prompt for confirmation (ctl never asks)");

    auto network = app.add_subcommand("network", "Manage networks (net-bridge)");
    network->require_subcommand(1);
    std::string ip;
    std::vector<std::string> aliases;
    NetworkCreateRequest ncr;
    auto n_create = network->add_subcommand("create", "Create a network");
    n_create->add_option("--subnet", ncr.subnet, "Subnet in CIDR format");
    n_create->add_option("--gateway", ncr.gateway, "IPv4 gateway for the subnet");
    n_create->add_option("-d,--driver", ncr.driver, "Driver to manage the Network (bridge)");
    n_create->add_flag("--internal", ncr.internal, "Restrict external access to the network");
    n_create->add_option("--label", ncr.labels, "Set metadata on a network")->allow_extra_args(false);
    n_create->add_option("-o,--opt", ncr.options, "Set driver specific options")->allow_extra_args(false);
    n_create->add_flag("--attachable", ncr.attachable, "Accepted for compatibility");
    n_create->add_option("NETWORK", ncr.name)->required();
    auto n_ls = network->add_subcommand("ls", "List networks")->alias("list");
    add_list_flags(n_ls, lo, false);
    auto n_inspect = network->add_subcommand("inspect", "Display detailed information on networks");
    n_inspect->add_option("-f,--format", format);
    n_inspect->add_option("NETWORK", refs)->required();
    auto n_rm = network->add_subcommand("rm", "Remove networks")->alias("remove");
    n_rm->add_option("NETWORK", refs)->required();
    auto n_connect = network->add_subcommand("connect", "Connect a container to a network");
    n_connect->add_option("--alias", aliases)->allow_extra_args(false);
    n_connect->add_option("--ip", ip);
    n_connect->add_option("NETWORK", s1)->required();
    n_connect->add_option("CONTAINER", s2)->required();
    auto n_disconnect = network->add_subcommand("disconnect", "Disconnect a container from a network");
    n_disconnect->add_flag("-f,--force", force);
    n_disconnect->add_option("NETWORK", s1)->required();
    n_disconnect->add_option("CONTAINER", s2)->required();
    auto n_prune = network->add_subcommand("prune", "Remove all unused networks");
    n_prune->add_flag("-f,--force", force);

    auto volume = app.add_subcommand("volume", "Manage volumes (vol-mount)");
    volume->require_subcommand(1);
    VolumeCreateRequest vcr;
    auto v_create = volume->add_subcommand("create", "Create a volume");
    v_create->add_option("-d,--driver", vcr.driver, "Volume driver name (local)");
    v_create->add_option("--label", vcr.labels)->allow_extra_args(false);
    v_create->add_option("-o,--opt", vcr.options)->allow_extra_args(false);
    v_create->add_option("VOLUME", vcr.name);
    auto v_ls = volume->add_subcommand("ls", "List volumes")->alias("list");
    add_list_flags(v_ls, lo, false);
    auto v_inspect = volume->add_subcommand("inspect", "Display detailed information on volumes");
    v_inspect->add_option("-f,--format", format);
    v_inspect->add_option("VOLUME", refs)->required();
    auto v_rm = volume->add_subcommand("rm", "Remove volumes")->alias("remove");
    v_rm->add_flag("-f,--force", force);
    v_rm->add_option("VOLUME", refs)->required();
    auto v_prune = volume->add_subcommand("prune", "Remove unused volumes");
    v_prune->add_flag("-f,--force", force);
    v_prune->add_flag("-a,--all", all, "Remove all unused volumes, not just anonymous ones");

    if (auto status = parse_command_line("ctl", app, argc, argv, exit_failed)) return *status;

    // run/create/exec/top/login: everything after the first positional belongs to the command
    auto rest_of = [](CLI::App* c) { return c->remaining(); };
    bool runlike = run->parsed() || create->parsed() || exec->parsed() || start->parsed() || attach->parsed();
    BuildCli& bc = *build_cli;

    // The command line as the verbs' requests, once for both faces.
    std::optional<api::RemoteTarget> target;
    try {
        finish_build_requests(bc);
        if (run->parsed() || create->parsed()) {
            CLI::App* c = run->parsed() ? run : create;
            auto rest = rest_of(c);
            if (rest.empty()) throw Error(std::string("\"") + c->get_name() + "\" requires at least 1 argument", ErrorKind::usage);
            rf.image = rest[0];
            rf.command.assign(rest.begin() + 1, rest.end());
        } else if (logs->parsed()) {
            int64_t now = now_ns();
            if (!since.empty() && !(logo.since_ns = parse_time_or_duration(since, now)))
                throw Error("invalid value for \"since\": " + since, ErrorKind::usage);
            if (!until.empty() && !(logo.until_ns = parse_time_or_duration(until, now)))
                throw Error("invalid value for \"until\": " + until, ErrorKind::usage);
        } else if (exec->parsed()) {
            auto rest = rest_of(exec);
            if (rest.size() < 2) throw Error("\"exec\" requires at least 2 arguments", ErrorKind::usage);
            s1 = rest[0];
            er.cmd.assign(rest.begin() + 1, rest.end());
            std::vector<std::string> env;
            for (const auto& f : env_files)
                for (const auto& kv : read_env_file(f)) env.push_back(kv);
            for (const auto& e : er.env) {
                if (e.find('=') != std::string::npos) env.push_back(e);
                else if (const char* v = std::getenv(e.c_str())) env.push_back(e + "=" + v);
            }
            er.env = env;
        } else if (top->parsed()) {
            auto rest = rest_of(top);
            if (rest.empty()) throw Error("\"top\" requires at least 1 argument", ErrorKind::usage);
            s1 = rest[0];
            args.assign(rest.begin() + 1, rest.end());
        }
        // -H, --context, CTK_HOST: the verbs go to a daemon instead (lib/api/remote.hpp)
        target = api::remote_target(remote);
        if (target && explain) throw Error("--explain prints the local tool pipeline; it does not go with a daemon", ErrorKind::usage);
    } catch (const Error& e) {
        report_error("ctl", e.what());
        return exit_failed;
    }

    // --explain: only a verb whose work is a plan runs, in a view where the
    // store cannot be written, and its stdout is the script alone.
    FILE* verb_out = stdout;
    if (explain) {
        std::string verb = verb_path(app);
        if (auto why = no_plan_reason(verb)) {
            report_error("ctl", "--explain: " + verb + " has no plan (" + *why + ")");
            return exit_failed;
        }
        try {
            store::Paths p = store::Paths::from_env();
            read_only_view({p.root, p.run});
        } catch (const Error& e) {
            report_error("ctl", std::string("--explain: ") + e.what());
            return exit_failed;
        }
        verb_out = std::fopen("/dev/null", "we");
        if (!verb_out) {
            report_error("ctl", "--explain: open /dev/null: " + std::string(std::strerror(errno)));
            return exit_failed;
        }
    }

    // The face: the daemon's (api::Remote) or this machine's (engine::Commands).
    std::optional<Engine> engine;
    Plan explained;
    std::unique_ptr<Backend> backend;
    if (target) {
        backend = api::remote_backend(*target);
    } else {
        engine.emplace(store::Paths::from_env());
        explained = engine->new_plan(quoted_command_line(argc, argv));
        if (explain) engine->explain_into(&explained);
        engine->set_message_sink([](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); });
        ExecOptions eo;
        eo.before_step = [](const Step& s) {
            if (g_signal.load() && !s.may_fail && s.kind != Step::Kind::remove_container)
                throw Error("interrupted by signal " + std::to_string(g_signal.load()));
        };
        eo.on_foreground = [](pid_t pid) { g_child.store(pid); };
        engine->set_exec_options(eo);
        install_signals();
        auto local = std::make_unique<Commands>(*engine, verb_out, stderr);
        local->set_builder(build_locally);
        backend = std::move(local);
    }
    Backend& b = *backend;

    int status = 0;
    try {
        if (pull->parsed() || i_pull->parsed()) b.pull(s1, quiet);
        else if (push->parsed() || i_push->parsed()) b.push(s1, quiet);
        else if (images->parsed() || i_ls->parsed()) b.images(lo, s1);
        else if (bc.history->parsed() || bc.i_history->parsed()) b.history(bc.history_request);
        else if (rmi->parsed() || i_rm->parsed()) b.rmi(refs, force);
        else if (tag->parsed() || i_tag->parsed()) b.tag(s1, s2);
        else if (import->parsed() || i_import->parsed()) b.import(s1, s2, changes, message, platform);
        else if (save->parsed() || i_save->parsed()) b.save(refs, output);
        else if (load->parsed() || i_load->parsed()) b.load(input, quiet);
        else if (bc.commit->parsed()) b.commit(bc.commit_options);
        else if (bc.build->parsed() || bc.i_build->parsed()) status = b.build(bc.build_request);
        else if (login->parsed()) status = b.login(rest_of(login));
        else if (logout->parsed()) status = b.logout(rest_of(logout));
        else if (run->parsed()) status = b.run(rf);
        else if (create->parsed()) b.create(rf);
        else if (start->parsed()) status = b.start(refs, attach_flag, interactive);
        else if (stop->parsed()) b.stop(refs, timeout);
        else if (restart->parsed()) b.restart(refs, timeout);
        else if (kill->parsed()) b.kill(refs, signal_name);
        else if (rm->parsed() || c_rm->parsed()) b.rm(refs, force, volumes);
        else if (ps->parsed() || c_ls->parsed()) b.ps(lo);
        else if (logs->parsed()) b.logs(s1, logo);
        else if (exec->parsed()) status = b.exec(s1, er);
        else if (attach->parsed()) status = b.attach(s1);
        else if (pause->parsed()) b.pause(refs);
        else if (unpause->parsed()) b.unpause(refs);
        else if (wait->parsed()) status = b.wait(refs);
        else if (top->parsed()) b.top(s1, args);
        else if (port->parsed()) b.port(s1, s2);
        else if (rename->parsed()) b.rename(s1, s2);
        else if (cp->parsed()) b.cp(s1, s2);
        else if (diff->parsed() || c_diff->parsed()) b.diff(s1);
        else if (export_->parsed() || c_export->parsed()) b.export_container(s1, output);
        else if (inspect->parsed()) b.inspect(refs, format, type);
        else if (c_inspect->parsed()) b.inspect(refs, format, "container");
        else if (c_prune->parsed()) b.container_prune(force);
        else if (i_inspect->parsed()) b.inspect(refs, format, "image");
        else if (i_prune->parsed()) b.image_prune(all);
        else if (s_df->parsed()) b.system_df(verbose, format);
        else if (s_prune->parsed()) b.system_prune(all, prune_volumes);
        else if (n_create->parsed()) b.network_create(ncr);
        else if (n_ls->parsed()) b.network_ls(lo);
        else if (n_inspect->parsed()) b.network_inspect(refs, format);
        else if (n_rm->parsed()) b.network_rm(refs);
        else if (n_connect->parsed()) b.network_connect(s1, s2, aliases, ip);
        else if (n_disconnect->parsed()) b.network_disconnect(s1, s2, force);
        else if (n_prune->parsed()) b.network_prune(force);
        else if (v_create->parsed()) b.volume_create(vcr);
        else if (v_ls->parsed()) b.volume_ls(lo);
        else if (v_inspect->parsed()) b.volume_inspect(refs, format);
        else if (v_rm->parsed()) b.volume_rm(refs, force);
        else if (v_prune->parsed()) b.volume_prune(force, all);
    } catch (const Error& e) {
        std::fflush(stdout);
        report_error("ctl", e.what());
        return failed_status(e, runlike);
    } catch (const std::exception& e) {
        report_error("ctl", std::string("internal error: ") + e.what());
        return exit_failed;
    }
    if (explain) {
        std::string script = render_script(explained);
        if (explained.steps.empty()) script += "# (nothing to do: the store is already as this verb would leave it)\n";
        std::fwrite(script.data(), 1, script.size(), stdout);
        std::fflush(stdout);
        return 0;
    }
    std::fflush(stdout);
    return status;
}
