#include <gtest/gtest.h>

#include "network/cni.hpp"
#include "network/dns.hpp"

using namespace ctk;
using namespace ctk::network;

namespace {

// A query as a stub resolver sends it: id 0x1234, RD, one question.
std::string query(const std::string& name, uint16_t type) {
    std::string q = {'\x12', '\x34', '\x01', '\x00', 0, 1, 0, 0, 0, 0, 0, 0};
    size_t start = 0;
    while (start <= name.size()) {
        size_t dot = name.find('.', start);
        if (dot == std::string::npos) dot = name.size();
        q += static_cast<char>(dot - start);
        q += name.substr(start, dot - start);
        start = dot + 1;
    }
    q += '\0';
    q += static_cast<char>(type >> 8);
    q += static_cast<char>(type & 0xff);
    q += std::string("\0\1", 2);
    return q;
}

Network with_endpoints() {
    Network n;
    n.name = "front";
    n.id = std::string(64, 'a');
    n.subnet = Subnet::parse("10.200.1.0/24");
    n.gateway = parse_address("10.200.1.1");
    Endpoint e;
    e.name = "Web1";
    e.aliases = {"www"};
    e.container_id = "0123456789abcdef0123";
    e.address = parse_address("10.200.1.2");
    n.endpoints.push_back(e);
    Endpoint f;
    f.name = "db";
    f.aliases = {"www"};
    f.address = parse_address("10.200.1.3");
    n.endpoints.push_back(f);
    return n;
}

} // namespace

TEST(Dns, ParsesAQuery) {
    auto q = parse_dns_query(query("Web1.Example", dns_type_a));
    ASSERT_TRUE(q);
    EXPECT_EQ(q->id, 0x1234);
    EXPECT_EQ(q->name, "web1.example");
    EXPECT_EQ(q->type, dns_type_a);
    EXPECT_EQ(q->klass, dns_class_in);
    EXPECT_FALSE(parse_dns_query("short"));
    std::string response = query("x", 1);
    response[2] = '\x81';
    EXPECT_FALSE(parse_dns_query(response));
    std::string truncated = query("abc", 1);
    truncated.resize(14);
    EXPECT_FALSE(parse_dns_query(truncated));
}

TEST(Dns, AnswersWithARecords) {
    std::string q = query("web1", dns_type_a);
    auto parsed = parse_dns_query(q);
    ASSERT_TRUE(parsed);
    std::string a = dns_answer(q, *parsed, {parse_address("10.200.1.2")});
    ASSERT_EQ(a.size(), q.size() + 16);
    EXPECT_EQ(a.substr(0, 2), q.substr(0, 2));                 // same id
    EXPECT_EQ(static_cast<unsigned char>(a[2]) & 0x80, 0x80);  // a response
    EXPECT_EQ(a[7], 1);                                        // one answer
    EXPECT_EQ(a.substr(a.size() - 4), std::string("\x0a\xc8\x01\x02", 4));
    std::string fail = dns_answer(q, *parsed, {}, dns_rcode_servfail);
    EXPECT_EQ(fail[3] & 0xf, dns_rcode_servfail);
    EXPECT_EQ(fail[7], 0);
}

TEST(Dns, ResolvesNamesAliasesAndIds) {
    Network n = with_endpoints();
    EXPECT_EQ(resolve_name(n, "web1"), std::vector<uint32_t>{parse_address("10.200.1.2")});
    EXPECT_EQ(resolve_name(n, "WEB1."), std::vector<uint32_t>{parse_address("10.200.1.2")});
    EXPECT_EQ(resolve_name(n, "0123456789ab"), std::vector<uint32_t>{parse_address("10.200.1.2")});
    EXPECT_EQ(resolve_name(n, "www").size(), 2u); // an alias on two endpoints: both, as Docker
    EXPECT_TRUE(resolve_name(n, "nobody").empty());
    EXPECT_TRUE(resolve_name(n, "").empty());
}

TEST(Dns, ResolvConfPointsAtTheResponderOnUserNetworks) {
    Network n = with_endpoints();
    n.source = "ctk";
    NetworkConfig config;
    config.dns = {"10.209.0.53"};
    ResolvConf user = resolv_conf_for(n, config);
    EXPECT_EQ(user.nameservers, std::vector<std::string>{"10.200.1.1"});
    EXPECT_EQ(user.text().find("nameserver 10.200.1.1\n") != std::string::npos, true);
    n.name = default_network_name;
    EXPECT_EQ(resolv_conf_for(n, config).nameservers, config.dns);
    n.internal = true;
    EXPECT_TRUE(resolv_conf_for(n, config).nameservers.empty());
    std::string hosts = hosts_file_for(n, n.endpoints[0]);
    EXPECT_NE(hosts.find("127.0.0.1\tlocalhost\n"), std::string::npos);
    EXPECT_NE(hosts.find("10.200.1.2\tWeb1 0123456789ab\n"), std::string::npos);
}

TEST(CniMode, VersionAndErrors) {
    auto v = run_cni({{"CNI_COMMAND", "VERSION"}}, "");
    EXPECT_EQ(v.exit_code, 0);
    EXPECT_EQ(v.output["cniVersion"], "1.0.0");
    auto none = run_cni({}, "");
    EXPECT_EQ(none.exit_code, 1);
    EXPECT_EQ(none.output["code"], 4);
    auto decode = run_cni({{"CNI_COMMAND", "ADD"}, {"CNI_CONTAINERID", "x"}}, "[");
    EXPECT_EQ(decode.output["code"], 6);
    auto nosubnet = run_cni({{"CNI_COMMAND", "ADD"}, {"CNI_CONTAINERID", "x"}},
                            R"({"cniVersion":"1.0.0","name":"n","ipam":{}})");
    EXPECT_EQ(nosubnet.output["code"], 7);
    EXPECT_EQ(nosubnet.output["msg"], "network configuration: ipam.subnet (or ipam.ranges) is required");
    auto badcidr = run_cni({{"CNI_COMMAND", "ADD"}, {"CNI_CONTAINERID", "x"}},
                           R"({"cniVersion":"0.4.0","name":"n","ipam":{"ranges":[[{"subnet":"10.1.1.1/24"}]]}})");
    EXPECT_EQ(badcidr.output["code"], 7);
    EXPECT_EQ(badcidr.output["cniVersion"], "0.4.0");
}
