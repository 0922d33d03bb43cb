// Flags of kyrodb-bench (see Usage() in options.cpp and docs/BENCHMARKS.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace kyrodb::bench {

enum class Route { kGetFast, kLookup, kKv, kStatic, kEtcd };

struct Options {
  std::string base = "http://127.0.0.1:3030";
  // From base: host (without brackets), port, and the Host header value.
  std::string host = "127.0.0.1";
  std::string port = "3030";
  std::string host_header = "127.0.0.1:3030";
  bool allow_remote = false;

  uint64_t load_n = 0;
  size_t load_batch = 1000;
  unsigned load_concurrency = 4;
  double load_timeout = 900;  // seconds; the load phase stops there, whatever is left
  bool build_index = true;    // POST /v1/rmi/build after the load

  size_t val_bytes = 64;
  std::optional<uint64_t> key_space;  // keys drawn from [0, key_space); default load_n or 1M

  unsigned read_concurrency = 64;
  double read_seconds = 10;
  unsigned write_concurrency = 64;
  double write_seconds = 0;
  std::optional<double> mix;  // read fraction of the mixed phase
  double mix_seconds = -1;    // default: read_seconds
  double warmup_seconds = 1;
  double admin_every = 0;  // POST /v1/compact and /v1/rmi/build in turn, every S seconds

  bool zipf = false;
  double zipf_theta = 0.99;
  bool zipf_scramble = true;

  Route route = Route::kGetFast;
  std::string path = "/";  // --route static
  std::string auth_token;

  unsigned threads = 1;
  double timeout_seconds = 5;  // connect timeout, and the drain grace after a phase
  double wait_ready = 0;       // poll /ready for up to this long before starting
  uint64_t seed = 42;
  std::string label = "kyrodb";
  std::string out;
  bool quiet = false;

  uint64_t KeySpace() const { return key_space ? *key_space : (load_n ? load_n : 1000000); }
};

// Parses argv; on --help prints usage and exits 0; on a bad flag prints the
// problem and exits 2.
Options ParseOptions(int argc, char** argv);
const char* RouteName(Route r);

}  // namespace kyrodb::bench
