// ctl as a client: `ctl -H unix://…|tcp://…` (or CTK_HOST, or a named
// context of the configuration file) sends ctl's verbs to a daemon — ctld,
// or any Docker Engine API 1.41 — instead of running the tools itself, and
// prints what ctl prints locally. One ctl addresses any number of daemons,
// one per invocation.
//
// Configuration (CTK_CONFIG, section "ctl"):
//   {"ctl": {"context": "lab",
//            "contexts": {"lab":  {"host": "tcp://127.0.0.1:2376", "tlscacert": "…", "tlscert": "…", "tlskey": "…"},
//                         "here": {"host": "unix:///run/ctk/ctld.sock"}}}}
// Precedence: -H, then --context, then CTK_HOST, then CTK_CONTEXT, then the
// section's "context"; with none of them ctl works locally.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "api/transport.hpp"
#include "engine/commands.hpp"
#include "engine/container_spec.hpp"

namespace ctk::api {

struct RemoteTarget {
    std::string host;
    std::optional<TlsFiles> tls;
};

struct RemoteFlags {
    std::string host, context;
    bool tls_verify = false;
    TlsFiles tls;
};

// The daemon to talk to, or nullopt for local work. Throws ErrorKind::usage
// for an unknown context or incomplete TLS options.
std::optional<RemoteTarget> remote_target(const RemoteFlags& flags);

// Runs the command line ctl parsed (`app`, with the values bound to `rf`,
// `lo`, `logo`, `er`) against the daemon. Returns ctl's exit status; errors
// are reported as ctl reports them.
int remote_main(CLI::App& app, const RemoteTarget& target, const engine::RunFlags& rf, const engine::ListOptions& lo,
                const engine::LogOptions& logo, const engine::ExecRequest& er);

} // namespace ctk::api
