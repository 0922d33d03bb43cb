// A FileSystem that can forget, like a machine losing power: every byte not
// yet synced, and every create, rename or remove whose directory was not
// synced afterwards. Used to crash the engine at every step of its protocols.
//
// How: it forwards to the real file system but remembers, per file, how many
// bytes were synced, and per directory the entry changes made since its last
// SyncDir. Crash() truncates every file to its synced length and undoes the
// unsynced entry changes newest first (a replaced or removed file is kept
// under a hidden hard link until its directory is synced, so it can return).
// After FreezeAt(n), the n-th mutating operation and every later one fail:
// the moment of the crash.
#pragma once

#include <unistd.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kyrodb/fs.h"

namespace kyrodb::test {

class PowerLossFs final : public FileSystem {
 public:
  explicit PowerLossFs(FileSystem* base) : base_(base) {}

  void FreezeAt(int64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    ops_ = 0;
    freeze_at_ = n;
  }
  int64_t ops() {
    std::lock_guard<std::mutex> lock(mu_);
    return ops_;
  }

  // Rolls the disk back to what was durable. Call with the store closed.
  void Crash() {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [path, synced] : synced_) {
      uint64_t size = 0;
      if (base_->FileSize(path, &size).ok() && size > synced) (void)::truncate(path.c_str(), static_cast<off_t>(synced));
    }
    for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
      const DirOp& op = *it;
      switch (op.kind) {
        case DirOp::kCreate:
          (void)::unlink(op.path.c_str());
          break;
        case DirOp::kRename:
          (void)::rename(op.path.c_str(), op.from.c_str());
          if (!op.saved.empty()) (void)::rename(op.saved.c_str(), op.path.c_str());
          break;
        case DirOp::kRemove:
          if (!op.saved.empty()) (void)::rename(op.saved.c_str(), op.path.c_str());
          break;
      }
    }
    pending_.clear();
    synced_.clear();
    freeze_at_ = -1;
  }

  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* out) override {
    std::lock_guard<std::mutex> lock(mu_);
    KYRODB_RETURN_IF_ERROR(TickLocked("create " + path));
    bool existed = false;
    (void)base_->FileExists(path, &existed);
    std::string saved;
    if (existed) saved = SaveLocked(path);  // truncation replaces the old contents
    std::unique_ptr<WritableFile> f;
    KYRODB_RETURN_IF_ERROR(base_->NewWritableFile(path, &f));
    if (existed) {
      // Model O_TRUNC of a durable file as remove + create.
      pending_.push_back({DirOp::kRemove, path, "", saved});
    }
    pending_.push_back({DirOp::kCreate, path, "", ""});
    synced_[path] = 0;
    *out = std::make_unique<File>(this, path, std::move(f));
    return Status::OK();
  }
  Status NewAppendableFile(const std::string& path, std::unique_ptr<WritableFile>* out) override {
    std::lock_guard<std::mutex> lock(mu_);
    KYRODB_RETURN_IF_ERROR(TickLocked("open " + path));
    std::unique_ptr<WritableFile> f;
    KYRODB_RETURN_IF_ERROR(base_->NewAppendableFile(path, &f));
    if (!synced_.count(path)) synced_[path] = f->Size();
    *out = std::make_unique<File>(this, path, std::move(f));
    return Status::OK();
  }
  Status LockFile(const std::string& p, std::unique_ptr<FileLock>* out) override { return base_->LockFile(p, out); }
  Status ReadFile(const std::string& p, std::string* out) override { return base_->ReadFile(p, out); }
  Status MapFile(const std::string& p, std::unique_ptr<MappedFile>* out) override { return base_->MapFile(p, out); }
  Status FileExists(const std::string& p, bool* e) override { return base_->FileExists(p, e); }
  Status FileSize(const std::string& p, uint64_t* s) override { return base_->FileSize(p, s); }
  Status ListDir(const std::string& d, std::vector<std::string>* names) override {
    KYRODB_RETURN_IF_ERROR(base_->ListDir(d, names));
    std::erase_if(*names, [](const std::string& n) { return n.starts_with(".powerloss-"); });
    return Status::OK();
  }
  Status CreateDirIfMissing(const std::string& d) override { return base_->CreateDirIfMissing(d); }
  Status Rename(const std::string& from, const std::string& to) override {
    std::lock_guard<std::mutex> lock(mu_);
    KYRODB_RETURN_IF_ERROR(TickLocked("rename " + from));
    bool existed = false;
    (void)base_->FileExists(to, &existed);
    std::string saved = existed ? SaveLocked(to) : "";
    KYRODB_RETURN_IF_ERROR(base_->Rename(from, to));
    pending_.push_back({DirOp::kRename, to, from, saved});
    if (auto it = synced_.find(from); it != synced_.end()) {
      synced_[to] = it->second;
      synced_.erase(it);
    }
    return Status::OK();
  }
  Status RemoveFile(const std::string& p) override {
    std::lock_guard<std::mutex> lock(mu_);
    KYRODB_RETURN_IF_ERROR(TickLocked("remove " + p));
    std::string saved = SaveLocked(p);
    KYRODB_RETURN_IF_ERROR(base_->RemoveFile(p));
    pending_.push_back({DirOp::kRemove, p, "", saved});
    synced_.erase(p);
    return Status::OK();
  }
  Status Truncate(const std::string& p, uint64_t size) override {
    std::lock_guard<std::mutex> lock(mu_);
    KYRODB_RETURN_IF_ERROR(TickLocked("truncate " + p));
    KYRODB_RETURN_IF_ERROR(base_->Truncate(p, size));  // durable by contract
    if (auto it = synced_.find(p); it != synced_.end()) it->second = std::min(it->second, size);
    return Status::OK();
  }
  Status SyncDir(const std::string& d) override {
    std::lock_guard<std::mutex> lock(mu_);
    KYRODB_RETURN_IF_ERROR(TickLocked("syncdir " + d));
    KYRODB_RETURN_IF_ERROR(base_->SyncDir(d));
    // Every entry change in `d` is durable now; saved copies are garbage.
    std::vector<DirOp> keep;
    for (DirOp& op : pending_) {
      if (DirOf(op.path) == d) {
        if (!op.saved.empty()) (void)::unlink(op.saved.c_str());
      } else {
        keep.push_back(std::move(op));
      }
    }
    pending_ = std::move(keep);
    return Status::OK();
  }

 private:
  struct DirOp {
    enum Kind { kCreate, kRename, kRemove } kind;
    std::string path;   // the entry changed (rename: the new name)
    std::string from;   // rename: the old name
    std::string saved;  // hard link keeping replaced/removed contents
  };

  class File final : public WritableFile {
   public:
    File(PowerLossFs* fs, std::string path, std::unique_ptr<WritableFile> f)
        : fs_(fs), path_(std::move(path)), f_(std::move(f)) {}
    Status Append(std::span<const char> d) override {
      KYRODB_RETURN_IF_ERROR(fs_->Tick("append " + path_));
      return f_->Append(d);
    }
    Status Sync() override { return DoSync(false); }
    Status FullSync() override { return DoSync(true); }
    Status Close() override { return f_->Close(); }
    uint64_t Size() const override { return f_->Size(); }

   private:
    Status DoSync(bool full) {
      std::lock_guard<std::mutex> lock(fs_->mu_);
      KYRODB_RETURN_IF_ERROR(fs_->TickLocked("sync " + path_));
      KYRODB_RETURN_IF_ERROR(full ? f_->FullSync() : f_->Sync());
      // The file may have been renamed since it was opened: sync its current name.
      for (auto& [p, synced] : fs_->synced_) {
        if (p == path_ || fs_->RenamedFrom(p) == path_) synced = f_->Size();
      }
      return Status::OK();
    }
    PowerLossFs* fs_;
    std::string path_;
    std::unique_ptr<WritableFile> f_;
  };

  static std::string DirOf(const std::string& path) { return path.substr(0, path.rfind('/')); }

  std::string RenamedFrom(const std::string& to) const {
    for (const DirOp& op : pending_) {
      if (op.kind == DirOp::kRename && op.path == to) return op.from;
    }
    return "";
  }

  std::string SaveLocked(const std::string& path) {
    const std::string saved = DirOf(path) + "/.powerloss-" + std::to_string(++saves_);
    if (::link(path.c_str(), saved.c_str()) != 0) return "";
    return saved;
  }

  Status Tick(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    return TickLocked(what);
  }
  Status TickLocked(const std::string& what) {
    ++ops_;
    if (freeze_at_ > 0 && ops_ >= freeze_at_) return Status::IOError("power lost before " + what);
    return Status::OK();
  }

  FileSystem* base_;
  std::mutex mu_;
  std::map<std::string, uint64_t> synced_;  // path -> bytes known durable
  std::vector<DirOp> pending_;              // entry changes not yet made durable
  int64_t ops_ = 0;
  int64_t freeze_at_ = -1;
  uint64_t saves_ = 0;
};

}  // namespace kyrodb::test
