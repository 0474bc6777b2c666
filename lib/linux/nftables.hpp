// nftables over netlink (libnftnl + libmnl): tables, base chains, a set of
// interface names, and rules built from a few expressions, sent as one atomic
// batch. What `nft -f` does for the handful of statements ctk needs, without
// the process.
//
// Rules carry a comment (the rule's user data, as `nft ... comment "x"`
// writes it), which is how their owner finds them again to delete them:
// handles are the kernel's, comments are ours.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct nftnl_rule;
struct nlmsghdr;

namespace ctk::linux::nft {

enum class Hook { prerouting, input, forward, output, postrouting };

struct BaseChain {
    std::string name;
    std::string type; // "filter" or "nat"
    Hook hook;
    int priority;
};

// conntrack state bits as nft's `ct state` uses them.
inline constexpr uint32_t ct_established = 1u << 1;
inline constexpr uint32_t ct_related = 1u << 2;
inline constexpr uint32_t ct_status_dnat = 1u << 5; // IPS_DST_NAT

// One rule, built left to right like nft's syntax:
//   Rule("forward").iifname("ctk0").oifname("ctk0", false).accept()
class Rule {
public:
    explicit Rule(std::string chain);
    Rule(Rule&&) noexcept;
    Rule& operator=(Rule&&) noexcept;
    ~Rule();

    Rule& iifname(const std::string& name, bool equal = true);
    Rule& oifname(const std::string& name, bool equal = true);
    Rule& iifname_in(const std::string& set);
    Rule& oifname_in(const std::string& set);
    Rule& saddr(in_addr_t addr, int prefix_length, bool equal = true);
    Rule& daddr(in_addr_t addr, int prefix_length, bool equal = true);
    Rule& daddr_local(); // fib daddr type local
    Rule& l4proto(uint8_t proto);
    Rule& dport(uint16_t port); // after l4proto()
    Rule& ct_state(uint32_t mask);
    Rule& ct_status(uint32_t mask);
    Rule& accept();
    Rule& drop();
    Rule& masquerade();
    Rule& notrack();
    Rule& dnat(in_addr_t addr, uint16_t port);
    Rule& comment(const std::string& text);

    const std::string& chain() const noexcept { return chain_; }
    nftnl_rule* get() const noexcept { return rule_; }

private:
    void meta(uint32_t key);
    void payload_addr(uint32_t offset, in_addr_t addr, int prefix_length, bool equal);
    std::string chain_;
    nftnl_rule* rule_ = nullptr;
};

// A rule as the kernel lists it.
struct RuleRef {
    std::string chain;
    uint64_t handle = 0;
    std::string comment;
};

// Messages collected and committed as one transaction: all or nothing.
class Batch {
public:
    Batch(std::string table);
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

    void add_table();
    void delete_table();
    void add_chain(const BaseChain& chain);
    // A set of interface names (nft type ifname).
    void add_ifname_set(const std::string& name);
    void add_ifname_element(const std::string& set, const std::string& ifname);
    void delete_ifname_element(const std::string& set, const std::string& ifname);
    void add_rule(const Rule& rule);
    void delete_rule(const std::string& chain, uint64_t handle);
    bool empty() const noexcept { return count_ == 0; }
    // Sends the transaction; throws with the kernel's errno naming the step that failed.
    void commit();

private:
    // The next message's header (room made for it in the buffer); `what`
    // names it in an error. end_message counts the payload built after it.
    nlmsghdr* begin_message(uint16_t type, uint16_t flags, std::string what);
    void end_message(nlmsghdr* nlh);
    void table_message(uint16_t type, uint16_t flags, std::string what);
    void set_element_message(uint16_t type, uint16_t flags, const std::string& set, const std::string& ifname,
                             std::string what);
    void make_room();
    std::string table_;
    std::vector<char> buf_;
    size_t used_ = 0;
    uint32_t seq_base_ = 0;
    uint32_t count_ = 0;
    std::vector<std::string> what_;
};

// The rules of `table` (family ip); empty when the table does not exist.
std::vector<RuleRef> list_rules(const std::string& table);
bool table_exists(const std::string& table);

} // namespace ctk::linux::nft
