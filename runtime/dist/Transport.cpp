#include "runtime/dist/Transport.h"

namespace bdl::dist {

namespace {

// Shared between the operation and its timer so neither outlives the other's
// view of it: the timer handler checks `finished` and does nothing once the
// operation has completed.
struct DeadlineState {
  explicit DeadlineState(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  bool finished = false;
  bool fired = false;
};

std::shared_ptr<DeadlineState> armDeadline(const SocketPtr& socket, Clock::time_point deadline,
                                           std::function<void()> onExpire) {
  auto state = std::make_shared<DeadlineState>(socket->get_executor());
  state->timer.expires_at(deadline);
  state->timer.async_wait([state, socket, onExpire = std::move(onExpire)](const ErrorCode& ec) {
    if (ec || state->finished)
      return;
    state->fired = true;
    if (onExpire)
      onExpire();
    ErrorCode ignored;
    socket->cancel(ignored);
  });
  return state;
}

// Asio's own completion conditions (transfer_all, transfer_exactly) cap
// every read_some/write_some at 64 KiB: a 1 MiB chunk took 16 system calls
// and as many epoll round trips each way. This one lets each call move as
// much as the socket buffer holds.
struct TransferAllUnbounded {
  size_t operator()(const ErrorCode& ec, size_t) const { return ec ? 0 : size_t{1} << 30; }
};

ErrorCode disarm(DeadlineState& state, ErrorCode ec) {
  state.finished = true;
  state.timer.cancel();
  return state.fired ? ErrorCode(asio::error::timed_out) : ec;
}

} // namespace

asio::awaitable<ErrorCode> readWithin(SocketPtr socket, asio::mutable_buffer buffer, Clock::time_point deadline,
                                      std::function<void()> onExpire) {
  auto state = armDeadline(socket, deadline, std::move(onExpire));
  ErrorCode ec;
  co_await asio::async_read(*socket, buffer, TransferAllUnbounded{}, asio::redirect_error(asio::use_awaitable, ec));
  co_return disarm(*state, ec);
}

asio::awaitable<ErrorCode> writeWithin(SocketPtr socket, std::vector<asio::const_buffer> buffers,
                                       Clock::time_point deadline, std::function<void()> onExpire) {
  auto state = armDeadline(socket, deadline, std::move(onExpire));
  ErrorCode ec;
  co_await asio::async_write(*socket, buffers, TransferAllUnbounded{}, asio::redirect_error(asio::use_awaitable, ec));
  co_return disarm(*state, ec);
}

asio::awaitable<ErrorCode> waitWithin(SocketPtr socket, asio::socket_base::wait_type what, Clock::time_point deadline) {
  auto state = armDeadline(socket, deadline, {});
  ErrorCode ec;
  co_await socket->async_wait(what, asio::redirect_error(asio::use_awaitable, ec));
  co_return disarm(*state, ec);
}

asio::awaitable<ErrorCode> connectWithin(SocketPtr socket, tcp::endpoint endpoint, Clock::time_point deadline) {
  auto state = armDeadline(socket, deadline, {});
  ErrorCode ec;
  co_await socket->async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
  co_return disarm(*state, ec);
}

asio::awaitable<Frame> readFrameWithin(SocketPtr socket, Clock::time_point deadline, size_t maxFrameBytes) {
  std::array<uint8_t, kFrameHeaderBytes> header{};
  ErrorCode ec = co_await readWithin(socket, asio::buffer(header), deadline);
  if (ec)
    throw LinkError(describeError(ec));
  auto parsed = parseFrameHeader(header, maxFrameBytes);
  if (auto* err = std::get_if<std::string>(&parsed))
    throw LinkError("malformed frame: " + *err);
  auto h = std::get<FrameHeader>(parsed);
  Frame frame{h.type, std::vector<uint8_t>(h.length)};
  if (h.length > 0) {
    ec = co_await readWithin(socket, asio::buffer(frame.payload), deadline);
    if (ec)
      throw LinkError(describeError(ec));
  }
  co_return frame;
}

asio::awaitable<void> writeFrameWithin(SocketPtr socket, FrameType type, std::vector<uint8_t> payload,
                                       Clock::time_point deadline) {
  auto bytes = encodeFrame(type, payload);
  // (No braced list here: GCC 12 miscompiles initializer_list in coroutines.)
  std::vector<asio::const_buffer> buffers(1, asio::buffer(bytes));
  ErrorCode ec = co_await writeWithin(socket, std::move(buffers), deadline);
  if (ec)
    throw LinkError(describeError(ec));
}

tcp::endpoint resolveEndpoint(asio::io_context& io, const std::string& host, uint16_t port) {
  ErrorCode ec;
  auto address = asio::ip::make_address(host, ec);
  if (!ec)
    return {address, port};
  tcp::resolver resolver(io);
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec || results.empty())
    throw LinkError("cannot resolve host '" + host + "': " + (ec ? ec.message() : std::string("no address")));
  return results.begin()->endpoint();
}

std::string formatAddress(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos)
    return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string describeError(const ErrorCode& ec) {
  if (ec == asio::error::timed_out)
    return "timed out";
  if (ec == asio::error::eof)
    return "connection closed by the peer";
  return ec.message();
}

} // namespace bdl::dist
