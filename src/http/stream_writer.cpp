#include "http/stream_writer.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/write.hpp>

#include <cstdio>
#include <sstream>
#include <utility>

#include "log/log.h"

namespace kyrodb::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

// How long a write stuck on a client that no longer reads may go on once
// its subscription was cut off: enough for a slow reader to take the last
// bytes and the final event, short enough to free the connection soon.
constexpr auto kFailGrace = std::chrono::seconds(2);
// After the last bytes, how long the client gets to close its side.
constexpr auto kLingerTime = std::chrono::seconds(1);
constexpr std::string_view kKeepalive = ": keepalive\n\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";

std::string Chunk(std::string_view bytes) {
  char size[20];
  int n = std::snprintf(size, sizeof(size), "%zx\r\n", bytes.size());
  std::string out(size, static_cast<size_t>(n));
  out.append(bytes);
  out += "\r\n";
  return out;
}

}  // namespace

StreamWriter::StreamWriter(Socket&& socket, std::shared_ptr<ServerState> state, std::shared_ptr<void> owner,
                           Response header, std::shared_ptr<StreamSource> source, unsigned version)
    : stream_(std::move(socket)),
      state_(std::move(state)),
      owner_(std::move(owner)),
      source_(std::move(source)),
      heartbeat_(stream_.get_executor()),
      grace_(stream_.get_executor()) {
  header.version(version);
  header.body().clear();
  header.set(bhttp::field::server, "kyrodb");
  header.keep_alive(false);
  chunked_ = version >= 11;
  if (chunked_) header.chunked(true);
  std::ostringstream os;
  os << header.base();
  header_ = os.str();
}

StreamWriter::~StreamWriter() {
  if (source_) source_->Stop();
}

void StreamWriter::Start() {
  std::weak_ptr<StreamWriter> weak = weak_from_this();
  auto executor = stream_.get_executor();
  source_->Start([weak, executor] {
    asio::post(executor, [weak] {
      if (auto self = weak.lock()) self->OnWake();
    });
  });
  WatchPeer();
  Pump();
}

void StreamWriter::Drain() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->closed_ || self->draining_) return;
    self->draining_ = true;
    if (!self->writing_) {
      self->Send(self->source_->Farewell("shutting_down", "the server is shutting down; reconnect with Last-Event-ID"),
                 true);
    }
  });
}

void StreamWriter::Abort() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->Close(false); });
}

// Polls the source when the socket is free.
void StreamWriter::Pump() {
  if (closed_ || writing_ || last_) return;
  std::string bytes;
  StreamSource::PollResult r = source_->Poll(&bytes);
  switch (r) {
    case StreamSource::PollResult::kData:
      if (!bytes.empty()) return Send(std::move(bytes), false);
      break;  // nothing after all: as kWait
    case StreamSource::PollResult::kEnd:
      return Send(std::move(bytes), true);
    case StreamSource::PollResult::kWait:
      break;
  }
  // Nothing to write before the header has gone out would delay it until
  // the first event: send it alone.
  if (!header_.empty()) Send(std::string(), false);
}

void StreamWriter::Send(std::string bytes, bool last) {
  out_ = std::move(header_);
  header_.clear();
  if (!bytes.empty()) out_ += chunked_ ? Chunk(bytes) : bytes;
  if (last && chunked_) out_ += kLastChunk;
  last_ = last;
  if (out_.empty()) {
    if (last) Close(true);
    return;
  }
  writing_ = true;
  heartbeat_.cancel();
  stream_.expires_after(state_->options.write_timeout);
  asio::async_write(stream_, asio::buffer(out_), beast::bind_front_handler(&StreamWriter::OnWrite, shared_from_this()));
}

void StreamWriter::OnWrite(beast::error_code ec, std::size_t /*bytes*/) {
  writing_ = false;
  if (closed_) return;
  if (ec) return Close(false);  // timeout (tcp_stream closed it), reset, ...
  if (last_) return Close(true);
  if (source_->Failed() || draining_) {
    // The source ends: its final event (Poll) or the shutdown notice.
    grace_.cancel();
    if (draining_) {
      return Send(source_->Farewell("shutting_down", "the server is shutting down; reconnect with Last-Event-ID"),
                  true);
    }
  }
  ArmHeartbeat();
  Pump();
}

void StreamWriter::OnWake() {
  if (closed_) return;
  if (writing_ && source_->Failed()) {
    // Cut off while the client does not take what was already sent: give
    // the write a short grace, then close.
    grace_.expires_after(kFailGrace);
    grace_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && self->writing_) {
        log::Info("http_stream_abandoned", {{"reason", "subscriber cut off and not reading"}});
        self->Close(false);
      }
    });
    return;
  }
  Pump();
}

void StreamWriter::ArmHeartbeat() {
  heartbeat_.expires_after(state_->options.stream_heartbeat);
  heartbeat_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->closed_ || self->writing_ || self->last_) return;
    self->Send(std::string(kKeepalive), false);
  });
}

// A stream's client sends nothing more that we serve; reading tells us at
// once when it goes away (EOF or reset) instead of at the next heartbeat.
// After a graceful close it drains the client's last bytes until EOF, so the
// socket is not reset with our final bytes still unsent.
void StreamWriter::WatchPeer() {
  stream_.socket().async_read_some(asio::buffer(discard_),
                                   [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                     if (ec) {
                                       if (!self->closed_) return self->Close(false);
                                       self->grace_.cancel();
                                       return self->stream_.close();
                                     }
                                     self->WatchPeer();
                                   });
}

void StreamWriter::Close(bool graceful) {
  if (closed_) return;
  closed_ = true;
  beast::error_code ec;
  heartbeat_.cancel();
  grace_.cancel();
  source_->Stop();
  if (graceful) {
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (!ec) {
      grace_.expires_after(kLingerTime);
      grace_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec) self->stream_.close();
      });
      return;
    }
  }
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
}

}  // namespace kyrodb::http
