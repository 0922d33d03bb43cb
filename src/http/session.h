// One client connection (the Beast "advanced server" shape): a tcp_stream on
// its own strand, a flat_buffer, and a fresh request_parser per request with
// header and body limits.
//
// Timeouts: while no request is in progress the connection may sit idle for
// idle_timeout; once the first byte of a request arrives, its header and then
// its body must each arrive within read_timeout (a total deadline, not reset
// per byte, so a client trickling one byte a second is cut). Responses must
// be taken within write_timeout.
//
// Pipelining: up to max_pipelined requests are read ahead; responses are
// written in request order even when a later one completes first. A request
// is dispatched in order, and only once the requests before it are answered,
// except that a write may start while earlier writes are still waiting for
// their fsync (so a pipeline of writes shares group commits). Thus a
// pipelined read always sees the connection's earlier writes.
//
// Streams: a GET /v1/subscribe is the last request read from a connection.
// When its answer is a stream, the session hands the socket to a
// StreamWriter once the answers before it are written, and from then on only
// forwards Drain and Abort to it (it stays alive, and counted, as long as
// the stream).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "http/api.h"
#include "http/types.h"

namespace kyrodb::http {

class Connections;
class StreamSource;
class StreamWriter;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<ServerState> state,
          std::shared_ptr<Connections> connections);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Start();
  // Shutdown, thread-safe: read no further requests, answer those already
  // read, then close.
  void Drain();
  // Close now, thread-safe.
  void Abort();

 private:
  // A request read, then dispatched, then answered, then written.
  struct Slot {
    std::optional<Request> request;  // until dispatched
    bool dispatched = false;
    bool is_write = false;
    std::optional<Response> response;  // for a stream: its header
    std::shared_ptr<StreamSource> stream;
    RequestMeta meta;
    std::string method;
    unsigned version = 11;
    bool head = false;
    bool keep_alive = false;
    std::chrono::steady_clock::time_point start;
  };
  enum class ReadState : uint8_t { kNone, kIdleWait, kRequest };

  void WaitForRequest();
  void OnFirstBytes(boost::beast::error_code ec, std::size_t bytes);
  void ReadHeader();
  void OnHeader(boost::beast::error_code ec, std::size_t bytes);
  void OnBody(boost::beast::error_code ec, std::size_t bytes);
  void OnReadError(boost::beast::error_code ec);
  void OnRequest();
  void DispatchReady();
  bool MayDispatch(size_t index) const;
  void PushError(Response res);
  void MaybeRead();
  void Complete(uint64_t seq, Response res, std::shared_ptr<StreamSource> stream = nullptr);
  void HandOff();
  void Flush();
  void OnWrite(boost::beast::error_code ec, std::size_t bytes);
  void SendContinue();
  void Record(const Slot& slot);
  // Graceful: FIN, then read and discard what the client still sends (for
  // up to a second) so a response to a half-sent request is not lost to a
  // TCP reset. Otherwise the socket closes at once.
  void Close(bool graceful);
  void Linger();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<ServerState> state_;
  std::shared_ptr<Connections> connections_;
  ClientInfo client_;

  std::deque<Slot> queue_;
  uint64_t front_seq_ = 0;  // sequence number of queue_.front()
  ReadState read_state_ = ReadState::kNone;
  bool read_closed_ = false;  // no further requests on this connection
  bool writing_ = false;
  bool dispatching_ = false;
  bool closed_ = false;
  size_t lingered_ = 0;
  bool handed_off_ = false;  // stream_ now belongs to stream_writer_
  std::weak_ptr<StreamWriter> stream_writer_;
};

}  // namespace kyrodb::http
