// Independent work spread over the CPUs: a listing reads one set of files per
// container, and with a thousand containers the reads add up.
#pragma once

#include <algorithm>
#include <cstddef>
#include <future>
#include <system_error>
#include <thread>
#include <vector>

namespace ctk {

// fn(0) … fn(n-1), each exactly once, spread over up to 4 threads (one for
// small n). fn must be safe to call concurrently for different indexes. An
// exception from fn reaches the caller once every thread has ended.
template <typename Fn> void for_each_index_in_parallel(size_t n, Fn fn) {
    size_t workers = n < 64 ? 1 : std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
    auto share = [&fn, n, workers](size_t w) {
        for (size_t i = w; i < n; i += workers) fn(i);
    };
    std::vector<std::future<void>> others;
    size_t w = 1;
    try {
        for (; w < workers; w++) others.push_back(std::async(std::launch::async, share, w));
    } catch (const std::system_error&) {
        // no thread to be had (a tasks limit): this thread does the rest
    }
    for (size_t own = w; own < workers; own++) share(own);
    share(0);
    for (auto& o : others) o.get();
}

} // namespace ctk
