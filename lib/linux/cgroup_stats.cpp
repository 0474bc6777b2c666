// A container's usage figures, read from its cgroup files, in the shape runc's
// `events --stats` prints (libcontainer/cgroups' types.Stats as encoded by
// runc's types/events.go), so callers that parse runc's output read ours.
#include <dirent.h>

#include <algorithm>
#include <map>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "linux/cgroup.hpp"

namespace ctk::linux::cgroup {

namespace {

std::vector<std::string> stat_words(std::string_view line) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) i++;
        size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') i++;
        if (i > start) out.emplace_back(line.substr(start, i - start));
    }
    return out;
}

std::vector<std::string> stat_dir_names(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) out.emplace_back(e->d_name);
    ::closedir(d);
    return out;
}

std::optional<std::string> read_stat_file(const std::string& dir, const std::string& file) {
    return read_file_if_exists(dir + "/" + file, 1 << 20);
}

// One number ("max" and unreadable files are 0, as runc reports them).
uint64_t stat_number(const std::string& dir, const std::string& file) {
    auto text = read_stat_file(dir, file);
    if (!text) return 0;
    return parse_uint(trim(*text)).value_or(0);
}

// "key value" lines (memory.stat, cpu.stat, cpuacct.stat, memory.events).
std::map<std::string, uint64_t> stat_key_values(const std::string& dir, const std::string& file) {
    std::map<std::string, uint64_t> out;
    auto text = read_stat_file(dir, file);
    if (!text) return out;
    for (const auto& line : split(*text, '\n')) {
        auto w = stat_words(line);
        if (w.size() == 2)
            if (auto n = parse_uint(w[1])) out[std::string(w[0])] = *n;
    }
    return out;
}

Json stat_memory_entry(const std::string& dir, const std::string& prefix) {
    Json e = {{"limit", stat_number(dir, prefix + ".limit_in_bytes")}, {"failcnt", stat_number(dir, prefix + ".failcnt")}};
    if (auto u = stat_number(dir, prefix + ".usage_in_bytes")) e["usage"] = u;
    if (auto m = stat_number(dir, prefix + ".max_usage_in_bytes")) e["max"] = m;
    return e;
}

// blkio entries: "MAJ:MIN Op value" lines (v1), or io.stat's "MAJ:MIN rbytes=… wbytes=…" (v2).
Json stat_blkio_v1(const std::string& dir, const std::string& file) {
    Json out = Json::array();
    auto text = read_stat_file(dir, file);
    if (!text) return out;
    for (const auto& line : split(*text, '\n')) {
        auto w = stat_words(line);
        if (w.size() != 3) continue;
        auto mm = split(w[0], ':');
        if (mm.size() != 2) continue;
        out.push_back({{"major", parse_uint(mm[0]).value_or(0)},
                       {"minor", parse_uint(mm[1]).value_or(0)},
                       {"op", std::string(w[1])},
                       {"value", parse_uint(w[2]).value_or(0)}});
    }
    return out;
}

} // namespace

Json Cgroup::stats() const {
    Json data = Json::object();
    const Dir* uni = unified();
    // cpu
    if (const Dir* d = find("cpuacct"); d && !d->unified) {
        Json usage = {{"total", stat_number(d->dir(), "cpuacct.usage")}};
        Json percpu = Json::array();
        if (auto t = read_stat_file(d->dir(), "cpuacct.usage_percpu"))
            for (const auto& w : stat_words(*t))
                if (auto n = parse_uint(w)) percpu.push_back(*n);
        usage["percpu"] = percpu;
        // cpuacct.stat counts USER_HZ (100 per second) ticks; runc reports nanoseconds
        auto st = stat_key_values(d->dir(), "cpuacct.stat");
        usage["user"] = st["user"] * 10000000;
        usage["kernel"] = st["system"] * 10000000;
        data["cpu"] = {{"usage", usage}};
        if (const Dir* c = find("cpu"); c && !c->unified) {
            auto t = stat_key_values(c->dir(), "cpu.stat");
            data["cpu"]["throttling"] = {{"periods", t["nr_periods"]},
                                         {"throttledPeriods", t["nr_throttled"]},
                                         {"throttledTime", t["throttled_time"]}};
        }
    } else if (uni) {
        auto t = stat_key_values(uni->dir(), "cpu.stat");
        data["cpu"] = {{"usage", {{"total", t["usage_usec"] * 1000},
                                  {"user", t["user_usec"] * 1000},
                                  {"kernel", t["system_usec"] * 1000}}},
                       {"throttling", {{"periods", t["nr_periods"]},
                                       {"throttledPeriods", t["nr_throttled"]},
                                       {"throttledTime", t["throttled_usec"] * 1000}}}};
    }
    // memory
    if (const Dir* d = find("memory")) {
        Json raw = Json::object();
        if (!d->unified) {
            auto st = stat_key_values(d->dir(), "memory.stat");
            for (const auto& [k, v] : st) raw[k] = v;
            data["memory"] = {{"cache", st["cache"]},
                              {"usage", stat_memory_entry(d->dir(), "memory")},
                              {"swap", stat_memory_entry(d->dir(), "memory.memsw")},
                              {"kernel", stat_memory_entry(d->dir(), "memory.kmem")},
                              {"kernelTCP", stat_memory_entry(d->dir(), "memory.kmem.tcp")},
                              {"use_hierarchy", stat_number(d->dir(), "memory.use_hierarchy") == 1},
                              {"raw", raw}};
        } else {
            auto st = stat_key_values(d->dir(), "memory.stat");
            for (const auto& [k, v] : st) raw[k] = v;
            auto ev = stat_key_values(d->dir(), "memory.events");
            Json usage = {{"limit", stat_number(d->dir(), "memory.max")}, {"failcnt", ev["max"]}};
            if (auto u = stat_number(d->dir(), "memory.current")) usage["usage"] = u;
            if (auto m = stat_number(d->dir(), "memory.peak")) usage["max"] = m;
            Json swap = {{"limit", stat_number(d->dir(), "memory.swap.max")}, {"failcnt", 0}};
            if (auto u = stat_number(d->dir(), "memory.swap.current")) swap["usage"] = u;
            data["memory"] = {{"cache", st["file"]}, {"usage", usage}, {"swap", swap},
                              {"kernel", {{"limit", 0}, {"failcnt", 0}}},
                              {"kernelTCP", {{"limit", 0}, {"failcnt", 0}}},
                              {"use_hierarchy", true}, {"raw", raw}};
        }
    }
    // pids
    if (const Dir* d = find("pids")) {
        Json p = Json::object();
        if (auto c = stat_number(d->dir(), "pids.current")) p["current"] = c;
        if (auto l = stat_number(d->dir(), "pids.max")) p["limit"] = l;
        data["pids"] = p;
    }
    // blkio
    if (const Dir* d = find("blkio"); d && !d->unified) {
        data["blkio"] = {{"ioServiceBytesRecursive", stat_blkio_v1(d->dir(), "blkio.throttle.io_service_bytes_recursive")},
                         {"ioServicedRecursive", stat_blkio_v1(d->dir(), "blkio.throttle.io_serviced_recursive")}};
    } else if (const Dir* io = find("io"); io && io->unified) {
        Json bytes = Json::array(), ios = Json::array();
        if (auto text = read_stat_file(io->dir(), "io.stat"))
            for (const auto& line : split(*text, '\n')) {
                auto w = stat_words(line);
                if (w.empty()) continue;
                auto mm = split(w[0], ':');
                if (mm.size() != 2) continue;
                uint64_t major = parse_uint(mm[0]).value_or(0), minor = parse_uint(mm[1]).value_or(0);
                for (size_t i = 1; i < w.size(); i++) {
                    auto kv = split(w[i], '=');
                    if (kv.size() != 2) continue;
                    uint64_t v = parse_uint(kv[1]).value_or(0);
                    const std::pair<const char*, std::pair<Json*, const char*>> map[] = {
                        {"rbytes", {&bytes, "Read"}}, {"wbytes", {&bytes, "Write"}},
                        {"rios", {&ios, "Read"}},     {"wios", {&ios, "Write"}}};
                    for (const auto& [key, target] : map)
                        if (kv[0] == key)
                            target.first->push_back(
                                {{"major", major}, {"minor", minor}, {"op", target.second}, {"value", v}});
                }
            }
        data["blkio"] = {{"ioServiceBytesRecursive", bytes}, {"ioServicedRecursive", ios}};
    }
    // hugetlb: one entry a page size
    if (const Dir* d = find("hugetlb")) {
        Json h = Json::object();
        for (const auto& name : stat_dir_names(d->dir())) {
                const std::string v1_suffix = ".usage_in_bytes", v2_suffix = ".current";
                const std::string& suffix = d->unified ? v2_suffix : v1_suffix;
                if (name.rfind("hugetlb.", 0) != 0 || name.size() <= suffix.size() + 8 ||
                    name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
                    continue;
                std::string size = name.substr(8, name.size() - 8 - suffix.size());
                if (size.find('.') != std::string::npos) continue; // rsvd.*
                Json e = {{"failcnt", d->unified ? stat_key_values(d->dir(), "hugetlb." + size + ".events")["max"]
                                                 : stat_number(d->dir(), "hugetlb." + size + ".failcnt")}};
                if (auto u = stat_number(d->dir(), name)) e["usage"] = u;
                if (!d->unified)
                    if (auto m = stat_number(d->dir(), "hugetlb." + size + ".max_usage_in_bytes")) e["max"] = m;
                h[size] = e;
        }
        data["hugetlb"] = h;
    }
    return data;
}

uint64_t Cgroup::oom_kills() const {
    const Dir* d = find("memory");
    if (!d) return 0;
    if (d->unified) return stat_key_values(d->dir(), "memory.events")["oom_kill"];
    return stat_key_values(d->dir(), "memory.oom_control")["oom_kill"];
}

std::string Cgroup::oom_file() const {
    const Dir* d = find("memory");
    if (!d) return "";
    return d->dir() + (d->unified ? "/memory.events" : "/memory.oom_control");
}

} // namespace ctk::linux::cgroup
