#include "linux/nftables.hpp"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <time.h>

#include <cstring>
#include <utility>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "core/error.hpp"

// libmnl 1.0.4 has no MNL_SOCKET_DUMP_SIZE; a dump reply fits in 32 KiB.
static constexpr size_t dump_buffer_size = 32768;

namespace ctk::linux::nft {

namespace {

// nftables' datatype number for interface names (nft's TYPE_IFNAME), so that
// `nft list` prints the set's elements as names.
constexpr uint32_t nft_type_ifname = 41;
constexpr uint32_t nft_byteorder_host = 1; // nft's BYTEORDER_HOST_ENDIAN

nftnl_expr* expr(const char* name) {
    nftnl_expr* e = nftnl_expr_alloc(name);
    if (!e) throw std::bad_alloc();
    return e;
}

std::string padded_ifname(const std::string& name) {
    if (name.empty() || name.size() >= IFNAMSIZ) throw_invalid(quote(name) + " is not an interface name");
    std::string out = name;
    out.resize(IFNAMSIZ, '\0');
    return out;
}

class Socket {
public:
    Socket() {
        sock_ = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!sock_) throw_errno("open nftables netlink socket");
        if (mnl_socket_bind(sock_, 0, MNL_SOCKET_AUTOPID) < 0) {
            int err = errno;
            mnl_socket_close(sock_);
            throw_errno("bind nftables netlink socket", err);
        }
    }
    ~Socket() { mnl_socket_close(sock_); }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    mnl_socket* get() const { return sock_; }
    uint32_t port() const { return mnl_socket_get_portid(sock_); }

private:
    mnl_socket* sock_;
};

uint32_t hook_number(Hook h) {
    switch (h) {
    case Hook::prerouting: return NF_INET_PRE_ROUTING;
    case Hook::input: return NF_INET_LOCAL_IN;
    case Hook::forward: return NF_INET_FORWARD;
    case Hook::output: return NF_INET_LOCAL_OUT;
    case Hook::postrouting: return NF_INET_POST_ROUTING;
    }
    return NF_INET_FORWARD;
}

} // namespace

// --- rules ----------------------------------------------------------------------

Rule::Rule(std::string chain) : chain_(std::move(chain)), rule_(nftnl_rule_alloc()) {
    if (!rule_) throw std::bad_alloc();
}

Rule::Rule(Rule&& o) noexcept : chain_(std::move(o.chain_)), rule_(std::exchange(o.rule_, nullptr)) {}

Rule& Rule::operator=(Rule&& o) noexcept {
    if (this != &o) {
        if (rule_) nftnl_rule_free(rule_);
        chain_ = std::move(o.chain_);
        rule_ = std::exchange(o.rule_, nullptr);
    }
    return *this;
}

Rule::~Rule() {
    if (rule_) nftnl_rule_free(rule_);
}

void Rule::meta(uint32_t key) {
    nftnl_expr* e = expr("meta");
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
    nftnl_rule_add_expr(rule_, e);
}

static void add_cmp(nftnl_rule* r, uint32_t op, const void* data, uint32_t len) {
    nftnl_expr* e = expr("cmp");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
    nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
    nftnl_rule_add_expr(r, e);
}

static void add_lookup(nftnl_rule* r, const std::string& set) {
    nftnl_expr* e = expr("lookup");
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
    nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set.c_str());
    nftnl_rule_add_expr(r, e);
}

static void add_verdict(nftnl_rule* r, int verdict) {
    nftnl_expr* e = expr("immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(verdict));
    nftnl_rule_add_expr(r, e);
}

Rule& Rule::iifname(const std::string& name, bool equal) {
    meta(NFT_META_IIFNAME);
    std::string key = padded_ifname(name);
    add_cmp(rule_, equal ? NFT_CMP_EQ : NFT_CMP_NEQ, key.data(), IFNAMSIZ);
    return *this;
}

Rule& Rule::oifname(const std::string& name, bool equal) {
    meta(NFT_META_OIFNAME);
    std::string key = padded_ifname(name);
    add_cmp(rule_, equal ? NFT_CMP_EQ : NFT_CMP_NEQ, key.data(), IFNAMSIZ);
    return *this;
}

Rule& Rule::iifname_in(const std::string& set) {
    meta(NFT_META_IIFNAME);
    add_lookup(rule_, set);
    return *this;
}

Rule& Rule::oifname_in(const std::string& set) {
    meta(NFT_META_OIFNAME);
    add_lookup(rule_, set);
    return *this;
}

// register 1 &= mask (4 bytes)
static void add_mask(nftnl_rule* r, uint32_t mask) {
    uint32_t zero = 0;
    nftnl_expr* b = expr("bitwise");
    nftnl_expr_set_u32(b, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
    nftnl_expr_set_u32(b, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
    nftnl_expr_set_u32(b, NFTNL_EXPR_BITWISE_LEN, 4);
    nftnl_expr_set(b, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
    nftnl_expr_set(b, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
    nftnl_rule_add_expr(r, b);
}

void Rule::payload_addr(uint32_t offset, in_addr_t addr, int prefix_length, bool equal) {
    nftnl_expr* p = expr("payload");
    nftnl_expr_set_u32(p, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
    nftnl_expr_set_u32(p, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
    nftnl_expr_set_u32(p, NFTNL_EXPR_PAYLOAD_LEN, 4);
    nftnl_expr_set_u32(p, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
    nftnl_rule_add_expr(rule_, p);
    uint32_t mask = prefix_length == 0 ? 0 : htonl(0xffffffffu << (32 - prefix_length));
    if (prefix_length < 32) add_mask(rule_, mask);
    uint32_t value = addr & mask;
    add_cmp(rule_, equal ? NFT_CMP_EQ : NFT_CMP_NEQ, &value, 4);
}

Rule& Rule::saddr(in_addr_t addr, int prefix_length, bool equal) {
    payload_addr(12, addr, prefix_length, equal);
    return *this;
}

Rule& Rule::daddr(in_addr_t addr, int prefix_length, bool equal) {
    payload_addr(16, addr, prefix_length, equal);
    return *this;
}

Rule& Rule::daddr_local() {
    nftnl_expr* e = expr("fib");
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
    nftnl_rule_add_expr(rule_, e);
    uint32_t local = RTN_LOCAL;
    add_cmp(rule_, NFT_CMP_EQ, &local, 4);
    return *this;
}

Rule& Rule::l4proto(uint8_t proto) {
    meta(NFT_META_L4PROTO);
    add_cmp(rule_, NFT_CMP_EQ, &proto, 1);
    return *this;
}

Rule& Rule::dport(uint16_t port) {
    nftnl_expr* p = expr("payload");
    nftnl_expr_set_u32(p, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
    nftnl_expr_set_u32(p, NFTNL_EXPR_PAYLOAD_OFFSET, 2);
    nftnl_expr_set_u32(p, NFTNL_EXPR_PAYLOAD_LEN, 2);
    nftnl_expr_set_u32(p, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
    nftnl_rule_add_expr(rule_, p);
    uint16_t be = htons(port);
    add_cmp(rule_, NFT_CMP_EQ, &be, 2);
    return *this;
}

static void ct_bits(nftnl_rule* r, uint32_t key, uint32_t mask) {
    nftnl_expr* e = expr("ct");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
    nftnl_rule_add_expr(r, e);
    add_mask(r, mask);
    uint32_t zero = 0;
    add_cmp(r, NFT_CMP_NEQ, &zero, 4);
}

Rule& Rule::ct_state(uint32_t mask) {
    ct_bits(rule_, NFT_CT_STATE, mask);
    return *this;
}

Rule& Rule::ct_status(uint32_t mask) {
    ct_bits(rule_, NFT_CT_STATUS, mask);
    return *this;
}

Rule& Rule::accept() {
    add_verdict(rule_, NF_ACCEPT);
    return *this;
}

Rule& Rule::drop() {
    add_verdict(rule_, NF_DROP);
    return *this;
}

Rule& Rule::masquerade() {
    nftnl_rule_add_expr(rule_, expr("masq"));
    return *this;
}

Rule& Rule::notrack() {
    nftnl_rule_add_expr(rule_, expr("notrack"));
    return *this;
}

Rule& Rule::dnat(in_addr_t addr, uint16_t port) {
    nftnl_expr* a = expr("immediate");
    nftnl_expr_set_u32(a, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
    nftnl_expr_set(a, NFTNL_EXPR_IMM_DATA, &addr, 4);
    nftnl_rule_add_expr(rule_, a);
    uint16_t be = htons(port);
    nftnl_expr* p = expr("immediate");
    nftnl_expr_set_u32(p, NFTNL_EXPR_IMM_DREG, NFT_REG_2);
    nftnl_expr_set(p, NFTNL_EXPR_IMM_DATA, &be, 2);
    nftnl_rule_add_expr(rule_, p);
    nftnl_expr* n = expr("nat");
    nftnl_expr_set_u32(n, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
    nftnl_expr_set_u32(n, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
    nftnl_expr_set_u32(n, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
    nftnl_expr_set_u32(n, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
    nftnl_rule_add_expr(rule_, n);
    return *this;
}

Rule& Rule::comment(const std::string& text) {
    nftnl_udata_buf* ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
    if (!ud) throw std::bad_alloc();
    if (!nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, text.c_str())) {
        nftnl_udata_buf_free(ud);
        throw_invalid("nftables comment too long: " + quote(text));
    }
    nftnl_rule_set_data(rule_, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
    nftnl_udata_buf_free(ud);
    return *this;
}

// --- the batch ------------------------------------------------------------------

Batch::Batch(std::string table) : table_(std::move(table)) {
    seq_base_ = static_cast<uint32_t>(::time(nullptr)) << 8;
    buf_.resize(1 << 16);
    nftnl_batch_begin(buf_.data(), seq_base_);
    used_ = NLMSG_ALIGN(reinterpret_cast<nlmsghdr*>(buf_.data())->nlmsg_len);
}

Batch::~Batch() = default;

void Batch::make_room() {
    if (buf_.size() - used_ < 8192) buf_.resize(buf_.size() * 2);
}

nlmsghdr* Batch::begin_message(uint16_t type, uint16_t flags, std::string what) {
    make_room();
    what_.push_back(std::move(what));
    return nftnl_nlmsg_build_hdr(buf_.data() + used_, type, NFPROTO_IPV4, flags, seq_base_ + ++count_);
}

void Batch::end_message(nlmsghdr* nlh) { used_ += NLMSG_ALIGN(nlh->nlmsg_len); }

void Batch::table_message(uint16_t type, uint16_t flags, std::string what) {
    nlmsghdr* nlh = begin_message(type, flags, std::move(what));
    nftnl_table* t = nftnl_table_alloc();
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, table_.c_str());
    nftnl_table_nlmsg_build_payload(nlh, t);
    nftnl_table_free(t);
    end_message(nlh);
}

void Batch::add_table() { table_message(NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK, "add table ip " + table_); }

void Batch::delete_table() { table_message(NFT_MSG_DELTABLE, NLM_F_ACK, "delete table ip " + table_); }

void Batch::add_chain(const BaseChain& chain) {
    nlmsghdr* nlh = begin_message(NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_ACK, "add chain " + chain.name);
    nftnl_chain* c = nftnl_chain_alloc();
    nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table_.c_str());
    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain.name.c_str());
    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, chain.type.c_str());
    nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook_number(chain.hook));
    nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, chain.priority);
    nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
    nftnl_chain_nlmsg_build_payload(nlh, c);
    nftnl_chain_free(c);
    end_message(nlh);
}

void Batch::add_ifname_set(const std::string& name) {
    nlmsghdr* nlh = begin_message(NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_ACK, "add set " + name);
    nftnl_set* s = nftnl_set_alloc();
    nftnl_set_set_str(s, NFTNL_SET_TABLE, table_.c_str());
    nftnl_set_set_str(s, NFTNL_SET_NAME, name.c_str());
    nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, IFNAMSIZ);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, nft_type_ifname);
    nftnl_set_set_u32(s, NFTNL_SET_ID, 1);
    // nft reads the key's byte order from the set's user data to print names.
    nftnl_udata_buf* ud = nftnl_udata_buf_alloc(64);
    nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, nft_byteorder_host);
    nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
    nftnl_udata_buf_free(ud);
    nftnl_set_nlmsg_build_payload(nlh, s);
    nftnl_set_free(s);
    end_message(nlh);
}

void Batch::set_element_message(uint16_t type, uint16_t flags, const std::string& set, const std::string& ifname,
                                std::string what) {
    nlmsghdr* nlh = begin_message(type, flags, std::move(what));
    nftnl_set* s = nftnl_set_alloc();
    nftnl_set_set_str(s, NFTNL_SET_TABLE, table_.c_str());
    nftnl_set_set_str(s, NFTNL_SET_NAME, set.c_str());
    nftnl_set_elem* e = nftnl_set_elem_alloc();
    std::string key = padded_ifname(ifname);
    nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key.data(), IFNAMSIZ);
    nftnl_set_elem_add(s, e);
    nftnl_set_elems_nlmsg_build_payload(nlh, s);
    nftnl_set_free(s);
    end_message(nlh);
}

void Batch::add_ifname_element(const std::string& set, const std::string& ifname) {
    set_element_message(NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_ACK, set, ifname,
                        "add " + quote(ifname) + " to set " + set);
}

void Batch::delete_ifname_element(const std::string& set, const std::string& ifname) {
    set_element_message(NFT_MSG_DELSETELEM, NLM_F_ACK, set, ifname, "delete " + quote(ifname) + " from set " + set);
}

void Batch::add_rule(const Rule& rule) {
    nlmsghdr* nlh =
        begin_message(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, "add rule to chain " + rule.chain());
    nftnl_rule* r = rule.get();
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table_.c_str());
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, rule.chain().c_str());
    nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
    nftnl_rule_nlmsg_build_payload(nlh, r);
    end_message(nlh);
}

void Batch::delete_rule(const std::string& chain, uint64_t handle) {
    nlmsghdr* nlh = begin_message(NFT_MSG_DELRULE, NLM_F_ACK,
                                  "delete rule " + std::to_string(handle) + " from chain " + chain);
    nftnl_rule* r = nftnl_rule_alloc();
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table_.c_str());
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain.c_str());
    nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
    nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
    nftnl_rule_nlmsg_build_payload(nlh, r);
    nftnl_rule_free(r);
    end_message(nlh);
}

void Batch::commit() {
    if (count_ == 0) return;
    make_room();
    nlmsghdr* end = nftnl_batch_end(buf_.data() + used_, seq_base_ + count_ + 1);
    size_t total = used_ + NLMSG_ALIGN(end->nlmsg_len);
    Socket sock;
    if (mnl_socket_sendto(sock.get(), buf_.data(), total) < 0) throw_errno("send nftables batch");
    // The kernel handles a netlink batch inside sendmsg(): every ACK is queued
    // by now, so read without blocking until the socket is empty.
    std::vector<char> rbuf(dump_buffer_size);
    int first_error = 0;
    uint32_t error_seq = 0;
    for (;;) {
        ssize_t n = ::recv(mnl_socket_get_fd(sock.get()), rbuf.data(), rbuf.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            throw_errno("receive nftables reply");
        }
        auto* msg = reinterpret_cast<nlmsghdr*>(rbuf.data());
        int len = static_cast<int>(n);
        for (; mnl_nlmsg_ok(msg, len); msg = mnl_nlmsg_next(msg, &len)) {
            if (msg->nlmsg_type != NLMSG_ERROR) continue;
            const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(msg));
            if (err->error != 0 && first_error == 0) {
                first_error = -err->error;
                error_seq = msg->nlmsg_seq;
            }
        }
    }
    if (first_error) {
        std::string what = "nftables";
        if (error_seq > seq_base_ && error_seq - seq_base_ - 1 < what_.size())
            what = "nftables: " + what_[error_seq - seq_base_ - 1];
        throw_errno(what, first_error);
    }
}

// --- listing --------------------------------------------------------------------

namespace {

int dump(uint16_t type, nftnl_rule* filter, mnl_cb_t cb, void* data) {
    Socket sock;
    char buf[MNL_SOCKET_BUFFER_SIZE];
    uint32_t seq = static_cast<uint32_t>(::time(nullptr));
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_IPV4, NLM_F_DUMP, seq);
    if (filter) nftnl_rule_nlmsg_build_payload(nlh, filter);
    if (mnl_socket_sendto(sock.get(), nlh, nlh->nlmsg_len) < 0) throw_errno("send nftables dump");
    std::vector<char> rbuf(dump_buffer_size);
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(sock.get(), rbuf.data(), rbuf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("receive nftables dump");
        }
        int ret = mnl_cb_run(rbuf.data(), static_cast<size_t>(n), seq, sock.port(), cb, data);
        if (ret < 0) {
            if (errno == ENOENT) return -ENOENT;
            // NLM_F_DUMP_INTR: the ruleset changed during the dump (another
            // network's rules); the caller starts again on a new socket
            if (errno == EINTR) return -EINTR;
            throw_errno("nftables dump");
        }
        if (ret == MNL_CB_STOP) return 0;
    }
}

} // namespace

std::vector<RuleRef> list_rules(const std::string& table) {
    std::vector<RuleRef> out;
    nftnl_rule* filter = nftnl_rule_alloc();
    nftnl_rule_set_str(filter, NFTNL_RULE_TABLE, table.c_str());
    nftnl_rule_set_u32(filter, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
    try {
        for (int attempt = 0;; ++attempt) {
            out.clear();
            int r = dump(
                NFT_MSG_GETRULE, filter,
                [](const nlmsghdr* nlh, void* data) {
                    auto* list = static_cast<std::vector<RuleRef>*>(data);
                    nftnl_rule* r = nftnl_rule_alloc();
                    if (nftnl_rule_nlmsg_parse(nlh, r) == 0) {
                        RuleRef ref;
                        ref.chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
                        ref.handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
                        if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) {
                            uint32_t len = 0;
                            const void* ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
                            nftnl_udata_parse(
                                ud, len,
                                [](const nftnl_udata* attr, void* d) {
                                    if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT) {
                                        const char* s = static_cast<const char*>(nftnl_udata_get(attr));
                                        *static_cast<std::string*>(d) = std::string(s, strnlen(s, nftnl_udata_len(attr)));
                                    }
                                    return 0;
                                },
                                &ref.comment);
                        }
                        list->push_back(std::move(ref));
                    }
                    nftnl_rule_free(r);
                    return MNL_CB_OK;
                },
                &out);
            if (r != -EINTR) break;
            if (attempt == 20) throw Error("nftables dump of table " + table + ": interrupted by changes 20 times in a row");
        }
    } catch (...) {
        nftnl_rule_free(filter);
        throw;
    }
    nftnl_rule_free(filter);
    return out;
}

bool table_exists(const std::string& table) {
    Socket sock;
    char buf[MNL_SOCKET_BUFFER_SIZE];
    uint32_t seq = static_cast<uint32_t>(::time(nullptr));
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_IPV4, NLM_F_ACK, seq);
    nftnl_table* t = nftnl_table_alloc();
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, table.c_str());
    nftnl_table_nlmsg_build_payload(nlh, t);
    nftnl_table_free(t);
    if (mnl_socket_sendto(sock.get(), nlh, nlh->nlmsg_len) < 0) throw_errno("send nftables request");
    char rbuf[MNL_SOCKET_BUFFER_SIZE];
    ssize_t n = mnl_socket_recvfrom(sock.get(), rbuf, sizeof rbuf);
    if (n < 0) throw_errno("receive nftables reply");
    int ret = mnl_cb_run(rbuf, static_cast<size_t>(n), seq, sock.port(), nullptr, nullptr);
    if (ret < 0) {
        if (errno == ENOENT) return false;
        throw_errno("get nftables table", table);
    }
    return true;
}

} // namespace ctk::linux::nft
