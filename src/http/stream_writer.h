// StreamWriter: owns a connection once its answer is a stream (GET
// /v1/subscribe). The Session writes nothing itself for such a request: it
// hands its socket over with the response header, and the StreamWriter
// writes the header, then whatever its StreamSource produces, until the
// source ends, the client goes away, or the server shuts down.
//
// - Framing: chunked for HTTP/1.1 (a clean end is visible to the client as
//   the last chunk), plain bytes until close for HTTP/1.0. Either way the
//   connection closes after the stream: nothing is read from it anymore, so a
//   request pipelined behind a subscribe is never answered.
// - Backpressure: the source is polled only once the socket has taken the
//   previous bytes; each write must finish within write_timeout.
// - Timeouts: the idle timeout does not apply to a stream. When the source
//   has nothing to send for stream_heartbeat, a comment line (": keepalive")
//   goes out, so proxies do not cut a quiet stream and a vanished client is
//   noticed. The socket is also read (and anything read dropped) so a client
//   that closes is noticed at once.
// - A source that Failed() (subscriber cut off) while a write is stuck gets
//   kFailGrace for that write before the connection is closed.
// - Shutdown (Drain): a final `event: error` with code "shutting_down", then
//   close.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <array>
#include <memory>
#include <string>

#include "http/api.h"
#include "http/io_pool.h"
#include "http/stream_source.h"
#include "http/types.h"

namespace kyrodb::http {

class StreamWriter : public std::enable_shared_from_this<StreamWriter> {
 public:
  // `owner` is kept alive as long as the stream (the Session, which counts
  // the connection and forwards shutdown). `version` is the request's HTTP
  // version.
  StreamWriter(Socket&& socket, std::shared_ptr<ServerState> state, std::shared_ptr<void> owner,
               Response header, std::shared_ptr<StreamSource> source, unsigned version);
  ~StreamWriter();
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  // On the socket's I/O thread (the Session calls it from there).
  void Start();
  // Thread-safe: a final event, then close.
  void Drain();
  // Thread-safe: close now.
  void Abort();

 private:
  void Pump();
  void Send(std::string bytes, bool last);
  void OnWrite(boost::beast::error_code ec, std::size_t bytes);
  void OnWake();
  void ArmHeartbeat();
  void WatchPeer();
  void Close(bool graceful);

  // A timer per write is fine here: streams are few and long-lived.
  boost::beast::basic_stream<boost::asio::ip::tcp, boost::asio::io_context::executor_type> stream_;
  std::shared_ptr<ServerState> state_;
  std::shared_ptr<void> owner_;
  std::shared_ptr<StreamSource> source_;
  boost::asio::steady_timer heartbeat_;
  boost::asio::steady_timer grace_;
  std::string out_;                 // being written
  std::string header_;              // serialised response header, sent first
  std::array<char, 1024> discard_;  // what the client sends after its request
  bool chunked_ = true;
  bool writing_ = false;
  bool last_ = false;      // out_ is the end of the stream
  bool draining_ = false;  // shutdown: end after the write in flight
  bool closed_ = false;
};

}  // namespace kyrodb::http
