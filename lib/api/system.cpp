// /_ping, /version, /info, /events, /system/df, and the routes ctld answers
// with Docker's "not implemented" (build, commit) or "not found" (plugins).
#include <poll.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "api/daemon.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "engine/disk_usage.hpp"
#include "engine/timefmt.hpp"
#include "engine/tools.hpp"
#include "store/config.hpp"

namespace ctk::api {

namespace {

std::string kernel_version() {
    utsname u{};
    ::uname(&u);
    return u.release;
}

// KEY's value in /etc/os-release (quotes removed), or `fallback`.
std::string os_release(const std::string& key, const std::string& fallback) {
    auto text = read_file_if_exists("/etc/os-release", 1 << 16);
    if (text)
        for (const auto& line : split(*text, '\n'))
            if (line.rfind(key + "=", 0) == 0) {
                std::string v = line.substr(key.size() + 1);
                if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
                return v;
            }
    return fallback;
}

std::string hostname() {
    char buf[256] = {};
    ::gethostname(buf, sizeof buf - 1);
    return buf;
}

// cgroup v2 when /sys/fs/cgroup is cgroup2 itself; hybrid and v1 report "1" as dockerd does.
std::string cgroup_version() {
    return ::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "2" : "1";
}

// Unix seconds with an optional fraction ("1795814129.5"), or RFC 3339, or a
// duration before now; nanoseconds.
std::optional<int64_t> parse_event_time(const std::string& s, int64_t now) {
    if (s.empty()) return std::nullopt;
    auto dot = s.find('.');
    std::string secs = s.substr(0, dot);
    if (auto n = parse_uint(secs)) {
        int64_t ns = static_cast<int64_t>(*n) * 1000000000;
        if (dot != std::string::npos) {
            std::string frac = s.substr(dot + 1);
            frac.resize(9, '0');
            if (auto f = parse_uint(frac)) ns += static_cast<int64_t>(*f);
        }
        return ns;
    }
    return engine::parse_time_or_duration(s, now);
}

} // namespace

void add_system_routes(Router& r, Daemon& d) {
    auto ping = [](Request& req, Response& res) {
        std::vector<std::pair<std::string, std::string>> h = {{"Cache-Control", "no-cache, no-store, must-revalidate"},
                                                              {"Pragma", "no-cache"}};
        res.send(200, "text/plain; charset=utf-8", req.method() == "HEAD" ? "" : "OK", h);
    };
    r.add("GET", "/_ping", ping);

    // docker login: dockerd checks the credentials against the registry and
    // keeps nothing (the client stores them); reg-fetch login --no-store does that.
    r.add("POST", "/auth", [&d](Request& req, Response& res) {
        Json body = json_body(req, d.options().json_body_limit, true);
        std::string user = json_str(body, "username"), password = json_str(body, "password");
        std::string server = json_str(body, "serveraddress");
        if (user.empty() || password.empty()) throw HttpError(400, "username and password are required");
        try {
            run_tool(engine::tools::login_check(server, user), password + "\n");
        } catch (const Error& e) {
            std::string why = e.what();
            if (why.find("credentials refused") != std::string::npos)
                throw HttpError(401, "login attempt to " + (server.empty() ? "the default registry" : server) +
                                         " failed with status: 401 Unauthorized");
            throw HttpError(500, why);
        }
        res.json(200, Json{{"Status", "Login Succeeded"}, {"IdentityToken", ""}});
    });
    r.add("HEAD", "/_ping", ping);

    r.add("GET", "/version", [](Request&, Response& res) {
        std::string kernel = kernel_version();
        Json details = {{"ApiVersion", api_version}, {"Arch", "amd64"},     {"BuildTime", ""},
                        {"Experimental", "false"},   {"GitCommit", ""},     {"GoVersion", ""},
                        {"KernelVersion", kernel},   {"MinAPIVersion", min_api_version}, {"Os", "linux"}};
        Json comps = Json::array();
        comps.push_back(Json{{"Name", "Engine"}, {"Version", CTK_VERSION}, {"Details", details}});
        comps.push_back(Json{{"Name", "ns-run"}, {"Version", CTK_VERSION}, {"Details", {{"GitCommit", ""}}}});
        res.json(200, Json{{"Platform", {{"Name", "ctk"}}},
                           {"Components", comps},
                           {"Version", CTK_VERSION},
                           {"ApiVersion", api_version},
                           {"MinAPIVersion", min_api_version},
                           {"GitCommit", ""},
                           {"GoVersion", ""},
                           {"Os", "linux"},
                           {"Arch", "amd64"},
                           {"KernelVersion", kernel},
                           {"BuildTime", ""}});
    });

    r.add("GET", "/info", [&d](Request&, Response& res) {
        engine::Engine e = d.engine();
        auto records = e.containers().list();
        auto states = e.runtime_states();
        int running = 0, paused = 0, stopped = 0;
        for (const auto& rec : records) {
            auto it = states.find(rec.id);
            std::string st = it == states.end() ? "" : it->second.status;
            if (st == "running") running++;
            else if (st == "paused") paused++;
            else stopped++;
        }
        size_t images = 0;
        try {
            images = e.images().list().size();
        } catch (const std::exception&) {
        }
        struct sysinfo si {};
        ::sysinfo(&si);
        Json netcfg = store::config_section(store::load_config(), "network");
        res.json(200, Json{
            {"ID", ""},
            {"Containers", records.size()},
            {"ContainersRunning", running},
            {"ContainersPaused", paused},
            {"ContainersStopped", stopped},
            {"Images", images},
            {"Driver", "overlay"},
            {"DriverStatus", Json::array({Json::array({"Layers", e.paths().layers()})})},
            {"Plugins", {{"Volume", {"local"}}, {"Network", {"bridge", "host", "null"}}, {"Authorization", nullptr},
                         {"Log", {"json-file"}}}},
            {"MemoryLimit", true},
            {"SwapLimit", true},
            {"KernelMemory", false},
            {"KernelMemoryTCP", false},
            {"CpuCfsPeriod", true},
            {"CpuCfsQuota", true},
            {"CPUShares", true},
            {"CPUSet", true},
            {"PidsLimit", true},
            {"IPv4Forwarding", true},
            {"BridgeNfIptables", false},
            {"BridgeNfIp6tables", false},
            {"Debug", false},
            {"NFd", 0},
            {"OomKillDisable", false},
            {"NGoroutines", 0},
            {"SystemTime", engine::format_rfc3339_nano(engine::now_ns())},
            {"LoggingDriver", "json-file"},
            {"CgroupDriver", "cgroupfs"},
            {"CgroupVersion", cgroup_version()},
            {"NEventsListener", 0},
            {"KernelVersion", kernel_version()},
            {"OperatingSystem", os_release("PRETTY_NAME", "Linux")},
            {"OSVersion", os_release("VERSION_ID", "")},
            {"OSType", "linux"},
            {"Architecture", "x86_64"},
            {"IndexServerAddress", "https://index.docker.io/v1/"},
            {"RegistryConfig", {{"AllowNondistributableArtifactsCIDRs", Json::array()},
                                {"AllowNondistributableArtifactsHostnames", Json::array()},
                                {"InsecureRegistryCIDRs", {"127.0.0.0/8"}},
                                {"IndexConfigs", Json::object()},
                                {"Mirrors", Json::array()}}},
            {"NCPU", ::sysconf(_SC_NPROCESSORS_ONLN)},
            {"MemTotal", static_cast<int64_t>(si.totalram) * si.mem_unit},
            {"GenericResources", nullptr},
            {"DockerRootDir", e.paths().root},
            {"HttpProxy", ""},
            {"HttpsProxy", ""},
            {"NoProxy", ""},
            {"Name", hostname()},
            {"Labels", Json::array()},
            {"ExperimentalBuild", false},
            {"ServerVersion", CTK_VERSION},
            {"Runtimes", {{"ns-run", {{"path", engine::tool_path("ns-run")}}}}},
            {"DefaultRuntime", "ns-run"},
            {"Swarm", {{"NodeID", ""}, {"NodeAddr", ""}, {"LocalNodeState", "inactive"}, {"ControlAvailable", false},
                       {"Error", ""}, {"RemoteManagers", nullptr}}},
            {"LiveRestoreEnabled", true},
            {"Isolation", ""},
            {"InitBinary", ""},
            {"ContainerdCommit", {{"ID", ""}, {"Expected", ""}}},
            {"RuncCommit", {{"ID", ""}, {"Expected", ""}}},
            {"InitCommit", {{"ID", ""}, {"Expected", ""}}},
            {"SecurityOptions", {"name=seccomp,profile=default"}},
            {"DefaultAddressPools", Json::array({Json{{"Base", netcfg.value("default_subnet", "172.17.0.0/16")}, {"Size", 16}}})},
            {"Warnings", Json::array()}});
    });

    r.add("GET", "/events", [&d](Request& req, Response& res) {
        int64_t now = engine::now_ns();
        std::optional<int64_t> since, until;
        if (auto s = req.query().get("since"); s && !s->empty()) {
            since = parse_event_time(*s, now);
            if (!since) throw HttpError(400, "invalid value for since: " + *s);
        }
        if (auto u = req.query().get("until"); u && !u->empty()) {
            until = parse_event_time(*u, now);
            if (!until) throw HttpError(400, "invalid value for until: " + *u);
        }
        EventFilter filter = EventFilter::parse(req.query().value("filters"));
        auto sub = d.events().subscribe();
        ScopeGuard unsub([&] { d.events().unsubscribe(sub); });
        res.begin_stream(200, "application/json");
        int64_t last = -1;
        auto emit = [&](const Json& e) {
            int64_t t = e["timeNano"].get<int64_t>();
            if (t <= last) return true;
            if (until && t > *until) return false;
            last = t;
            if (filter.match(e)) res.chunk(e.dump() + "\n");
            return true;
        };
        if (since) {
            for (const auto& e : d.events().history(*since, until.value_or(now)))
                if (!emit(e)) break;
        } else {
            last = now;
        }
        if (until && *until <= engine::now_ns()) return;
        for (;;) {
            int timeout = 30000;
            if (until) {
                int64_t left = (*until - engine::now_ns()) / 1000000;
                if (left <= 0) return;
                timeout = static_cast<int>(std::min<int64_t>(left + 1, 30000));
            }
            pollfd p[2] = {{sub->fd(), POLLIN, 0}, {res.transport().fd(), POLLRDHUP, 0}};
            int n = ::poll(p, 2, timeout);
            if (n < 0 && errno != EINTR) return;
            if (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)) return;
            for (const auto& e : sub->take())
                if (!emit(e)) return;
        }
    });

    r.add("GET", "/system/df", [&d](Request&, Response& res) {
        engine::Engine e = d.engine();
        ProcessResult v = run_process(engine::tools::vol_ls());
        res.json(200, engine::disk_usage(e, v.ok() ? v.out : ""));
    });

    // The legacy builder's cache (docker system prune and docker builder prune call it).
    r.add("POST", "/build/prune", [&d](Request&, Response& res) {
        engine::Engine e = d.engine();
        res.json(200, engine::prune_build_cache(e));
    });

    // No plugins: `docker inspect` ends its search here with a 404.
    r.add("GET", "/plugins", [](Request&, Response& res) { res.json(200, Json::array()); });
    r.add("GET", "/plugins/{name*}/json", [](Request& req, Response& res) {
        res.error(404, "plugin \"" + req.params["name"] + "\" not found");
    });
}

} // namespace ctk::api
