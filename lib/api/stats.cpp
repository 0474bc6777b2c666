#include "api/stats.hpp"

#include <unistd.h>

#include <chrono>
#include <thread>

#include "api/util.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "engine/timefmt.hpp"

namespace ctk::api {

namespace {

std::optional<uint64_t> read_number(const std::string& path) {
    auto t = read_file_if_exists(path, 4096);
    if (!t) return std::nullopt;
    std::string v(trim(*t));
    if (v == "max") return std::nullopt;
    return parse_uint(v);
}

std::map<std::string, uint64_t> read_kv(const std::string& path) {
    std::map<std::string, uint64_t> out;
    auto t = read_file_if_exists(path, 1 << 16);
    if (!t) return out;
    for (const auto& line : split(*t, '\n')) {
        auto sp = line.find(' ');
        if (sp == std::string::npos) continue;
        if (auto n = parse_uint(trim(line.substr(sp + 1)))) out[line.substr(0, sp)] = *n;
    }
    return out;
}

// controller -> directory of the process's cgroup ("" key: the v2 unified one)
std::map<std::string, std::string> cgroup_dirs(pid_t pid) {
    std::map<std::string, std::string> out;
    auto t = read_file_if_exists("/proc/" + std::to_string(pid) + "/cgroup", 1 << 16);
    if (!t) return out;
    bool pure_v2 = ::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
    for (const auto& line : split(*t, '\n')) {
        auto parts = split(line, ':');
        if (parts.size() < 3) continue;
        std::string path = line.substr(parts[0].size() + parts[1].size() + 2);
        if (parts[1].empty()) {
            out[""] = (pure_v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified") + path;
            continue;
        }
        for (const auto& c : split(parts[1], ',')) out[c] = "/sys/fs/cgroup/" + parts[1] + path;
    }
    return out;
}

uint64_t system_cpu_ns() {
    auto t = read_file_if_exists("/proc/stat", 1 << 16);
    if (!t) return 0;
    auto nl = t->find('\n');
    auto cols = split(t->substr(0, nl), ' ');
    uint64_t ticks = 0;
    for (size_t i = 1; i < cols.size(); i++)
        if (auto n = parse_uint(cols[i])) ticks += *n;
    long hz = ::sysconf(_SC_CLK_TCK);
    return ticks * (1000000000ull / static_cast<uint64_t>(hz > 0 ? hz : 100));
}

} // namespace

Json stats_sample(pid_t pid) {
    long ncpu = ::sysconf(_SC_NPROCESSORS_ONLN);
    Json cpu = {{"cpu_usage", {{"total_usage", 0}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", 0}}},
                {"system_cpu_usage", system_cpu_ns()},
                {"online_cpus", ncpu},
                {"throttling_data", {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}};
    Json mem = Json::object();
    Json pids = Json::object();
    Json nets = Json::object();
    if (pid <= 0) return Json{{"cpu_stats", cpu}, {"memory_stats", mem}, {"pids_stats", pids}};
    auto dirs = cgroup_dirs(pid);
    if (dirs.count("cpuacct")) {
        std::string d = dirs["cpuacct"];
        cpu["cpu_usage"]["total_usage"] = read_number(d + "/cpuacct.usage").value_or(0);
        auto st = read_kv(d + "/cpuacct.stat");
        long hz = ::sysconf(_SC_CLK_TCK);
        uint64_t per = 1000000000ull / static_cast<uint64_t>(hz > 0 ? hz : 100);
        cpu["cpu_usage"]["usage_in_usermode"] = st["user"] * per;
        cpu["cpu_usage"]["usage_in_kernelmode"] = st["system"] * per;
        Json percpu = Json::array();
        if (auto t = read_file_if_exists(d + "/cpuacct.usage_percpu", 1 << 16))
            for (const auto& v : split(std::string(trim(*t)), ' '))
                if (auto n = parse_uint(v)) percpu.push_back(*n);
        cpu["cpu_usage"]["percpu_usage"] = percpu;
    } else if (dirs.count("")) {
        auto st = read_kv(dirs[""] + "/cpu.stat");
        cpu["cpu_usage"]["total_usage"] = st["usage_usec"] * 1000;
        cpu["cpu_usage"]["usage_in_usermode"] = st["user_usec"] * 1000;
        cpu["cpu_usage"]["usage_in_kernelmode"] = st["system_usec"] * 1000;
    }
    if (dirs.count("memory")) {
        std::string d = dirs["memory"];
        mem["usage"] = read_number(d + "/memory.usage_in_bytes").value_or(0);
        mem["max_usage"] = read_number(d + "/memory.max_usage_in_bytes").value_or(0);
        mem["limit"] = read_number(d + "/memory.limit_in_bytes").value_or(0);
        Json st = Json::object();
        for (auto& [k, v] : read_kv(d + "/memory.stat")) st[k] = v;
        mem["stats"] = st;
    } else if (dirs.count("")) {
        std::string d = dirs[""];
        mem["usage"] = read_number(d + "/memory.current").value_or(0);
        auto limit = read_number(d + "/memory.max");
        mem["limit"] = limit.value_or(0);
        Json st = Json::object();
        for (auto& [k, v] : read_kv(d + "/memory.stat")) st[k] = v;
        mem["stats"] = st;
    }
    if (mem.contains("limit") && (mem["limit"].get<uint64_t>() == 0 || mem["limit"].get<uint64_t>() > (1ull << 62))) {
        long pages = ::sysconf(_SC_PHYS_PAGES), psize = ::sysconf(_SC_PAGESIZE);
        mem["limit"] = static_cast<uint64_t>(pages) * static_cast<uint64_t>(psize);
    }
    std::string pd = dirs.count("pids") ? dirs["pids"] : dirs.count("") ? dirs[""] : "";
    if (!pd.empty()) {
        pids["current"] = read_number(pd + "/pids.current").value_or(0);
        if (auto m = read_number(pd + "/pids.max")) pids["limit"] = *m;
    }
    if (auto t = read_file_if_exists("/proc/" + std::to_string(pid) + "/net/dev", 1 << 16)) {
        auto lines = split(*t, '\n');
        for (size_t i = 2; i < lines.size(); i++) {
            auto colon = lines[i].find(':');
            if (colon == std::string::npos) continue;
            std::string ifname(trim(lines[i].substr(0, colon)));
            if (ifname == "lo") continue;
            std::vector<uint64_t> v;
            for (const auto& w : split(lines[i].substr(colon + 1), ' '))
                if (auto n = parse_uint(w)) v.push_back(*n);
            if (v.size() < 16) continue;
            nets[ifname] = {{"rx_bytes", v[0]}, {"rx_packets", v[1]}, {"rx_errors", v[2]}, {"rx_dropped", v[3]},
                            {"tx_bytes", v[8]}, {"tx_packets", v[9]}, {"tx_errors", v[10]}, {"tx_dropped", v[11]}};
        }
    }
    Json out = {{"cpu_stats", cpu}, {"memory_stats", mem}, {"pids_stats", pids}};
    if (!nets.empty()) out["networks"] = nets;
    return out;
}

void container_stats(Daemon& d, Request& req, Response& res) {
    engine::Engine e = d.engine();
    engine::ContainerRecord r = e.containers().lookup(req.params["id"]);
    bool stream = req.query().flag("stream", true);
    bool one_shot = req.query().flag("one-shot");
    auto sample = [&]() -> std::pair<Json, std::string> {
        engine::RuntimeState rs = e.runtime_state(r.id);
        bool live = rs.status == "running" || rs.status == "paused";
        Json s = stats_sample(live ? rs.pid : 0);
        s["read"] = engine::format_rfc3339_nano(engine::now_ns());
        return {s, rs.status};
    };
    auto compose = [&](const Json& cur, const Json& prev, const std::string& prev_read) {
        Json o = cur;
        o["preread"] = prev_read;
        o["precpu_stats"] = prev.is_null() ? Json{{"cpu_usage", {{"total_usage", 0}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", 0}}},
                                                  {"throttling_data", {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}}
                                            : prev["cpu_stats"];
        o["blkio_stats"] = {{"io_service_bytes_recursive", nullptr}, {"io_serviced_recursive", nullptr},
                            {"io_queue_recursive", nullptr}, {"io_service_time_recursive", nullptr},
                            {"io_wait_time_recursive", nullptr}, {"io_merged_recursive", nullptr},
                            {"io_time_recursive", nullptr}, {"sectors_recursive", nullptr}};
        o["num_procs"] = 0;
        o["storage_stats"] = Json::object();
        o["name"] = "/" + r.name;
        o["id"] = r.id;
        return o;
    };
    auto [first, status] = sample();
    if (!stream) {
        if (one_shot || (status != "running" && status != "paused"))
            return res.json(200, compose(first, Json(), engine::zero_time));
        // two samples a second apart, so the client can compute a CPU share
        if (res.client_gone(1000)) return;
        auto [second, s2] = sample();
        return res.json(200, compose(second, first, first["read"].get<std::string>()));
    }
    res.begin_stream(200, "application/json");
    Json prev;
    std::string prev_read = engine::zero_time;
    Json cur = first;
    for (;;) {
        res.chunk(dump_compact(compose(cur, prev, prev_read)) + "\n");
        prev = cur;
        prev_read = cur["read"].get<std::string>();
        if (res.client_gone(1000)) return;
        auto [next, st] = sample();
        cur = next;
        if (st != "running" && st != "paused") {
            res.chunk(dump_compact(compose(cur, prev, prev_read)) + "\n");
            return;
        }
    }
}

} // namespace ctk::api
