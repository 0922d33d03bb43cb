// FileSystem: every byte the engine reads or writes goes through this interface.
//
// Why an interface: durability is only as good as the ordering of writes,
// fsyncs and renames. Tests swap in a file system that injects I/O errors or
// forgets everything not yet synced (simulated power loss); production uses
// PosixFileSystem(). All methods are thread-safe unless a class says otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kyrodb/status.h"

namespace kyrodb {

// A file opened for appending. Not thread-safe: one writer at a time.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends bytes at the end. Data may sit in OS buffers until Sync().
  virtual Status Append(std::span<const char> data) = 0;
  // Makes every appended byte durable (fdatasync). After a failed Sync the
  // state of the file is unknown: callers must not retry and trust it.
  virtual Status Sync() = 0;
  // Like Sync, but also flushes metadata (fsync).
  virtual Status FullSync() = 0;
  virtual Status Close() = 0;
  // Bytes in the file (existing length at open plus everything appended).
  virtual uint64_t Size() const = 0;

  // Writes zeros after the end, up to `bytes` past Size(), without moving the
  // end: Size() stays, the file grows, and later appends overwrite the zeros.
  // Why: on ext4 (and XFS) an fdatasync after an append must also commit the
  // new file size to the journal, one after an overwrite flushes only the
  // data; the WAL writes ahead so that its per-group sync is the cheap one.
  // The zeros are written back in the background and made durable by the
  // next Sync. Returns how many bytes past Size() now hold zeros; file
  // systems that do not write ahead (the default) return 0 and do nothing.
  virtual Status ZeroAhead(uint64_t bytes, uint64_t* ahead) {
    (void)bytes;
    *ahead = 0;
    return Status::OK();
  }
  // Cuts the zeros written ahead, so the file ends at Size() again. Durable
  // after FullSync().
  virtual Status TrimZerosAhead() { return Status::OK(); }
};

// A read-only view of a whole file. The bytes stay valid while the object lives.
class MappedFile {
 public:
  virtual ~MappedFile() = default;
  virtual const char* data() const = 0;
  virtual size_t size() const = 0;
  // Hints that the pages will be read soon (madvise WILLNEED).
  virtual void Prefetch() const {}
  // Hints that the file is read at random and should be mapped with 2 MiB
  // pages where the page cache holds it so (madvise HUGEPAGE; best effort).
  virtual void PreferHugePages() const {}
};

// An exclusive advisory lock on a file, held while the object lives.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Takes an exclusive lock on `path` (creating the file) so that a second
  // process cannot open the same store. Fails with IOError naming the path if
  // another process holds it. The default is for file systems no other
  // process can see (in-memory ones in tests): it excludes nothing.
  virtual Status LockFile(const std::string& path, std::unique_ptr<FileLock>* out) {
    (void)path;
    *out = std::make_unique<FileLock>();
    return Status::OK();
  }

  // Creates (or truncates) `path` for writing.
  virtual Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* out) = 0;
  // Opens an existing file to append at its end (creates it when missing).
  virtual Status NewAppendableFile(const std::string& path, std::unique_ptr<WritableFile>* out) = 0;
  // Reads the whole file into `out`.
  virtual Status ReadFile(const std::string& path, std::string* out) = 0;
  // Maps the whole file read-only.
  virtual Status MapFile(const std::string& path, std::unique_ptr<MappedFile>* out) = 0;

  virtual Status FileExists(const std::string& path, bool* exists) = 0;
  virtual Status FileSize(const std::string& path, uint64_t* size) = 0;
  // Names (not paths) of the entries in `dir`, unsorted.
  virtual Status ListDir(const std::string& dir, std::vector<std::string>* names) = 0;
  virtual Status CreateDirIfMissing(const std::string& dir) = 0;
  // Atomically replaces `to` with `from`. Durable only after SyncDir(parent).
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // Cuts a file to `size` bytes and makes the new length durable.
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  // Makes creations, renames and removals inside `dir` durable.
  virtual Status SyncDir(const std::string& dir) = 0;
};

// The real thing: POSIX calls, fdatasync/fsync, mmap. Process-wide singleton.
FileSystem* PosixFileSystem();

}  // namespace kyrodb
