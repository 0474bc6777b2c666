#include "store/paths.hpp"

#include <unistd.h>

#include <cstdlib>

namespace ctk::store {

static std::string absolute(std::string p) {
    if (p.empty() || p[0] == '/') return p;
    char cwd[4096];
    if (!::getcwd(cwd, sizeof cwd)) return p;
    return std::string(cwd) + "/" + p;
}

static std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    std::string s = (v && *v) ? v : fallback;
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return absolute(s);
}

Paths Paths::from_env() {
    return Paths{env_or("CTK_ROOT", default_root), env_or("CTK_RUN", default_run)};
}

} // namespace ctk::store
