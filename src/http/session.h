// One client connection: a socket bound to one I/O thread (io_pool.h), a
// flat_buffer, and a fresh Beast request_parser per request with header and
// body limits. Every handler of a session runs on that thread; other threads
// reach it with asio::post.
//
// Timeouts: while no request is in progress the connection may sit idle for
// idle_timeout; once the first byte of a request arrives, its header and then
// its body must each arrive within read_timeout (a total deadline, not reset
// per byte, so a client trickling one byte a second is cut). Responses must
// be taken within write_timeout. The session only stores these deadlines;
// its thread's sweep (deadlines.h) closes the socket once one has passed.
//
// Responses go out as one gather write: a head formatted into a reused
// buffer (response_head.h) and the body. A stored value (GET get_fast, kv)
// is sent from where it lies, the snapshot mapping or the delta, pinned
// until written, instead of being copied into the response.
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

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/api.h"
#include "http/deadlines.h"
#include "http/io_pool.h"
#include "http/types.h"

namespace kyrodb::http {

class Connections;
class StreamSource;
class StreamWriter;

class Session : public std::enable_shared_from_this<Session>, public Expirable {
 public:
  // `deadlines` belongs to the socket's I/O thread.
  Session(Socket&& socket, Deadlines& deadlines, std::shared_ptr<ServerState> state,
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
  // From the deadline sweep, on the session's thread.
  void Expire(Clock::time_point now) override;

 private:
  // A request read, then dispatched, then answered, then written.
  struct Slot {
    std::optional<Request> request;  // until dispatched
    bool dispatched = false;
    bool is_write = false;
    std::optional<Response> response;  // for a stream: its header
    ValueRef pinned;                    // the body, when it is a stored value (api.h)
    std::shared_ptr<StreamSource> stream;
    RequestMeta meta;
    std::string_view method = "-";  // for the access log (static strings)
    unsigned version = 11;
    bool head = false;
    bool keep_alive = false;       // the client asked for it
    bool sent_keep_alive = false;  // what the answer said
    Clock::time_point start;
  };
  class SlotReplies;
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

  void ArmRead(std::chrono::milliseconds timeout) { deadline_.read = Clock::now() + timeout; }
  void DisarmRead() { deadline_.read = ConnectionDeadlines::kNever; }
  // A read handler's error, as the deadline sweep caused it.
  boost::beast::error_code ReadError(boost::beast::error_code ec) const;

  Socket socket_;
  Deadlines& deadlines_;
  ConnectionDeadlines deadline_;
  bool timed_out_ = false;  // the sweep closed the socket
  boost::beast::flat_buffer buffer_;
  std::string head_;  // the head of the response being written
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
  bool handed_off_ = false;  // socket_ now belongs to stream_writer_
  std::weak_ptr<StreamWriter> stream_writer_;
};

}  // namespace kyrodb::http
