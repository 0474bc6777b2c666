// Beast's synchronous stream concepts over a Transport, for the server
// (http.cpp) and the client (client.cpp) alike.
#pragma once

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include "api/transport.hpp"

namespace ctk::api {

class BeastStream {
public:
    explicit BeastStream(Transport& t) : t_(t) {}

    // Reads after `deadline` fail with timed_out (the server's header
    // timeout); nullopt: reads wait as long as the peer takes.
    void set_read_deadline(std::optional<std::chrono::steady_clock::time_point> deadline) { deadline_ = deadline; }

    template <class MutableBufferSequence> size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
        ec = {};
        for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it) {
            boost::asio::mutable_buffer b = *it;
            if (b.size() == 0) continue;
            if (deadline_ && !t_.buffered() && !wait_readable()) {
                ec = boost::asio::error::timed_out;
                return 0;
            }
            try {
                size_t n = t_.read_some(b.data(), b.size());
                if (n == 0) ec = boost::asio::error::eof;
                return n;
            } catch (const std::exception&) {
                ec = boost::asio::error::connection_reset;
                return 0;
            }
        }
        return 0;
    }
    template <class MutableBufferSequence> size_t read_some(const MutableBufferSequence& buffers) {
        boost::system::error_code ec;
        size_t n = read_some(buffers, ec);
        if (ec) throw boost::system::system_error(ec);
        return n;
    }
    template <class ConstBufferSequence> size_t write_some(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
        ec = {};
        size_t total = 0;
        try {
            for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it) {
                boost::asio::const_buffer b = *it;
                t_.write_all(std::string_view(static_cast<const char*>(b.data()), b.size()));
                total += b.size();
            }
        } catch (const std::exception&) {
            ec = boost::asio::error::broken_pipe;
        }
        return total;
    }
    template <class ConstBufferSequence> size_t write_some(const ConstBufferSequence& buffers) {
        boost::system::error_code ec;
        size_t n = write_some(buffers, ec);
        if (ec) throw boost::system::system_error(ec);
        return n;
    }

private:
    // false: the deadline passed before a byte arrived.
    bool wait_readable() const {
        if (t_.fd() < 0) return true; // nothing to poll (an in-memory transport)
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline_ - std::chrono::steady_clock::now()).count();
            if (left <= 0) return false;
            pollfd p{t_.fd(), POLLIN, 0};
            int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
            if (r > 0) return true;
            if (r < 0 && errno != EINTR) return true; // the read reports it
        }
    }

    Transport& t_;
    std::optional<std::chrono::steady_clock::time_point> deadline_;
};

} // namespace ctk::api
