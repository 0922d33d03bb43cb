// TempDir: a fresh directory under $TMPDIR (or /tmp) that is removed with
// everything in it when the object dies. Set KYRO_KEEP_TMP=1 to keep it for a
// post-mortem (its path is printed then).
#pragma once

#include <string>

namespace kyrodb::test {

class TempDir {
 public:
  // Creates "<tmp>/<prefix>XXXXXX". Aborts the test program if it cannot:
  // no test is meaningful without a place to write.
  explicit TempDir(const std::string& prefix = "kyrodb-test-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Sub(const std::string& name) const;

 private:
  std::string path_;
};

}  // namespace kyrodb::test
