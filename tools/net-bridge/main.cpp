// net-bridge: the network object. Bridge networks over netlink; a CNI 1.0
// plugin when CNI_COMMAND is set.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <iterator>

#include "core/cli.hpp"
#include "core/strings.hpp"
#include "network/bridge.hpp"
#include "network/cni.hpp"
#include "network/dns.hpp"
#include "network/firewall.hpp"

using namespace ctk;
using namespace ctk::network;

static int cni_main() {
    std::map<std::string, std::string> env;
    for (const char* k : {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"})
        if (const char* v = std::getenv(k)) env[k] = v;
    std::string input;
    if (env["CNI_COMMAND"] != "VERSION")
        input.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    CniOutcome out = run_cni(env, input);
    if (!out.output.is_null()) {
        std::string text = out.output.dump() + "\n";
        std::fwrite(text.data(), 1, text.size(), stdout);
    }
    return out.exit_code;
}

int main(int argc, char** argv) {
    if (const char* c = std::getenv("CNI_COMMAND"); c && *c) return cni_main();

    CLI::App app{"net-bridge: bridge networks over netlink (and a CNI plugin when CNI_COMMAND is set)"};
    app.set_version_flag("--version", std::string("net-bridge ") + CTK_VERSION);
    app.require_subcommand(1);

    CreateRequest create;
    std::vector<std::string> labels;
    bool no_masquerade = false;
    auto* c = app.add_subcommand("create", "create a network (its bridge, gateway address and rules)");
    c->add_option("name", create.name, "network name")->required();
    c->add_option("--subnet", create.subnet, "IPv4 subnet, e.g. 10.200.1.0/24");
    c->add_option("--gateway", create.gateway, "gateway address (default: the first host of the subnet)");
    c->add_option("--bridge", create.bridge, "bridge device name (default: ctk-<id>)");
    c->add_option("--mtu", create.mtu, "MTU of the bridge and the veth pairs (default 1500)");
    c->add_flag("--internal", create.internal, "no traffic to or from outside the network");
    c->add_flag("--no-masquerade", no_masquerade, "no outbound NAT");
    c->add_option("--label", labels, "label k=v (repeatable)");

    auto* ls = app.add_subcommand("ls", "list networks, one JSON object a line");
    std::string name;
    auto* inspect = app.add_subcommand("inspect", "print a network as JSON");
    inspect->add_option("name", name, "network name")->required();
    auto* rm = app.add_subcommand("rm", "remove a network (refused while an endpoint uses it)");
    std::vector<std::string> rm_names;
    rm->add_option("name", rm_names, "network names")->required();
    auto* prune = app.add_subcommand("prune", "remove every network without endpoints (not the default)");
    auto* gc = app.add_subcommand("gc", "delete the nftables rules of networks whose bridge is gone");

    AttachRequest at;
    std::string ifname, ip, mac;
    std::vector<std::string> publish;
    auto* attach_cmd = app.add_subcommand("attach", "connect a network namespace; prints a CNI result");
    attach_cmd->add_option("network", at.network, "network name (default: bridge)");
    auto* at_ns = attach_cmd->add_option("--netns", at.netns, "network namespace path");
    auto* at_pid = attach_cmd->add_option("--pid", at.pid, "a process whose network namespace to use");
    at_ns->excludes(at_pid);
    attach_cmd->add_option("--ifname", ifname, "interface name inside (default: the first free ethN)");
    attach_cmd->add_option("--ip", ip, "address to take (default: the lowest free)");
    attach_cmd->add_option("--mac", mac, "MAC address of the interface inside");
    attach_cmd->add_option("--id", at.container_id, "container id");
    attach_cmd->add_option("--name", at.name, "container name (resolvable on user networks)");
    attach_cmd->add_option("--alias", at.aliases, "another name (repeatable)");
    attach_cmd->add_option("--publish,-p", publish, "[HOSTIP:]HOSTPORT:PORT[/tcp|udp] (repeatable)");

    DetachRequest de;
    auto* detach_cmd = app.add_subcommand("detach", "undo an attach");
    detach_cmd->add_option("network", de.network, "network name (default: bridge)");
    auto* de_ns = detach_cmd->add_option("--netns", de.netns, "network namespace path");
    auto* de_pid = detach_cmd->add_option("--pid", de.pid, "a process whose network namespace to use");
    de_ns->excludes(de_pid);
    detach_cmd->add_option("--id", de.container_id, "container id");

    ResponderOptions responder;
    auto* dns_cmd = app.add_subcommand("_dns-responder", "");
    dns_cmd->group("");
    dns_cmd->add_option("--network-file", responder.network_file)->required();
    dns_cmd->add_option("--upstream", responder.upstreams);

    return cli_main("net-bridge", app, argc, argv, [&]() -> int {
        NetworkStore store(store::Paths::from_env());
        if (*c) {
            create.masquerade = !no_masquerade;
            for (const auto& l : labels) {
                auto kv = split_once(l, '=');
                if (!kv) throw Error("--label " + quote(l) + ": expected KEY=VALUE", ErrorKind::usage);
                create.labels[kv->first] = kv->second;
            }
            print_json(inspect_json(store, create_network(store, create)));
        } else if (*ls) {
            for (const auto& n : store.list()) {
                Json j = to_json(n);
                j["endpoints"] = n.endpoints.size();
                std::string line = dump_compact(j) + "\n";
                std::fwrite(line.data(), 1, line.size(), stdout);
            }
        } else if (*inspect) {
            if (name == default_network_name && !store.exists(name)) {
                auto lock = store.lock();
                Network n = store.load_or_make_default(NetworkConfig::load());
                ensure_bridge(n);
                store.save(n);
            }
            print_json(inspect_json(store, store.load(name)));
        } else if (*rm) {
            Json removed = Json::array();
            for (const auto& n : rm_names) {
                remove_network(store, n);
                removed.push_back(n);
            }
            print_json(Json{{"removed", removed}});
        } else if (*prune) {
            print_json(Json{{"removed", prune_networks(store)}});
        } else if (*gc) {
            print_json(Json{{"rules_deleted", collect_rules()}});
        } else if (*attach_cmd) {
            if (!ifname.empty()) at.ifname = ifname;
            if (!ip.empty()) at.ip = ip;
            if (!mac.empty()) at.mac = mac;
            for (const auto& p : publish) at.ports.push_back(PortMapping::parse(p));
            AttachResult r = attach(store, NetworkConfig::load(), at);
            Json out = r.cni;
            Json ports = Json::array();
            for (const auto& p : r.endpoint.ports) ports.push_back(p.str());
            out["ctk"] = Json{{"network", r.network.name},     {"network_id", r.network.id},
                              {"endpoint", r.endpoint.id},     {"container_id", r.endpoint.container_id},
                              {"resolv_conf", r.endpoint.resolv_conf}, {"hosts", r.endpoint.hosts},
                              {"ports", ports}};
            print_json(out);
        } else if (*detach_cmd) {
            Endpoint e = detach(store, de);
            print_json(Json{{"network", de.network},
                            {"endpoint", e.id},
                            {"container_id", e.container_id},
                            {"netns", e.netns},
                            {"ifname", e.ifname},
                            {"address", format_address(e.address)}});
        } else if (*dns_cmd) {
            return run_dns_responder(responder);
        }
        return 0;
    });
}
