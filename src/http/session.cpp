#include "http/session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <utility>

#include "http/connections.h"
#include "http/errors.h"
#include "http/response_head.h"
#include "http/stream_source.h"
#include "http/stream_writer.h"
#include "log/log.h"

namespace kyrodb::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kFirstReadBytes = 16 * 1024;
constexpr size_t kLingerMaxBytes = 4u << 20;
constexpr auto kLingerTime = std::chrono::seconds(1);
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

ClientInfo DescribePeer(const Socket& socket) {
  ClientInfo info;
  beast::error_code ec;
  tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) {
    info.address = "unknown";
    return info;
  }
  asio::ip::address addr = peer.address();
  info.address = addr.to_string();
  if (addr.is_v4()) {
    auto bytes = addr.to_v4().to_bytes();
    info.key = MakeClientKey(bytes.data(), bytes.size());
  } else {
    auto bytes = addr.to_v6().to_bytes();
    info.key = MakeClientKey(bytes.data(), bytes.size());
  }
  return info;
}

}  // namespace

// The callbacks of one dispatched request: made only when its handler
// answers later. Each keeps the session alive and posts the answer back to
// the session's thread.
class Session::SlotReplies final : public ReplyFactory {
 public:
  SlotReplies(Session& session, uint64_t seq) : session_(session), seq_(seq) {}

  Reply MakeReply() override {
    return [self = session_.shared_from_this(), seq = seq_](Response res) {
      asio::post(self->socket_.get_executor(),
                 [self, seq, res = std::move(res)]() mutable { self->Complete(seq, std::move(res)); });
    };
  }

  StreamReply MakeStreamReply() override {
    return [self = session_.shared_from_this(), seq = seq_](Response header, std::shared_ptr<StreamSource> source) {
      asio::post(self->socket_.get_executor(),
                 [self, seq, header = std::move(header), source = std::move(source)]() mutable {
                   self->Complete(seq, std::move(header), std::move(source));
                 });
    };
  }

 private:
  Session& session_;
  uint64_t seq_;
};

Session::Session(Socket&& socket, Deadlines& deadlines, std::shared_ptr<ServerState> state,
                 std::shared_ptr<Connections> connections)
    : socket_(std::move(socket)),
      deadlines_(deadlines),
      state_(std::move(state)),
      connections_(std::move(connections)),
      client_(DescribePeer(socket_)) {}

Session::~Session() { connections_->Remove(this); }

void Session::Start() {
  connections_->Add(this, weak_from_this());
  asio::dispatch(socket_.get_executor(), [self = shared_from_this()] {
    self->deadlines_.Watch(self);
    self->WaitForRequest();
  });
}

void Session::Expire(Clock::time_point now) {
  if (handed_off_ || !deadline_.Passed(now)) return;
  // Like tcp_stream on a timeout: close the socket, so every pending
  // operation completes (with operation_aborted, read as a timeout).
  timed_out_ = true;
  deadline_ = ConnectionDeadlines();
  beast::error_code ec;
  socket_.close(ec);
}

beast::error_code Session::ReadError(beast::error_code ec) const {
  if (ec && timed_out_) return beast::error::timeout;
  return ec;
}

void Session::Drain() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    if (self->handed_off_) {
      if (auto writer = self->stream_writer_.lock()) writer->Drain();
      return;
    }
    self->read_closed_ = true;
    // Idle between requests: nothing is owed, close now. Mid-request or with
    // answers pending: those finish first (OnRequest/OnWrite close after).
    if (self->read_state_ == ReadState::kIdleWait ||
        (self->read_state_ == ReadState::kNone && self->queue_.empty() && !self->writing_)) {
      self->Close(false);
    }
  });
}

void Session::Abort() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    if (self->handed_off_) {
      if (auto writer = self->stream_writer_.lock()) writer->Abort();
      return;
    }
    self->Close(false);
  });
}

// Waits for the first bytes of the next request under the idle timeout. Only
// called with nothing owed to the client: the sweep closes the socket when a
// deadline passes, which must never cost an answer still in flight.
void Session::WaitForRequest() {
  if (closed_) return;
  read_state_ = ReadState::kIdleWait;
  ArmRead(state_->options.idle_timeout);
  socket_.async_read_some(buffer_.prepare(kFirstReadBytes),
                          beast::bind_front_handler(&Session::OnFirstBytes, shared_from_this()));
}

void Session::OnFirstBytes(beast::error_code ec, std::size_t bytes) {
  read_state_ = ReadState::kNone;
  DisarmRead();
  if (closed_) return;
  if (ec) {
    // eof: the client closed an idle connection; timeout: it stayed idle too
    // long (the sweep closed the socket); aborted: shutdown.
    return Close(false);
  }
  buffer_.commit(bytes);
  ReadHeader();
}

void Session::ReadHeader() {
  read_state_ = ReadState::kRequest;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(state_->options.max_header_bytes));
  parser_->body_limit(state_->options.max_body_bytes);
  ArmRead(state_->options.read_timeout);
  bhttp::async_read_header(socket_, buffer_, *parser_,
                           beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
}

void Session::OnHeader(beast::error_code ec, std::size_t /*bytes*/) {
  DisarmRead();
  if (closed_) return;
  if (ec) return OnReadError(ReadError(ec));
  if (parser_->is_done()) return OnRequest();
  // curl and others wait (up to a second) for "100 Continue" before sending
  // a large body. It may only go out when no earlier answer is owed, or the
  // client would take it for that answer's interim response.
  if (beast::iequals(parser_->get()[bhttp::field::expect], "100-continue") && queue_.empty() && !writing_) {
    SendContinue();
  }
  ArmRead(state_->options.read_timeout);
  bhttp::async_read(socket_, buffer_, *parser_, beast::bind_front_handler(&Session::OnBody, shared_from_this()));
}

void Session::OnBody(beast::error_code ec, std::size_t /*bytes*/) {
  DisarmRead();
  if (closed_) return;
  if (ec) return OnReadError(ReadError(ec));
  OnRequest();
}

void Session::SendContinue() {
  writing_ = true;
  deadline_.write = Clock::now() + state_->options.write_timeout;
  asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      self->deadline_.write = ConnectionDeadlines::kNever;
                      self->writing_ = false;
                      if (self->closed_) return;
                      if (ec) return self->Close(false);
                      self->Flush();
                    });
}

void Session::OnReadError(beast::error_code ec) {
  read_state_ = ReadState::kNone;
  read_closed_ = true;
  ServerState& st = *state_;
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) {
    // The client closed its side; answer what it already sent, then close.
    if (queue_.empty() && !writing_) Close(false);
    return;
  }
  if (ec == beast::error::timeout) {
    // A slow client: the sweep has closed the socket already.
    st.metrics.Rejected(RejectReason::kTimeout);
    return Close(false);
  }
  if (ec == bhttp::error::header_limit) {
    st.metrics.Rejected(RejectReason::kHeaderTooLarge);
    return PushError(MakeError(bhttp::status::request_header_fields_too_large, "header_too_large",
                               "request line and headers exceed KYRODB_MAX_HEADER_BYTES=" +
                                   std::to_string(st.options.max_header_bytes)));
  }
  if (ec == bhttp::error::body_limit) {
    st.metrics.Rejected(RejectReason::kBodyTooLarge);
    return PushError(MakeError(bhttp::status::payload_too_large, "body_too_large",
                               "request body exceeds KYRODB_MAX_BODY_BYTES=" +
                                   std::to_string(st.options.max_body_bytes)));
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
    st.metrics.Rejected(RejectReason::kMalformedHttp);
    return PushError(MakeError(bhttp::status::bad_request, "bad_request", "malformed HTTP request: " + ec.message()));
  }
  Close(false);  // reset, aborted, ...
}

// An answer to bytes that were not a usable request. The stream is out of
// step now, so the connection closes after it.
void Session::PushError(Response res) {
  Slot slot;
  if (parser_ && parser_->is_header_done()) {
    // The header was read (the body was not): answer as that request's
    // method and version ask, so a HEAD gets no body.
    const Request& req = parser_->get();
    slot.method = Sv(bhttp::to_string(req.method()));
    slot.version = req.version();
    slot.head = req.method() == bhttp::verb::head;
  }
  slot.start = Clock::now();
  slot.dispatched = true;
  slot.response = std::move(res);
  queue_.push_back(std::move(slot));
  Flush();
}

void Session::OnRequest() {
  read_state_ = ReadState::kNone;
  Slot slot;
  slot.request = parser_->release();
  parser_.reset();
  const Request& req = *slot.request;
  slot.method = Sv(bhttp::to_string(req.method()));
  slot.version = req.version();
  slot.head = req.method() == bhttp::verb::head;
  slot.keep_alive = req.keep_alive();
  RequestKind kind = ClassifyRequest(req);
  slot.is_write = kind.write;
  if (!slot.keep_alive || kind.stream) read_closed_ = true;
  queue_.push_back(std::move(slot));
  DispatchReady();
  MaybeRead();
}

bool Session::MayDispatch(size_t index) const {
  bool pending = false;
  bool pending_other = false;
  for (size_t i = 0; i < index; ++i) {
    const Slot& s = queue_[i];
    if (s.response) continue;
    pending = true;
    pending_other = pending_other || !s.is_write;
  }
  return !pending || (queue_[index].is_write && !pending_other);
}

// Dispatches queued requests in order while the rule in the header allows.
void Session::DispatchReady() {
  if (dispatching_) return;  // a synchronous answer inside the loop below
  dispatching_ = true;
  for (size_t i = 0; i < queue_.size() && !closed_; ++i) {
    if (queue_[i].dispatched) continue;
    if (!MayDispatch(i)) break;
    Slot& slot = queue_[i];
    slot.dispatched = true;
    slot.start = Clock::now();
    Request req = std::move(*slot.request);
    slot.request.reset();
    uint64_t seq = front_seq_ + i;
    // Posting keeps every state change on this connection's thread,
    // whichever thread (WAL, blocking pool) completes the request.
    SlotReplies replies(*this, seq);
    RequestMeta meta;
    ValueRef pinned;
    std::optional<Response> now = HandleRequest(*state_, req, client_, &meta, replies, &pinned);
    queue_[i].meta = meta;
    queue_[i].pinned = std::move(pinned);
    if (now) Complete(seq, std::move(*now));
  }
  dispatching_ = false;
}

// Reads the next request if the client may send one and the read-ahead
// allows it. With answers still owed, only bytes already buffered are read
// (under the read timeout): the idle wait starts once nothing is owed.
void Session::MaybeRead() {
  if (closed_ || read_closed_ || read_state_ != ReadState::kNone) return;
  if (queue_.size() >= state_->options.max_pipelined) return;
  // A request already waits for the writes before it: reading further would
  // only buffer more bodies (up to KYRODB_MAX_BODY_BYTES each) in memory.
  if (!queue_.empty() && !queue_.back().dispatched) return;
  if (buffer_.size() > 0) return ReadHeader();
  if (queue_.empty() && !writing_) WaitForRequest();
}

void Session::Complete(uint64_t seq, Response res, std::shared_ptr<StreamSource> stream) {
  // A stream whose connection is gone is dropped here, which ends its
  // subscription.
  if (closed_ || seq < front_seq_ || seq - front_seq_ >= queue_.size()) return;
  Slot& slot = queue_[seq - front_seq_];
  if (slot.response) {
    log::Error("http_double_reply", {{"route", GetRouteInfo(slot.meta.route).pattern}});
    return;
  }
  slot.response = std::move(res);
  slot.stream = std::move(stream);
  Flush();
  DispatchReady();
}

void Session::Flush() {
  if (writing_ || closed_ || queue_.empty() || !queue_.front().response) return;
  Slot& slot = queue_.front();
  if (slot.stream) return HandOff();
  const Response& res = *slot.response;
  // The last answer before the connection closes (client asked, an error,
  // or shutdown) says so; earlier pipelined answers stay keep-alive.
  bool last = read_closed_ && queue_.size() == 1 && read_state_ == ReadState::kNone;
  slot.sent_keep_alive = slot.keep_alive && !last;
  const bool pinned = slot.pinned.pin != nullptr || !slot.pinned.data.empty();
  asio::const_buffer body =
      pinned ? asio::buffer(slot.pinned.data.data(), slot.pinned.data.size()) : asio::buffer(res.body());
  head_.clear();
  // A HEAD answer's Content-Length still gives the GET size.
  AppendResponseHead(res, slot.version, slot.sent_keep_alive, body.size(), &head_);
  std::array<asio::const_buffer, 2> buffers = {asio::buffer(head_), slot.head ? asio::const_buffer() : body};
  writing_ = true;
  deadline_.write = Clock::now() + state_->options.write_timeout;
  asio::async_write(socket_, buffers, beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
}

void Session::OnWrite(beast::error_code ec, std::size_t /*bytes*/) {
  deadline_.write = ConnectionDeadlines::kNever;
  writing_ = false;
  if (queue_.empty()) return;  // closed while writing
  Slot done = std::move(queue_.front());
  queue_.pop_front();
  ++front_seq_;
  Record(done);
  if (closed_) return;
  if (ec) return Close(false);
  if (!done.sent_keep_alive) {
    read_closed_ = true;
    if (read_state_ == ReadState::kNone) return Close(true);
  }
  if (read_closed_ && queue_.empty() && read_state_ == ReadState::kNone) return Close(true);
  Flush();
  MaybeRead();
}

// The stream's answers come from a StreamWriter from now on; this session
// only keeps the connection counted and forwards shutdown. Nothing else was
// read after the subscribe (read_closed_), so the queue ends here.
void Session::HandOff() {
  Slot slot = std::move(queue_.front());
  queue_.clear();
  ++front_seq_;
  Record(slot);
  closed_ = true;
  handed_off_ = true;
  deadline_ = ConnectionDeadlines();
  auto writer = std::make_shared<StreamWriter>(std::move(socket_), state_, shared_from_this(),
                                               std::move(*slot.response), std::move(slot.stream), slot.version);
  stream_writer_ = writer;
  writer->Start();
  // A shutdown that began while the stream's first page was being read
  // found no writer to tell.
  if (state_->draining.load()) writer->Drain();
}

void Session::Record(const Slot& slot) {
  const Response& res = *slot.response;
  unsigned status = res.result_int();
  auto elapsed = Clock::now() - slot.start;
  double seconds = std::chrono::duration<double>(elapsed).count();
  state_->metrics.ObserveRequest(slot.meta.route, slot.meta.method, status, seconds);
  if (state_->options.access_log && log::Enabled(spdlog::level::info)) {
    log::Request(slot.method, GetRouteInfo(slot.meta.route).pattern, status,
                 std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count(), client_.address);
  }
}

void Session::Close(bool graceful) {
  if (closed_ || handed_off_) return;
  closed_ = true;
  deadline_ = ConnectionDeadlines();
  beast::error_code ec;
  if (graceful) {
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (!ec) return Linger();
  }
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

void Session::Linger() {
  if (lingered_ == 0) ArmRead(kLingerTime);
  buffer_.consume(buffer_.size());
  socket_.async_read_some(buffer_.prepare(kFirstReadBytes),
                          [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                            self->lingered_ += bytes;
                            if (!ec && self->lingered_ < kLingerMaxBytes) return self->Linger();
                            beast::error_code close_ec;
                            self->socket_.close(close_ec);
                          });
}

}  // namespace kyrodb::http
