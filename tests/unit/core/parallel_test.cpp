#include "core/parallel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace ctk {
namespace {

TEST(Parallel, EveryIndexExactlyOnce) {
    for (size_t n : {0, 1, 63, 64, 65, 1000}) {
        std::vector<std::atomic<int>> seen(n);
        for_each_index_in_parallel(n, [&](size_t i) { seen[i]++; });
        for (size_t i = 0; i < n; i++) EXPECT_EQ(seen[i].load(), 1) << "n=" << n << " i=" << i;
    }
}

TEST(Parallel, AnExceptionReachesTheCallerAfterEveryIndexRan) {
    std::atomic<size_t> ran{0};
    EXPECT_THROW(for_each_index_in_parallel(1000,
                                            [&](size_t i) {
                                                ran++;
                                                if (i == 501) throw std::runtime_error("501");
                                            }),
                 std::runtime_error);
    // the other threads' shares are not cut short by one index's failure
    EXPECT_GE(ran.load(), 1000u / 4);
}

} // namespace
} // namespace ctk
