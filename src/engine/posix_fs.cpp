// PosixFileSystem: the production FileSystem, plain POSIX calls.
//
// Every call retries EINTR and turns errno into an IOError that names the
// path and the operation, so a log line says exactly what the disk refused.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "kyrodb/fs.h"

namespace kyrodb {
namespace {

// open(2), retried while a signal interrupts it.
int OpenRetry(const std::string& path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

Status PosixError(const std::string& what, const std::string& path, int err) {
  std::string msg = what + " " + path + ": " + std::strerror(err);
  return Status::IOError(std::move(msg));
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size, bool append_mode)
      : path_(std::move(path)), fd_(fd), size_(size), end_(size), append_mode_(append_mode) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  // Writes at size_ with pwrite, never at the descriptor's position, so zeros
  // written ahead (ZeroAhead) are overwritten in place.
  Status Append(std::span<const char> data) override {
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = append_mode_ ? ::write(fd_, p, left) : ::pwrite(fd_, p, left, static_cast<off_t>(size_));
      if (n < 0) {
        if (errno == EINTR) continue;
        return PosixError("write", path_, errno);
      }
      p += n;
      left -= static_cast<size_t>(n);
      size_ += static_cast<uint64_t>(n);
    }
    end_ = std::max(end_, size_);
    return Status::OK();
  }

  Status ZeroAhead(uint64_t bytes, uint64_t* ahead) override {
    // O_APPEND writes always land at the end: nothing can be written ahead.
    if (!append_mode_ && end_ < size_ + bytes) {
      static const std::string kZeros(1 << 16, '\0');
      const uint64_t from = end_;
      const uint64_t to = size_ + bytes;
      while (end_ < to) {
        const size_t chunk = static_cast<size_t>(std::min<uint64_t>(kZeros.size(), to - end_));
        ssize_t n = ::pwrite(fd_, kZeros.data(), chunk, static_cast<off_t>(end_));
        if (n < 0) {
          if (errno == EINTR) continue;
          return PosixError("write", path_, errno);
        }
        end_ += static_cast<uint64_t>(n);
      }
      // Start writing the zeros back now, so the next fdatasync finds them
      // on disk (or on their way) instead of flushing them itself. A hint:
      // failure changes nothing.
      (void)::sync_file_range(fd_, static_cast<off_t>(from), static_cast<off_t>(to - from), SYNC_FILE_RANGE_WRITE);
    }
    *ahead = end_ - size_;
    return Status::OK();
  }

  Status TrimZerosAhead() override {
    if (end_ == size_) return Status::OK();
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) return PosixError("ftruncate", path_, errno);
    end_ = size_;
    return Status::OK();
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0) return PosixError("fdatasync", path_, errno);
    return Status::OK();
  }

  Status FullSync() override {
    if (::fsync(fd_) != 0) return PosixError("fsync", path_, errno);
    return Status::OK();
  }

  Status Close() override {
    if (fd_ < 0) return Status::OK();
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) return PosixError("close", path_, errno);
    return Status::OK();
  }

  uint64_t Size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;  // where the next append goes
  uint64_t end_;   // the file's length: size_ plus zeros written ahead
  bool append_mode_;
};

class PosixMappedFile final : public MappedFile {
 public:
  PosixMappedFile(void* base, size_t size) : base_(base), size_(size) {}
  ~PosixMappedFile() override {
    if (base_ != nullptr) ::munmap(base_, size_);
  }
  const char* data() const override { return static_cast<const char*>(base_); }
  size_t size() const override { return size_; }
  void Prefetch() const override {
    if (base_ != nullptr) ::madvise(base_, size_, MADV_WILLNEED);
  }
  // A snapshot is read at random: with 4 KiB pages nearly every GET missed
  // the TLB on the key, position and value pages, which on a VM (nested
  // paging) cost ~10 % of a GET (docs/BENCHMARKS.md). The kernel maps page-
  // cache folios of 2 MiB with one PMD entry whether asked or not; this asks
  // it to also read such folios when the file faults in cold. Not for files
  // that may not fit in memory: then every random miss would read 2 MiB.
  void PreferHugePages() const override {
    constexpr size_t kHuge = size_t{2} << 20;
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long page = ::sysconf(_SC_PAGESIZE);
    if (base_ == nullptr || size_ < kHuge || pages <= 0 || page <= 0) return;
    if (size_ > static_cast<size_t>(pages) / 2 * static_cast<size_t>(page)) return;
    (void)::madvise(base_, size_, MADV_HUGEPAGE);  // EINVAL without THP: nothing lost
  }

 private:
  void* base_;
  size_t size_;
};

// An empty file cannot be mapped; it still is a valid (empty) view.
class EmptyMappedFile final : public MappedFile {
 public:
  const char* data() const override { return ""; }
  size_t size() const override { return 0; }
};

Status OpenForWrite(const std::string& path, int flags, std::unique_ptr<WritableFile>* out) {
  int fd = OpenRetry(path, flags | O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return PosixError("open", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return PosixError("fstat", path, err);
  }
  *out = std::make_unique<PosixWritableFile>(path, fd, static_cast<uint64_t>(st.st_size), (flags & O_APPEND) != 0);
  return Status::OK();
}

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { ::close(fd_); }  // closing drops the flock

 private:
  int fd_;
};

class PosixFs final : public FileSystem {
 public:
  Status LockFile(const std::string& path, std::unique_ptr<FileLock>* out) override {
    int fd = OpenRetry(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return PosixError("open", path, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return Status::IOError(path + " is locked: another kyrodb-engine is using this data directory");
      }
      return PosixError("flock", path, err);
    }
    *out = std::make_unique<PosixFileLock>(fd);
    return Status::OK();
  }

  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* out) override {
    return OpenForWrite(path, O_TRUNC, out);
  }

  Status NewAppendableFile(const std::string& path, std::unique_ptr<WritableFile>* out) override {
    return OpenForWrite(path, O_APPEND, out);
  }

  Status ReadFile(const std::string& path, std::string* out) override {
    int fd = OpenRetry(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PosixError("open", path, errno);
    out->clear();
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        return PosixError("read", path, err);
      }
      if (n == 0) break;
      out->append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return Status::OK();
  }

  Status MapFile(const std::string& path, std::unique_ptr<MappedFile>* out) override {
    int fd = OpenRetry(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PosixError("open", path, errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return PosixError("fstat", path, err);
    }
    auto size = static_cast<size_t>(st.st_size);
    if (size == 0) {
      ::close(fd);
      *out = std::make_unique<EmptyMappedFile>();
      return Status::OK();
    }
    void* base = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    int err = errno;
    ::close(fd);  // the mapping keeps the file alive
    if (base == MAP_FAILED) return PosixError("mmap", path, err);
    *out = std::make_unique<PosixMappedFile>(base, size);
    return Status::OK();
  }

  Status FileExists(const std::string& path, bool* exists) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      *exists = true;
      return Status::OK();
    }
    if (errno == ENOENT) {
      *exists = false;
      return Status::OK();
    }
    return PosixError("stat", path, errno);
  }

  Status FileSize(const std::string& path, uint64_t* size) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return PosixError("stat", path, errno);
    *size = static_cast<uint64_t>(st.st_size);
    return Status::OK();
  }

  Status ListDir(const std::string& dir, std::vector<std::string>* names) override {
    names->clear();
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return PosixError("opendir", dir, errno);
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names->push_back(std::move(name));
    }
    ::closedir(d);
    return Status::OK();
  }

  Status CreateDirIfMissing(const std::string& dir) override {
    if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) {
      struct stat st {};
      if (::stat(dir.c_str(), &st) != 0) return PosixError("stat", dir, errno);
      if (!S_ISDIR(st.st_mode)) return Status::IOError(dir + " exists and is not a directory");
      return Status::OK();
    }
    return PosixError("mkdir", dir, errno);
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return PosixError("rename to " + to + " from", from, errno);
    return Status::OK();
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return PosixError("unlink", path, errno);
    return Status::OK();
  }

  Status Truncate(const std::string& path, uint64_t size) override {
    int fd = OpenRetry(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return PosixError("open", path, errno);
    Status s;
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
      s = PosixError("ftruncate", path, errno);
    } else if (::fsync(fd) != 0) {
      s = PosixError("fsync", path, errno);
    }
    ::close(fd);
    return s;
  }

  Status SyncDir(const std::string& dir) override {
    int fd = OpenRetry(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return PosixError("open", dir, errno);
    Status s;
    if (::fsync(fd) != 0) s = PosixError("fsync", dir, errno);
    ::close(fd);
    return s;
  }
};

}  // namespace

FileSystem* PosixFileSystem() {
  static PosixFs fs;
  return &fs;
}

}  // namespace kyrodb
