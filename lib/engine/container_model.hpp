// The container's description as typed values, parsed once at the edge of the
// engine (the request, the record read from container.json) instead of being
// read with string keys wherever it is needed.
#pragma once

#include <string>
#include <string_view>

namespace ctk::engine {

// Docker's HostConfig.NetworkMode: "default" or "bridge" (the default bridge
// network), "none", "host", "container:NAME|ID", or a user network's name.
// The string is kept as given ("" reads as "default"), so records and inspect
// show what the user wrote.
class NetworkMode {
public:
    enum class Kind { bridge, none, host, container, user };

    NetworkMode() = default;
    static NetworkMode parse(std::string_view mode);

    const std::string& str() const { return text_; }
    Kind kind() const { return kind_; }
    bool is_default() const { return kind_ == Kind::bridge; } // "default" or "bridge"
    bool is_none() const { return kind_ == Kind::none; }
    bool is_host() const { return kind_ == Kind::host; }
    bool is_container() const { return kind_ == Kind::container; }
    bool is_user() const { return kind_ == Kind::user; }
    // The container gets a network namespace of its own, attached to a network.
    bool attaches() const { return kind_ == Kind::bridge || kind_ == Kind::user; }
    // container:NAME -> NAME; "" for the other kinds.
    std::string container() const;
    // The network a container in this mode attaches to: "bridge" for default
    // and bridge, the name for a user network, "" for none, host, container:.
    std::string network_name() const;

    bool operator==(const NetworkMode& o) const { return text_ == o.text_; }

private:
    std::string text_ = "default";
    Kind kind_ = Kind::bridge;
};

} // namespace ctk::engine
