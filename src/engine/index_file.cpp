#include "engine/index_file.h"

#include <chrono>

#include "log/log.h"

namespace kyrodb {
namespace {

Status SaveIndex(FileSystem* fs, const std::string& dir, const std::string& bytes) {
  const std::string tmp = IndexPath(dir) + ".tmp";
  std::unique_ptr<WritableFile> file;
  KYRODB_RETURN_IF_ERROR(fs->NewWritableFile(tmp, &file));
  KYRODB_RETURN_IF_ERROR(file->Append(bytes));
  KYRODB_RETURN_IF_ERROR(file->FullSync());
  KYRODB_RETURN_IF_ERROR(file->Close());
  KYRODB_RETURN_IF_ERROR(fs->Rename(tmp, IndexPath(dir)));
  return fs->SyncDir(dir);
}

}  // namespace

IndexLoadResult LoadOrBuildIndex(FileSystem* fs, const std::string& dir, const Snapshot& snapshot,
                                 const index::RmiOptions& options, bool try_load, bool defer_key_check) {
  IndexLoadResult result;
  const std::string path = IndexPath(dir);
  if (try_load) {
    bool exists = false;
    std::string bytes;
    if (fs->FileExists(path, &exists).ok() && exists) {
      Status s = fs->ReadFile(path, &bytes);
      std::unique_ptr<index::Rmi> loaded;
      if (s.ok()) {
        s = defer_key_check ? index::Rmi::DeserializeUnverified(bytes, snapshot.keys(), snapshot.id(), &loaded)
                            : index::Rmi::Deserialize(bytes, snapshot.keys(), snapshot.id(), &loaded);
      }
      if (s.ok()) {
        result.index = std::move(loaded);
        result.loaded_from_file = true;
        result.verified = !defer_key_check;
        return result;
      }
      log::Warn("index_file_rejected", {{"file", path}, {"reason", s.ToString()}});
    }
  }
  const auto start = std::chrono::steady_clock::now();
  // The snapshot loader already proved the keys strictly increasing, so only
  // the index's own size limit can make Build refuse.
  std::shared_ptr<const index::Rmi> built = index::Rmi::Build(snapshot.keys(), options);
  if (built == nullptr) {
    result.status = Status::InvalidArgument("cannot index " + std::to_string(snapshot.count()) +
                                            " keys: more than the learned index supports");
    return result;
  }
  result.build_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  Status s = SaveIndex(fs, dir, built->Serialize(snapshot.id()));
  if (!s.ok()) log::Warn("index_file_save_failed", {{"file", path}, {"error", s.ToString()}});
  result.index = std::move(built);
  return result;
}

}  // namespace kyrodb

namespace kyrodb {

Status VerifyIndexKeys(const index::Rmi& rmi, const std::function<bool()>& stop, double* mean_error) {
  // Chunks small enough that a shutdown waits at most a few milliseconds.
  constexpr size_t kChunkKeys = 1u << 18;
  const size_t n = rmi.size();
  double abs_error_sum = 0;
  for (size_t begin = 0; begin < n; begin += kChunkKeys) {
    if (stop && stop()) return Status::Unavailable("index verification stopped");
    KYRODB_RETURN_IF_ERROR(rmi.VerifyKeys(begin, begin + kChunkKeys, &abs_error_sum));
  }
  *mean_error = n == 0 ? 0 : abs_error_sum / static_cast<double>(n);
  return Status::OK();
}

}  // namespace kyrodb
