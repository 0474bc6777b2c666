// Independent work spread over the CPUs: a listing reads one set of files per
// container, and with a thousand containers the reads add up.
#pragma once

#include <algorithm>
#include <cstddef>
#include <future>
#include <thread>
#include <vector>

namespace ctk {

// fn(0) … fn(n-1), each exactly once, spread over up to 4 threads (one for
// small n). fn must be safe to call concurrently for different indexes. An
// exception from fn reaches the caller once every thread has ended.
template <typename Fn> void for_each_index_in_parallel(size_t n, Fn fn) {
    size_t workers = n < 64 ? 1 : std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
    std::vector<std::future<void>> others;
    for (size_t w = 1; w < workers; w++)
        others.push_back(std::async(std::launch::async, [&fn, n, w, workers] {
            for (size_t i = w; i < n; i += workers) fn(i);
        }));
    for (size_t i = 0; i < n; i += workers) fn(i);
    for (auto& o : others) o.get();
}

} // namespace ctk
