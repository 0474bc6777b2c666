// ctld: the Docker Engine API over the ctk store, for the docker CLI,
// docker-compose and `ctl -H`. Argument parsing only; the daemon is lib/api.
#include <signal.h>
#include <stdlib.h>

#include <cstring>

#include <CLI/CLI.hpp>

#include "api/daemon.hpp"
#include "api/shim.hpp"
#include "core/cli.hpp"
#include "core/error.hpp"
#include "core/strings.hpp"
#include "store/paths.hpp"

using namespace ctk;

int main(int argc, char** argv) {
    // The stdio keeper of a container (lib/api/shim.hpp) is this binary re-executed.
    if (argc > 1 && std::strcmp(argv[1], "--shim") == 0) return api::shim_main(argc, argv);
    // The stop signals are read from a signalfd by the accept loop: blocked
    // here, before any thread exists, so that every thread inherits the mask
    // (one that did not would take SIGTERM's default action: exit 143, the
    // socket left behind). Children get a clean mask (core/process SpawnAttr).
    sigset_t stop;
    sigemptyset(&stop);
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&stop, sig);
    ::pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    CLI::App app("ctld: the Docker Engine API (1.41) over the ctk store; the docker CLI, docker-compose and "
                 "ctl -H drive it. Containers are made by the same tools ctl runs (img-unpack, net-bridge, "
                 "vol-mount, ns-run) and keep running when ctld stops.",
                 "ctld");
    app.set_help_flag("--help", "Print usage");
    app.set_version_flag("-v,--version", std::string("ctld ") + CTK_VERSION);
    api::DaemonOptions o;
    std::vector<std::string> pools;
    app.add_option("-H,--host", o.hosts, "Listen on unix:///path, tcp://ADDR:PORT or fd://[NAME] (sockets from systemd) (repeatable; default unix://$CTK_RUN/ctld.sock, or the sockets systemd passed)")
        ->allow_extra_args(false);
    app.add_flag("--tlsverify", o.tls_verify, "Mutual TLS on TCP: clients need a certificate signed by --tlscacert");
    app.add_option("--tlscacert", o.tls.ca, "CA certificate (PEM) that client certificates must be signed by");
    app.add_option("--tlscert", o.tls.cert, "The daemon's certificate (PEM)");
    app.add_option("--tlskey", o.tls.key, "The daemon's private key (PEM)");
    app.add_flag("--insecure-tcp", o.insecure_tcp, "Allow plain TCP without TLS, on a loopback address only");
    auto group = app.add_option("-G,--group", o.group, "Group owning the UNIX socket (mode 0660; default ctk if it exists)");
    app.add_flag("-D,--debug", o.debug, "Log every request");
    app.add_option("--default-address-pool", pools,
                   "Subnets for networks created without one: base=CIDR,size=N (repeatable)")
        ->allow_extra_args(false);
    return cli_main("ctld", app, argc, argv, [&] {
        o.group_given = group->count() > 0;
        for (const auto& p : pools) {
            std::string base;
            int size = 24;
            for (const auto& kv : split(p, ',')) {
                auto e = split_once(kv, '=');
                if (!e) throw Error("--default-address-pool " + quote(p) + ": expected base=CIDR,size=N", ErrorKind::usage);
                if (e->first == "base") base = e->second;
                else if (e->first == "size") size = std::atoi(e->second.c_str());
                else throw Error("--default-address-pool: unknown key " + quote(e->first), ErrorKind::usage);
            }
            if (base.empty() || size < 8 || size > 30)
                throw Error("--default-address-pool " + quote(p) + ": expected base=CIDR,size=8..30", ErrorKind::usage);
            o.address_pools.emplace_back(base, size);
        }
        store::Paths paths = store::Paths::from_env();
        // The tools ctld runs find the same store, whatever their defaults.
        ::setenv("CTK_ROOT", paths.root.c_str(), 1);
        ::setenv("CTK_RUN", paths.run.c_str(), 1);
        ::signal(SIGPIPE, SIG_IGN);
        api::Daemon d(paths, o);
        return d.run();
    });
}
