// Command line and environment of kyrodb-engine (SPEC §3).
//
//   kyrodb-engine serve [HOST [PORT]] [--data-dir DIR] [--SETTING VALUE ...]
//   kyrodb-engine verify [--data-dir DIR]
//   kyrodb-engine version
//   kyrodb-engine --help | help | serve --help
//
// Every setting reads a KYRODB_* variable; the matching flag (the variable
// name without the prefix, lower-case, '_' -> '-': KYRODB_FSYNC_POLICY ->
// --fsync-policy) and the positional HOST/PORT win over it. Tokens are read
// from the environment only, so they never show up in `ps`.
//
// Parsing is a pure function of argv, the environment map and the number of
// usable CPUs (kyrodb::UsableCpus: affinity mask and cgroup CPU quota): it never reads the real environment, so tests can drive
// every case.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "http/http_options.h"
#include "kyrodb/options.h"

namespace kyrodb::config {

struct ServerConfig {
  kyrodb::Options store;
  http::HttpOptions http;
  std::string log_level = "info";
};

enum class Command { kServe, kVerify, kVersion, kHelp };

struct ParseResult {
  Command command = Command::kHelp;
  // kServe: everything; kVerify: store.data_dir and log_level.
  ServerConfig config;
  // Non-empty: the arguments or a variable are invalid. Names the variable or
  // flag and the accepted values; main prints it and exits 2.
  std::string error;
  // Things that work but probably are not what the operator meant.
  std::vector<std::string> warnings;
  // For kHelp: the text to print.
  std::string help;

  bool ok() const { return error.empty(); }
};

using Environment = std::map<std::string, std::string>;

// `args` excludes argv[0].
ParseResult ParseCommandLine(const std::vector<std::string>& args, const Environment& env,
                             unsigned usable_cpus);

// The process environment as a map (for main only).
Environment EnvironmentFromProcess();

// Usage text of the whole program.
std::string UsageText();

}  // namespace kyrodb::config
