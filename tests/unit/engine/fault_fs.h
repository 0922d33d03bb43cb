// A FileSystem wrapper that fails chosen operations, for I/O fault tests.
#pragma once

#include <atomic>
#include <string>

#include "kyrodb/fs.h"

namespace kyrodb::test {

// Counts every operation that changes the disk (create, append, sync, rename,
// remove, truncate, directory sync) and fails the `fail_at`-th one (1-based)
// and, when `sticky`, every later one, with an IOError (like a dead disk).
class FaultFs final : public FileSystem {
 public:
  explicit FaultFs(FileSystem* base) : base_(base) {}

  void FailAt(int64_t n, bool sticky) {
    count_ = 0;
    fail_at_ = n;
    sticky_ = sticky;
  }
  void Heal() { fail_at_ = -1; }
  int64_t count() const { return count_.load(); }

  Status Tick(const std::string& what) {
    const int64_t n = ++count_;
    const int64_t at = fail_at_.load();
    if (at > 0 && (n == at || (sticky_ && n > at))) return Status::IOError("injected fault on " + what);
    return Status::OK();
  }

  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* out) override {
    KYRODB_RETURN_IF_ERROR(Tick("create " + path));
    std::unique_ptr<WritableFile> f;
    KYRODB_RETURN_IF_ERROR(base_->NewWritableFile(path, &f));
    *out = std::make_unique<File>(this, std::move(f));
    return Status::OK();
  }
  Status NewAppendableFile(const std::string& path, std::unique_ptr<WritableFile>* out) override {
    KYRODB_RETURN_IF_ERROR(Tick("open " + path));
    std::unique_ptr<WritableFile> f;
    KYRODB_RETURN_IF_ERROR(base_->NewAppendableFile(path, &f));
    *out = std::make_unique<File>(this, std::move(f));
    return Status::OK();
  }
  Status LockFile(const std::string& p, std::unique_ptr<FileLock>* out) override { return base_->LockFile(p, out); }
  Status ReadFile(const std::string& p, std::string* out) override { return base_->ReadFile(p, out); }
  Status MapFile(const std::string& p, std::unique_ptr<MappedFile>* out) override { return base_->MapFile(p, out); }
  Status FileExists(const std::string& p, bool* e) override { return base_->FileExists(p, e); }
  Status FileSize(const std::string& p, uint64_t* s) override { return base_->FileSize(p, s); }
  Status ListDir(const std::string& d, std::vector<std::string>* n) override { return base_->ListDir(d, n); }
  Status CreateDirIfMissing(const std::string& d) override { return base_->CreateDirIfMissing(d); }
  Status Rename(const std::string& from, const std::string& to) override {
    KYRODB_RETURN_IF_ERROR(Tick("rename " + from));
    return base_->Rename(from, to);
  }
  Status RemoveFile(const std::string& p) override {
    KYRODB_RETURN_IF_ERROR(Tick("remove " + p));
    return base_->RemoveFile(p);
  }
  Status Truncate(const std::string& p, uint64_t size) override {
    KYRODB_RETURN_IF_ERROR(Tick("truncate " + p));
    return base_->Truncate(p, size);
  }
  Status SyncDir(const std::string& d) override {
    KYRODB_RETURN_IF_ERROR(Tick("syncdir " + d));
    return base_->SyncDir(d);
  }

 private:
  class File final : public WritableFile {
   public:
    File(FaultFs* fs, std::unique_ptr<WritableFile> f) : fs_(fs), f_(std::move(f)) {}
    Status Append(std::span<const char> d) override {
      KYRODB_RETURN_IF_ERROR(fs_->Tick("append"));
      return f_->Append(d);
    }
    Status Sync() override {
      KYRODB_RETURN_IF_ERROR(fs_->Tick("sync"));
      return f_->Sync();
    }
    Status FullSync() override {
      KYRODB_RETURN_IF_ERROR(fs_->Tick("fullsync"));
      return f_->FullSync();
    }
    Status Close() override { return f_->Close(); }
    uint64_t Size() const override { return f_->Size(); }

   private:
    FaultFs* fs_;
    std::unique_ptr<WritableFile> f_;
  };

  FileSystem* base_;
  std::atomic<int64_t> count_{0};
  std::atomic<int64_t> fail_at_{-1};
  std::atomic<bool> sticky_{false};
};

}  // namespace kyrodb::test
