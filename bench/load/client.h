// The load engine of kyrodb-bench: keep-alive connections on one io_context
// run by N threads, each connection a closed loop (one request in flight),
// latency from the first byte sent to the last byte received.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "histogram.h"
#include "keygen.h"
#include "options.h"

namespace kyrodb::bench {

using Clock = std::chrono::steady_clock;

enum class PhaseKind { kLoad, kRead, kWrite, kMixed };
const char* PhaseKindName(PhaseKind k);

// What one connection saw for one kind of request (read or write).
struct OpStats {
  LatencyHistogram hist;
  std::array<uint64_t, 600> status{};         // completed responses by status code
  std::map<std::string, uint64_t> transport;  // connect/write/read failures by kind
  uint64_t bad_body = 0;                      // 200 with a body size != --val-bytes
  uint64_t bytes_in = 0;

  void Merge(const OpStats& o);
  uint64_t Completed() const;
  uint64_t Non2xx() const;
  uint64_t TransportErrors() const;
};

struct PhaseSpec {
  std::string name;  // "load", "warmup-read", "read", ...
  PhaseKind kind = PhaseKind::kRead;
  unsigned connections = 1;
  double seconds = 0;
  double mix = 1.0;  // kMixed: read probability
  uint64_t load_begin = 0;
  uint64_t load_end = 0;
};

struct PhaseResult {
  PhaseSpec spec;
  double elapsed = 0;         // from the start to the last response
  double client_cpu = 0;      // user+sys seconds of this process during the phase
  uint64_t reconnects = 0;
  bool drained = true;        // false: connections had to be cut after the grace
  uint64_t keys_loaded = 0;   // kLoad: keys acknowledged
  OpStats reads;
  OpStats writes;
  OpStats All() const;
};

class Runner {
 public:
  explicit Runner(const Options& options);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Runs one phase to completion (bounded by its seconds plus the drain
  // grace), drawing progress on stderr.
  PhaseResult Run(const PhaseSpec& spec);

  // One request on a fresh connection with a deadline; status 0 on failure.
  struct Simple {
    int status = 0;
    std::string body;
    std::string error;
  };
  Simple Request(const std::string& method, const std::string& target, const std::string& body,
                 std::chrono::milliseconds timeout);

  const Options& options() const { return opt_; }
  bool dead() const { return dead_; }

 private:
  friend class Conn;
  struct Shared;
  const Options& opt_;
  std::unique_ptr<Shared> shared_;
  bool dead_ = false;
};

}  // namespace kyrodb::bench
