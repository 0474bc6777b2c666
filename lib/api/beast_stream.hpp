// Beast's synchronous stream concepts over a Transport, for the server
// (http.cpp) and the client (client.cpp) alike.
#pragma once

#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include "api/transport.hpp"

namespace ctk::api {

class BeastStream {
public:
    explicit BeastStream(Transport& t) : t_(t) {}

    template <class MutableBufferSequence> size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
        ec = {};
        for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it) {
            boost::asio::mutable_buffer b = *it;
            if (b.size() == 0) continue;
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
    Transport& t_;
};

} // namespace ctk::api
