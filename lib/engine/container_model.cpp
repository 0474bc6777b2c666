#include "engine/container_model.hpp"

namespace ctk::engine {

namespace {
constexpr std::string_view container_prefix = "container:";
}

NetworkMode NetworkMode::parse(std::string_view mode) {
    NetworkMode m;
    m.text_ = mode.empty() ? "default" : std::string(mode);
    if (mode.empty() || mode == "default" || mode == "bridge") m.kind_ = Kind::bridge;
    else if (mode == "none") m.kind_ = Kind::none;
    else if (mode == "host") m.kind_ = Kind::host;
    else if (mode.substr(0, container_prefix.size()) == container_prefix) m.kind_ = Kind::container;
    else m.kind_ = Kind::user;
    return m;
}

std::string NetworkMode::container() const {
    return kind_ == Kind::container ? text_.substr(container_prefix.size()) : std::string();
}

std::string NetworkMode::network_name() const {
    if (kind_ == Kind::bridge) return "bridge";
    if (kind_ == Kind::user) return text_;
    return "";
}

} // namespace ctk::engine
