#include "client.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>
#include <thread>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace kyrodb::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

const char* PhaseKindName(PhaseKind k) {
  switch (k) {
    case PhaseKind::kLoad: return "load";
    case PhaseKind::kRead: return "read";
    case PhaseKind::kWrite: return "write";
    case PhaseKind::kMixed: return "mixed";
  }
  return "?";
}

void OpStats::Merge(const OpStats& o) {
  hist.Merge(o.hist);
  for (size_t i = 0; i < status.size(); ++i) status[i] += o.status[i];
  for (const auto& [k, v] : o.transport) transport[k] += v;
  bad_body += o.bad_body;
  bytes_in += o.bytes_in;
}

uint64_t OpStats::Completed() const {
  uint64_t n = 0;
  for (uint64_t c : status) n += c;
  return n;
}

uint64_t OpStats::Non2xx() const {
  uint64_t n = 0;
  for (size_t i = 0; i < status.size(); ++i) {
    if (i < 200 || i >= 300) n += status[i];
  }
  return n;
}

uint64_t OpStats::TransportErrors() const {
  uint64_t n = 0;
  for (const auto& [k, v] : transport) n += v;
  return n;
}

OpStats PhaseResult::All() const {
  OpStats all = reads;
  all.Merge(writes);
  return all;
}

namespace {

double ProcessCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

void AppendU64(std::string& s, uint64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  s.append(buf, p);
}

std::string Base64(std::string_view in) {
  static constexpr char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// A response parser that keeps only the status and counts body bytes: no
// header map, no body copy, so the client spends as little CPU as possible
// on the cores it shares with the server.
class ResponseSink : public bhttp::basic_parser<false> {
 public:
  int status = 0;
  uint64_t body_bytes = 0;
  unsigned retry_after = 0;  // seconds, from a Retry-After header (429/503)

 private:
  void on_request_impl(bhttp::verb, beast::string_view, beast::string_view, int, beast::error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, beast::error_code&) override { status = code; }
  void on_field_impl(bhttp::field f, beast::string_view, beast::string_view value, beast::error_code&) override {
    if (f != bhttp::field::retry_after) return;
    unsigned v = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    (void)p;
    if (ec == std::errc()) retry_after = v;
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, beast::error_code&) override {
    body_bytes += body.size();
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code&) override {
    body_bytes += body.size();
    return body.size();
  }
  void on_finish_impl(beast::error_code&) override {}
};

}  // namespace

// What every connection of a run shares: the io_context, its threads, the
// resolved endpoints, the precomputed request pieces and the current phase.
struct Runner::Shared {
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::vector<std::thread> threads;
  tcp::resolver::results_type endpoints;

  KeyGen keys;
  std::string value;        // --val-bytes of [a-z]
  std::string value_b64;    // for etcd
  std::string head_tail;    // "Host: ...\r\n[Authorization: ...\r\n]"

  // Current phase.
  PhaseSpec spec;
  Clock::time_point start;
  Clock::time_point deadline;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> next_load{0};
  std::atomic<uint64_t> completed{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> loaded{0};
  std::atomic<unsigned> active{0};
  std::mutex mu;
  std::condition_variable cv;

  Shared(const Options& o)
      : ioc(static_cast<int>(o.threads)), keys(o.KeySpace(), o.zipf, o.zipf_theta, o.zipf_scramble) {}
};

// One keep-alive connection: connect, then request/response until the phase
// ends; reconnects after a transport error or a Connection: close.
class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(Runner& runner, unsigned id)
      : opt_(runner.opt_),
        sh_(*runner.shared_),
        strand_(asio::make_strand(sh_.ioc)),
        sock_(strand_),
        timer_(strand_),
        rng_(opt_.seed * 1000003 + id + 1) {}

  void Start() {
    asio::post(strand_, [self = shared_from_this()] { self->Connect(); });
  }

  // After the drain grace: cut whatever is still in flight.
  void Abort() {
    asio::post(strand_, [self = shared_from_this()] {
      self->aborted_ = true;
      beast::error_code ec;
      self->sock_.close(ec);
      self->timer_.cancel();
    });
  }

  OpStats reads;
  OpStats writes;
  uint64_t reconnects = 0;
  uint64_t keys_loaded = 0;

 private:
  bool PhaseOver(Clock::time_point now) const {
    return aborted_ || sh_.stop.load(std::memory_order_relaxed) || now >= sh_.deadline;
  }

  void Connect() {
    if (PhaseOver(Clock::now())) return Finish();
    beast::error_code ec;
    sock_.close(ec);
    sock_ = tcp::socket(strand_);
    buf_.clear();
    timer_.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.timeout_seconds)));
    timer_.async_wait([self = shared_from_this()](beast::error_code tec) {
      if (!tec && self->connecting_) {
        beast::error_code ignored;
        self->sock_.close(ignored);
      }
    });
    connecting_ = true;
    asio::async_connect(sock_, sh_.endpoints, [self = shared_from_this()](beast::error_code cec, const tcp::endpoint&) {
      self->connecting_ = false;
      self->timer_.cancel();
      if (cec) return self->TransportError("connect");
      beast::error_code ignored;
      self->sock_.set_option(tcp::no_delay(true), ignored);
      self->Next();
    });
  }

  void Next() {
    Clock::time_point now = Clock::now();
    if (PhaseOver(now)) return Finish();
    if (!BuildRequest()) return Finish();
    t0_ = Clock::now();
    asio::async_write(sock_, asio::buffer(req_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->TransportError("write");
      self->parser_.emplace();
      self->parser_->body_limit(std::uint64_t{1} << 32);
      self->parser_->eager(true);
      bhttp::async_read(self->sock_, self->buf_, *self->parser_,
                        [self](beast::error_code rec, std::size_t) { self->OnResponse(rec); });
    });
  }

  void OnResponse(beast::error_code ec) {
    Clock::time_point t1 = Clock::now();
    if (ec) {
      if (ec == bhttp::error::end_of_stream) return TransportError("eof");
      if (ec == asio::error::operation_aborted) return TransportError("aborted");
      return TransportError("read");
    }
    OpStats& st = is_read_ ? reads : writes;
    int status = std::clamp(parser_->status, 0, 599);
    bool ok = status >= 200 && status < 300;
    {
      st.hist.Record(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0_).count()));
      ++st.status[static_cast<size_t>(status)];
      st.bytes_in += parser_->body_bytes;
      if (ok && is_read_ && check_body_ && parser_->body_bytes != opt_.val_bytes) ++st.bad_body;
    }
    sh_.completed.fetch_add(1, std::memory_order_relaxed);
    if (!ok) sh_.failed.fetch_add(1, std::memory_order_relaxed);
    if (sh_.spec.kind == PhaseKind::kLoad) {
      if (ok) {
        keys_loaded += batch_count_;
        sh_.loaded.fetch_add(batch_count_, std::memory_order_relaxed);
      }
      batch_count_ = 0;  // a refused batch is counted, not retried
    }
    bool keep = parser_->keep_alive();
    const unsigned retry_after = parser_->retry_after;
    parser_.reset();
    failures_in_row_ = 0;
    if (!keep) {
      ++reconnects;
      if (!ok && retry_after > 0) {
        // Refused and closed (503 too_many_connections): come back when the
        // server asks to, like a well-behaved client, not in a tight loop.
        timer_.expires_after(std::chrono::seconds(retry_after));
        timer_.async_wait([self = shared_from_this()](beast::error_code) { self->Connect(); });
        return;
      }
      return Connect();
    }
    Next();
  }

  void TransportError(const char* what) {
    ++(is_read_ ? reads : writes).transport[what];
    sh_.failed.fetch_add(1, std::memory_order_relaxed);
    parser_.reset();
    beast::error_code ignored;
    sock_.close(ignored);
    if (PhaseOver(Clock::now())) return Finish();
    // A failed load batch is sent again (same keys, same values) up to 3 times.
    if (sh_.spec.kind == PhaseKind::kLoad && batch_count_ > 0 && ++batch_retries_ > 3) batch_count_ = 0;
    ++reconnects;
    // 20 ms, doubling while failures repeat, at most 1 s.
    const unsigned shift = std::min(failures_in_row_++, 6u);
    timer_.expires_after(std::chrono::milliseconds(std::min(20u << shift, 1000u)));
    timer_.async_wait([self = shared_from_this()](beast::error_code) { self->Connect(); });
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    beast::error_code ignored;
    sock_.close(ignored);
    timer_.cancel();
    if (sh_.active.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(sh_.mu);
      sh_.cv.notify_all();
    }
  }

  // The request line and headers up to (not including) the blank line.
  void Head(std::string_view method, std::string_view target_prefix, const uint64_t* key, std::string_view suffix = {}) {
    req_.append(method);
    req_ += ' ';
    req_.append(target_prefix);
    if (key) AppendU64(req_, *key);
    req_.append(suffix);
    req_.append(" HTTP/1.1\r\n");
    req_.append(sh_.head_tail);
  }

  void Body(std::string_view content_type, size_t length) {
    req_.append("Content-Type: ");
    req_.append(content_type);
    req_.append("\r\nContent-Length: ");
    AppendU64(req_, length);
    req_.append("\r\n\r\n");
  }

  void BuildRead(uint64_t key) {
    is_read_ = true;
    check_body_ = false;
    switch (opt_.route) {
      case Route::kGetFast:
        Head("GET", "/v1/get_fast/", &key);
        check_body_ = true;
        break;
      case Route::kLookup:
        Head("GET", "/v1/lookup?key=", &key);
        break;
      case Route::kKv:
        Head("GET", "/v1/kv/", &key);
        check_body_ = true;
        break;
      case Route::kStatic:
      case Route::kEtcd:
        Head("GET", opt_.path, nullptr);
        break;
    }
    req_.append("\r\n");
  }

  void BuildWrite(uint64_t key) {
    is_read_ = false;
    switch (opt_.route) {
      case Route::kKv:
        Head("PUT", "/v1/kv/", &key);
        Body("application/octet-stream", sh_.value.size());
        req_.append(sh_.value);
        return;
      case Route::kEtcd: {
        std::string k = "k";
        AppendU64(k, key);
        body_.assign("{\"key\":\"").append(Base64(k)).append("\",\"value\":\"").append(sh_.value_b64).append("\"}");
        Head("POST", "/v3/kv/put", nullptr);
        Body("application/json", body_.size());
        req_.append(body_);
        return;
      }
      default: {
        // {"key":K,"value":"V"}
        body_.assign("{\"key\":");
        AppendU64(body_, key);
        body_.append(",\"value\":\"").append(sh_.value).append("\"}");
        Head("POST", "/v1/put", nullptr);
        Body("application/json", body_.size());
        req_.append(body_);
        return;
      }
    }
  }

  // One batch of the load: keys [first, first + count).
  void BuildLoad(uint64_t first, uint64_t count) {
    is_read_ = false;
    if (count == 1 && opt_.load_batch == 1) return BuildWrite(first);
    std::string& body = body_;
    body.clear();
    body.append("{\"items\":[");
    for (uint64_t k = first; k < first + count; ++k) {
      if (k != first) body += ',';
      body.append("{\"key\":");
      AppendU64(body, k);
      body.append(",\"value\":\"").append(sh_.value).append("\"}");
    }
    body.append("]}");
    Head("POST", "/v1/batch/put", nullptr);
    Body("application/json", body.size());
    req_.append(body);
  }

  bool BuildRequest() {
    req_.clear();
    switch (sh_.spec.kind) {
      case PhaseKind::kLoad: {
        if (batch_count_ == 0) {
          uint64_t step = opt_.load_batch;
          uint64_t first = sh_.next_load.fetch_add(step, std::memory_order_relaxed);
          if (first >= sh_.spec.load_end) return false;
          batch_first_ = first;
          batch_count_ = std::min<uint64_t>(step, sh_.spec.load_end - first);
          batch_retries_ = 0;
        }
        BuildLoad(batch_first_, batch_count_);
        return true;
      }
      case PhaseKind::kRead:
        BuildRead(sh_.keys.Next(rng_));
        return true;
      case PhaseKind::kWrite:
        BuildWrite(sh_.keys.Next(rng_));
        return true;
      case PhaseKind::kMixed: {
        bool read = rng_.NextDouble() < sh_.spec.mix;
        uint64_t key = sh_.keys.Next(rng_);
        if (read) {
          BuildRead(key);
        } else {
          BuildWrite(key);
        }
        return true;
      }
    }
    return false;
  }

  const Options& opt_;
  Runner::Shared& sh_;
  asio::strand<asio::io_context::executor_type> strand_;
  tcp::socket sock_;
  asio::steady_timer timer_;
  beast::flat_buffer buf_;
  std::optional<ResponseSink> parser_;
  std::string req_;
  std::string body_;
  Rng rng_;
  Clock::time_point t0_;
  bool is_read_ = true;
  bool check_body_ = false;
  bool connecting_ = false;
  bool aborted_ = false;
  bool finished_ = false;
  uint64_t batch_first_ = 0;
  uint64_t batch_count_ = 0;
  unsigned batch_retries_ = 0;
  unsigned failures_in_row_ = 0;
};

Runner::Runner(const Options& options) : opt_(options), shared_(std::make_unique<Shared>(options)) {
  Shared& sh = *shared_;
  tcp::resolver resolver(sh.ioc);
  sh.endpoints = resolver.resolve(opt_.host, opt_.port);
  sh.value.resize(opt_.val_bytes);
  for (size_t i = 0; i < sh.value.size(); ++i) sh.value[i] = static_cast<char>('a' + i % 26);
  sh.value_b64 = Base64(sh.value);
  sh.head_tail = "Host: " + opt_.host_header + "\r\n";
  if (!opt_.auth_token.empty()) sh.head_tail += "Authorization: Bearer " + opt_.auth_token + "\r\n";
  sh.guard.emplace(sh.ioc.get_executor());
  for (unsigned i = 0; i < opt_.threads; ++i) sh.threads.emplace_back([&sh] { sh.ioc.run(); });
}

Runner::~Runner() {
  Shared& sh = *shared_;
  sh.guard.reset();
  sh.ioc.stop();
  for (auto& t : sh.threads) t.join();
}

namespace {

std::string Rate(double v) {
  char buf[32];
  if (v >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  } else if (v >= 1e4) {
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  }
  return buf;
}

}  // namespace

PhaseResult Runner::Run(const PhaseSpec& spec) {
  Shared& sh = *shared_;
  PhaseResult result;
  result.spec = spec;
  if (dead_) {
    result.drained = false;
    return result;
  }
  sh.spec = spec;
  sh.stop = false;
  sh.next_load = spec.load_begin;
  sh.completed = 0;
  sh.failed = 0;
  sh.loaded = 0;
  sh.active = spec.connections;

  std::vector<std::shared_ptr<Conn>> conns;
  conns.reserve(spec.connections);
  for (unsigned i = 0; i < spec.connections; ++i) {
    conns.push_back(std::make_shared<Conn>(*this, i + static_cast<unsigned>(spec.kind) * 100000u));
  }
  double cpu0 = ProcessCpuSeconds();
  sh.start = Clock::now();
  sh.deadline = sh.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(spec.seconds));
  for (auto& c : conns) c->Start();

  const bool tty = isatty(STDERR_FILENO) != 0;
  const auto tick = tty ? std::chrono::milliseconds(200) : std::chrono::milliseconds(1000);
  const double line_every = std::clamp(spec.seconds / 5, 2.0, 30.0);
  double last_line = 0;
  const auto grace = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.timeout_seconds));
  bool aborted = false;
  {
    std::unique_lock<std::mutex> lock(sh.mu);
    for (;;) {
      sh.cv.wait_for(lock, tick, [&] { return sh.active.load() == 0; });
      if (sh.active.load() == 0) break;
      Clock::time_point now = Clock::now();
      if (!aborted && now >= sh.deadline + grace) {
        // Past the drain grace: cut the stragglers (counted as "aborted").
        aborted = true;
        result.drained = false;
        lock.unlock();
        for (auto& c : conns) c->Abort();
        lock.lock();
      } else if (aborted && now >= sh.deadline + 2 * grace) {
        break;  // bounded even if a handler never returns
      }
      if (opt_.quiet) continue;
      double el = std::chrono::duration<double>(now - sh.start).count();
      uint64_t done = sh.completed.load(std::memory_order_relaxed);
      uint64_t fail = sh.failed.load(std::memory_order_relaxed);
      double frac = spec.kind == PhaseKind::kLoad && spec.load_end > spec.load_begin
                        ? static_cast<double>(sh.loaded.load()) / static_cast<double>(spec.load_end - spec.load_begin)
                        : el / std::max(spec.seconds, 1e-9);
      frac = std::clamp(frac, 0.0, 1.0);
      std::string what = spec.kind == PhaseKind::kLoad
                             ? std::to_string(sh.loaded.load()) + "/" + std::to_string(spec.load_end - spec.load_begin) + " keys"
                             : std::to_string(done) + " req";
      if (tty) {
        constexpr int kWidth = 30;
        int filled = static_cast<int>(frac * kWidth);
        std::string bar(static_cast<size_t>(filled), '#');
        bar.append(static_cast<size_t>(kWidth - filled), '-');
        std::fprintf(stderr, "\r\033[K%-12s [%s] %5.1fs  %s  %s/s  errors %llu", spec.name.c_str(), bar.c_str(), el,
                     what.c_str(), Rate(static_cast<double>(done) / std::max(el, 1e-3)).c_str(),
                     static_cast<unsigned long long>(fail));
        std::fflush(stderr);
      } else if (el - last_line >= line_every) {
        last_line = el;
        std::fprintf(stderr, "%s: %.0fs %s, %s/s, errors %llu\n", spec.name.c_str(), el, what.c_str(),
                     Rate(static_cast<double>(done) / std::max(el, 1e-3)).c_str(), static_cast<unsigned long long>(fail));
      }
    }
  }
  if (tty && !opt_.quiet) std::fprintf(stderr, "\r\033[K");
  Clock::time_point end = Clock::now();
  // Time until the deadline, or until the last connection finished when that
  // came first (a load that ran out of keys), never the drain after it.
  result.elapsed = std::chrono::duration<double>(std::min(end, std::max(sh.deadline, sh.start)) - sh.start).count();
  if (spec.kind == PhaseKind::kLoad) result.elapsed = std::chrono::duration<double>(end - sh.start).count();
  result.client_cpu = ProcessCpuSeconds() - cpu0;
  sh.stop = true;
  if (sh.active.load() != 0) {
    // A handler that never returned even after its socket was closed: stop
    // the io_context so the counters below are not read while written. The
    // runner cannot run another phase after this.
    sh.guard.reset();
    sh.ioc.stop();
    for (auto& t : sh.threads) t.join();
    sh.threads.clear();
    dead_ = true;
    std::fprintf(stderr, "kyrodb-bench: %u connections did not finish; stopping\n", sh.active.load());
  }
  for (auto& c : conns) {
    result.reads.Merge(c->reads);
    result.writes.Merge(c->writes);
    result.reconnects += c->reconnects;
    result.keys_loaded += c->keys_loaded;
  }
  return result;
}

Runner::Simple Runner::Request(const std::string& method, const std::string& target, const std::string& body,
                               std::chrono::milliseconds timeout) {
  Simple out;
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, opt_.host_header);
  if (!opt_.auth_token.empty()) req.set(bhttp::field::authorization, "Bearer " + opt_.auth_token);
  if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  bhttp::response<bhttp::string_body> res;
  stream.expires_after(timeout);
  stream.async_connect(shared_->endpoints, [&](beast::error_code ec, const tcp::endpoint&) {
    if (ec) {
      out.error = "connect: " + ec.message();
      return;
    }
    bhttp::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
      if (wec) {
        out.error = "write: " + wec.message();
        return;
      }
      bhttp::async_read(stream, buffer, res, [&](beast::error_code rec, std::size_t) {
        if (rec) {
          out.error = "read: " + rec.message();
          return;
        }
        out.status = static_cast<int>(res.result_int());
        out.body = res.body();
      });
    });
  });
  io.run_for(timeout + std::chrono::milliseconds(500));
  return out;
}

}  // namespace kyrodb::bench
