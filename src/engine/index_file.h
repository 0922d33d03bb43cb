// index-rmi.bin on disk: load the learned index saved for the current
// snapshot, or build it and save it. The index layer turns an index into bytes
// and back (validating every byte); this file only decides when and moves the
// bytes through the FileSystem, keeping the index layer free of I/O.
#pragma once

#include <memory>
#include <string>

#include "engine/snapshot.h"
#include "index/rmi.h"
#include "kyrodb/fs.h"

namespace kyrodb {

struct IndexLoadResult {
  Status status;  // not ok only when the index cannot be built at all
  std::shared_ptr<const index::Rmi> index;
  bool loaded_from_file = false;  // false: built now (and saved)
  double build_ms = 0;
};

// Loads index-rmi.bin when it exists and matches `snapshot` exactly; otherwise
// (missing, stale, damaged — a damaged file is logged, never trusted) builds
// the index and saves it with temp file + fsync + rename + directory fsync.
// A failure to save is logged and not fatal: the file is only a cache.
IndexLoadResult LoadOrBuildIndex(FileSystem* fs, const std::string& dir, const Snapshot& snapshot,
                                 const index::RmiOptions& options, bool try_load);

inline std::string IndexPath(const std::string& dir) { return dir + "/index-rmi.bin"; }

}  // namespace kyrodb
