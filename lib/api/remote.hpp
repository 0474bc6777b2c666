// ctl as a client: `ctl -H unix://…|tcp://…` (or CTK_HOST, or a named
// context of the configuration file) sends ctl's verbs to a daemon — ctld,
// or any Docker Engine API 1.41 — instead of running the tools itself, and
// prints what ctl prints locally: ctl parses its command line once and calls
// the same engine::Backend interface on either face. One ctl addresses any number of daemons,
// one per invocation.
//
// Configuration (CTK_CONFIG, section "ctl"):
//   {"ctl": {"context": "lab",
//            "contexts": {"lab":  {"host": "tcp://127.0.0.1:2376", "tlscacert": "…", "tlscert": "…", "tlskey": "…"},
//                         "here": {"host": "unix:///run/ctk/ctld.sock"}}}}
// Precedence: -H, then --context, then CTK_HOST, then CTK_CONTEXT, then the
// section's "context"; with none of them ctl works locally.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "api/transport.hpp"
#include "engine/backend.hpp"

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

// ctl's verbs against the daemon (engine/backend.hpp): the face ctl calls
// instead of engine::Commands. Each verb throws ctk::Error as the local face
// does (the daemon's refusal as its message).
std::unique_ptr<engine::Backend> remote_backend(const RemoteTarget& target);

} // namespace ctk::api
