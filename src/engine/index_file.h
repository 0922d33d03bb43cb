// index-rmi.bin on disk: load the learned index saved for the current
// snapshot, or build it and save it. The index layer turns an index into bytes
// and back (validating every byte); this file only decides when and moves the
// bytes through the FileSystem, keeping the index layer free of I/O.
#pragma once

#include <functional>
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
  // false only when loaded with defer_key_check: the index has passed every
  // check but routing the keys, and must not answer lookups until
  // VerifyIndexKeys says so.
  bool verified = true;
  double build_ms = 0;
};

// Loads index-rmi.bin when it exists and matches `snapshot` exactly; otherwise
// (missing, stale, damaged — a damaged file is logged, never trusted) builds
// the index and saves it with temp file + fsync + rename + directory fsync.
// A failure to save is logged and not fatal: the file is only a cache.
// defer_key_check: load with Rmi::DeserializeUnverified and leave the O(n)
// check of every key to VerifyIndexKeys (a server start does it after /ready,
// searching the keys without the index meanwhile: BaseTable).
IndexLoadResult LoadOrBuildIndex(FileSystem* fs, const std::string& dir, const Snapshot& snapshot,
                                 const index::RmiOptions& options, bool try_load, bool defer_key_check = false);

// The deferred half of loading: every key of the index's key array routed and
// checked, in chunks; gives up with Unavailable as soon as `stop()` returns true.
// On success *mean_error is the index's mean |predicted - true| position.
Status VerifyIndexKeys(const index::Rmi& rmi, const std::function<bool()>& stop, double* mean_error);

inline std::string IndexPath(const std::string& dir) { return dir + "/index-rmi.bin"; }

}  // namespace kyrodb
