// Accepts connections on the first I/O thread and hands each one to a Session
// on the next I/O thread, round robin (io_pool.h). Over KYRODB_MAX_CONNECTIONS, a connection gets a 503
// with Retry-After and is closed, so clients see why instead of a hang.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include <atomic>
#include <memory>
#include <string>

#include "http/api.h"
#include "http/io_pool.h"
#include "kyrodb/status.h"

namespace kyrodb::http {

class Connections;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(IoPool& pool, std::shared_ptr<ServerState> state,
           std::shared_ptr<Connections> connections);

  // Binds and listens; fails with a message naming host and port.
  kyrodb::Status Open(const std::string& host, uint16_t port);
  uint16_t port() const { return port_; }

  void Start();
  // Stops accepting; thread-safe.
  void Stop();

 private:
  void DoAccept();
  void OnAccept(IoPool::Worker& worker, boost::beast::error_code ec, Socket socket);
  void Admit(IoPool::Worker& worker, Socket socket);
  void Reject(Socket socket);

  IoPool& pool_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  std::shared_ptr<ServerState> state_;
  std::shared_ptr<Connections> connections_;
  std::shared_ptr<std::atomic<size_t>> rejecting_;  // 503s being written
  uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace kyrodb::http
