// Internal to runtime/dist: Asio building blocks with a deadline on every
// wait. Each operation arms a timer; if it fires first, an optional hook
// runs (so the caller can record *why* before the socket is cancelled) and
// the pending operation completes with asio::error::timed_out.
#pragma once

#include "runtime/dist/Frame.h"

#include <boost/asio.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace bdl::dist {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using SocketPtr = std::shared_ptr<tcp::socket>;
using ErrorCode = boost::system::error_code;

// Thrown by handshake helpers; the caller adds who the peer is.
struct LinkError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The peer failed the token proof (logged and refused, never fatal).
struct AuthFailure : LinkError {
  using LinkError::LinkError;
};

asio::awaitable<void> sleepFor(asio::io_context& io, Clock::duration d);

asio::awaitable<ErrorCode> readWithin(SocketPtr socket, asio::mutable_buffer buffer, Clock::time_point deadline,
                                      std::function<void()> onExpire = {});
asio::awaitable<ErrorCode> writeWithin(SocketPtr socket, std::vector<asio::const_buffer> buffers,
                                       Clock::time_point deadline, std::function<void()> onExpire = {});
// Until the socket is readable or writable (for system calls Asio does not
// wrap, such as sendmsg with a descriptor).
asio::awaitable<ErrorCode> waitWithin(SocketPtr socket, asio::socket_base::wait_type what, Clock::time_point deadline);
asio::awaitable<ErrorCode> connectWithin(SocketPtr socket, tcp::endpoint endpoint, Clock::time_point deadline);

// One whole frame with validated header; throws LinkError on timeout, I/O
// error or a bad header (the caller must then close the socket).
asio::awaitable<Frame> readFrameWithin(SocketPtr socket, Clock::time_point deadline, size_t maxFrameBytes);
asio::awaitable<void> writeFrameWithin(SocketPtr socket, FrameType type, std::vector<uint8_t> payload,
                                       Clock::time_point deadline);

// Resolves a numeric or named host; throws LinkError.
tcp::endpoint resolveEndpoint(asio::io_context& io, const std::string& host, uint16_t port);
std::string formatAddress(const std::string& host, uint16_t port);
std::string describeError(const ErrorCode& ec);

} // namespace bdl::dist
