// BaseTable: the learned index over a snapshot answers exactly like a search
// of the snapshot's keys, with or without the index verified, through Find
// and through FindEntry (which also starts loading the entry it guesses).
#include "engine/base_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "index/rmi.h"
#include "test_util.h"

namespace kyrodb {
namespace {

using test::ScratchDir;

std::shared_ptr<const Snapshot> WriteAndOpen(const ScratchDir& dir, const std::vector<uint64_t>& keys) {
  SnapshotWriter w(PosixFileSystem(), dir.path());
  EXPECT_TRUE(w.Begin().ok());
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_TRUE(w.Add(keys[i], i + 1, std::to_string(keys[i])).ok());
  uint64_t bytes = 0;
  EXPECT_TRUE(w.Finish(keys.size(), &bytes).ok());
  std::shared_ptr<const Snapshot> snap;
  EXPECT_TRUE(Snapshot::Open(PosixFileSystem(), SnapshotWriter::FinalPath(dir.path()), &snap).ok());
  return snap;
}

TEST(BaseTable, FindAndFindEntryAnswerAsASearchOfTheKeys) {
  std::mt19937_64 rng(7);
  for (size_t n : {0u, 1u, 2u, 100u, 5000u}) {
    std::vector<uint64_t> keys;
    // Skewed keys (a dense run, then sparse), so router guesses are often off.
    for (uint64_t k = 10; keys.size() < n / 2; ++k) keys.push_back(k);
    while (keys.size() < n) keys.push_back(rng() | (uint64_t{1} << 40));
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    ScratchDir dir;
    auto snap = WriteAndOpen(dir, keys);
    ASSERT_NE(snap, nullptr);
    std::shared_ptr<const index::Rmi> rmi = index::Rmi::Build(snap->keys());
    ASSERT_NE(rmi, nullptr);
    std::vector<uint64_t> queries = keys;
    for (uint64_t k : keys) {
      queries.push_back(k + 1);
      queries.push_back(k - 1);
    }
    for (int i = 0; i < 200; ++i) queries.push_back(rng());
    queries.push_back(0);
    queries.push_back(~uint64_t{0});
    for (bool verified : {true, false}) {
      BaseTable base(snap, rmi, 1, verified);
      for (uint64_t q : queries) {
        const auto it = std::lower_bound(keys.begin(), keys.end(), q);
        const size_t want =
            it != keys.end() && *it == q ? static_cast<size_t>(it - keys.begin()) : BaseTable::kNotFound;
        ASSERT_EQ(base.Find(q), want) << "n=" << n << " q=" << q << " verified=" << verified;
        ASSERT_EQ(base.FindEntry(q), want) << "n=" << n << " q=" << q << " verified=" << verified;
        if (want != BaseTable::kNotFound) {
          ASSERT_EQ(snap->value_at(want), std::to_string(q));
        }
      }
    }
  }
}

}  // namespace
}  // namespace kyrodb
