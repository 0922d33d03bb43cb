#include "http/listener.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/write.hpp>

#include <utility>

#include "http/connections.h"
#include "http/errors.h"
#include "http/session.h"
#include "log/log.h"

namespace kyrodb::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kRejectTime = std::chrono::seconds(1);
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);
// Connections taken from the backlog per completed accept (see OnAccept).
constexpr int kAcceptBurst = 64;

// Writes one 503 to a connection over the limit, then closes it after
// reading (and dropping) what the client sends for up to a second, so the
// answer is not lost to a TCP reset.
class Rejection : public std::enable_shared_from_this<Rejection> {
 public:
  Rejection(Socket&& socket, Response res, std::shared_ptr<std::atomic<size_t>> counter)
      : stream_(std::move(socket)), res_(std::move(res)), counter_(std::move(counter)) {
    counter_->fetch_add(1);
  }
  ~Rejection() { counter_->fetch_sub(1); }

  void Run() {
    stream_.expires_after(kRejectTime);
    bhttp::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      self->Drain();
    });
  }

 private:
  void Drain() {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) self->Drain();
    });
  }

  beast::basic_stream<tcp, asio::io_context::executor_type> stream_;
  Response res_;
  beast::flat_buffer buffer_;
  std::shared_ptr<std::atomic<size_t>> counter_;
};

}  // namespace

Listener::Listener(IoPool& pool, std::shared_ptr<ServerState> state, std::shared_ptr<Connections> connections)
    : pool_(pool),
      acceptor_(pool.First().ioc),
      backoff_(pool.First().ioc),
      state_(std::move(state)),
      connections_(std::move(connections)),
      rejecting_(std::make_shared<std::atomic<size_t>>(0)) {}

kyrodb::Status Listener::Open(const std::string& host, uint16_t port) {
  std::string where = host + ":" + std::to_string(port);
  beast::error_code ec;
  tcp::endpoint endpoint;
  asio::ip::address addr = asio::ip::make_address(host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(addr, port);
  } else {
    // A name such as "localhost": take its first address.
    tcp::resolver resolver(pool_.First().ioc);
    auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      return kyrodb::Status::InvalidArgument("cannot resolve listen address " + where + ": " + ec.message());
    }
    endpoint = results.begin()->endpoint();
  }
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) acceptor_.non_blocking(true, ec);  // for the burst in OnAccept
  if (ec) return kyrodb::Status::IOError("cannot listen on " + where + ": " + ec.message());
  port_ = acceptor_.local_endpoint(ec).port();
  return kyrodb::Status::OK();
}

void Listener::Start() {
  asio::dispatch(acceptor_.get_executor(), beast::bind_front_handler(&Listener::DoAccept, shared_from_this()));
}

void Listener::Stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    self->stopped_ = true;
    beast::error_code ec;
    self->backoff_.cancel();
    self->acceptor_.close(ec);
  });
}

void Listener::DoAccept() {
  if (stopped_) return;
  IoPool::Worker& worker = pool_.Next();
  acceptor_.async_accept(worker.ioc, [self = shared_from_this(), &worker](beast::error_code ec, Socket socket) {
    self->OnAccept(worker, ec, std::move(socket));
  });
}

void Listener::OnAccept(IoPool::Worker& worker, beast::error_code ec, Socket socket) {
  if (stopped_ || ec == asio::error::operation_aborted) return;
  if (ec) {
    // Out of file descriptors (or a similar transient failure): pause
    // instead of spinning on an accept that keeps failing.
    log::Warn("http_accept_failed", {{"error", ec.message()}});
    backoff_.expires_after(kAcceptBackoff);
    backoff_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (!wait_ec) self->DoAccept();
    });
    return;
  }
  Admit(worker, std::move(socket));
  // Take what else waits in the backlog now. One accept per trip through
  // the event loop made new connections queue behind the work of every busy
  // session on this thread: seconds with thousands of connections.
  for (int i = 0; i < kAcceptBurst && !stopped_; ++i) {
    IoPool::Worker& next = pool_.Next();
    beast::error_code more_ec;
    Socket more = acceptor_.accept(next.ioc, more_ec);
    if (more_ec) break;  // would_block: the backlog is empty; other errors reach the async accept
    Admit(next, std::move(more));
  }
  DoAccept();
}

void Listener::Admit(IoPool::Worker& worker, Socket socket) {
  beast::error_code opt_ec;
  socket.set_option(tcp::no_delay(true), opt_ec);  // small answers must not wait for Nagle
  if (connections_->Count() >= state_->options.max_connections) {
    Reject(std::move(socket));
  } else {
    std::make_shared<Session>(std::move(socket), worker.deadlines, state_, connections_)->Start();
  }
}

void Listener::Reject(Socket socket) {
  state_->metrics.Rejected(RejectReason::kTooManyConnections);
  // Under a flood the 503s themselves are bounded: past that, just close.
  if (rejecting_->load() >= state_->options.max_connections / 4 + 16) return;
  Response res = MakeRetryError(bhttp::status::service_unavailable, "too_many_connections",
                                "the server has KYRODB_MAX_CONNECTIONS=" +
                                    std::to_string(state_->options.max_connections) + " connections open",
                                1);
  res.set(bhttp::field::server, "kyrodb");
  res.keep_alive(false);
  res.prepare_payload();
  std::make_shared<Rejection>(std::move(socket), std::move(res), rejecting_)->Run();
}

}  // namespace kyrodb::http
