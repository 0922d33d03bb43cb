// Offline checker behind `kyrodb-engine verify --data-dir DIR`.
#pragma once

#include <string>

#include "kyrodb/fs.h"

namespace kyrodb {

// Reads every file of a (stopped) store without changing anything: the
// snapshot (every checksum, key order, value bounds), index-rmi.bin (checksum
// and that it indexes this snapshot exactly), and every WAL segment (every
// record's checksum, offsets contiguous from the snapshot on). Appends a
// human-readable line per file to `report`. Returns Corruption (or IOError)
// for the first problem that would stop the server from starting; a torn WAL
// tail, which recovery truncates, and a stale or damaged index file, which it
// rebuilds, are reported as warnings and keep the result ok.
Status VerifyDataDir(const std::string& dir, FileSystem* fs, std::string* report);

}  // namespace kyrodb
