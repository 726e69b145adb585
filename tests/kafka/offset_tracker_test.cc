// Proves what a consumer working on several messages of a partition at once may commit: never past
// a message still in flight or handed back to be delivered again, and everything finished once the
// earliest one is.
#include "kafka/offset_tracker.h"

#include <catch2/catch.hpp>

namespace fxmesh::kafka {
namespace {

// The offset TakeCommits gives for `partition` of "t", or -1 when it gives none.
int64_t CommitFor(OffsetTracker& tracker, int32_t partition = 0) {
  int64_t found = -1;
  for (const PartitionOffset& commit : tracker.TakeCommits()) {
    if (commit.topic == "t" && commit.partition == partition) found = commit.offset;
  }
  return found;
}

TEST_CASE("messages finished out of order commit only up to the earliest one in flight",
          "[unit][kafka]") {
  OffsetTracker tracker;
  tracker.Take("t", 0, 10);
  tracker.Take("t", 0, 11);
  tracker.Take("t", 0, 12);
  CHECK(tracker.InFlight() == 3);
  CHECK(CommitFor(tracker) == -1);  // Nothing finished: nothing to commit.
  tracker.Finish("t", 0, 12);
  tracker.Finish("t", 0, 11);
  CHECK(CommitFor(tracker) == 10);  // 10 is still in flight: a restart must read it again.
  CHECK(CommitFor(tracker) == -1);  // Unchanged: not given twice.
  tracker.Finish("t", 0, 10);
  CHECK(CommitFor(tracker) == 13);
  CHECK(tracker.InFlight() == 0);
}

TEST_CASE("partitions are committed independently", "[unit][kafka]") {
  OffsetTracker tracker;
  tracker.Take("t", 0, 5);
  tracker.Take("t", 1, 7);
  tracker.Finish("t", 1, 7);
  const std::vector<PartitionOffset> commits = tracker.TakeCommits();
  REQUIRE(commits.size() == 1);
  CHECK(commits[0].partition == 1);
  CHECK(commits[0].offset == 8);
}

TEST_CASE("a message handed back holds its partition until it is delivered again and finished",
          "[unit][kafka]") {
  OffsetTracker tracker;
  tracker.Take("t", 0, 20);
  tracker.Take("t", 0, 21);
  tracker.HandBack("t", 0, 20);  // Its outcome could not be published.
  tracker.Finish("t", 0, 21);
  CHECK(CommitFor(tracker) == 20);
  CHECK(tracker.InFlight() == 0);
  // Delivered again (the partition was rewound to it), then the one after it again too.
  tracker.Take("t", 0, 20);
  tracker.Take("t", 0, 21);
  tracker.Finish("t", 0, 20);
  CHECK(CommitFor(tracker) == 21);
  tracker.Finish("t", 0, 21);
  CHECK(CommitFor(tracker) == 22);
}

TEST_CASE("a handed-back message passed by a later fetch no longer holds its partition",
          "[unit][kafka]") {
  // A rebalance gave the partition to another member, which finished the message and committed
  // past it; the partition came back here from that commit.
  OffsetTracker tracker;
  tracker.Take("t", 0, 30);
  tracker.HandBack("t", 0, 30);
  tracker.Take("t", 0, 40);
  tracker.Finish("t", 0, 40);
  CHECK(CommitFor(tracker) == 41);
}

TEST_CASE("a failed commit is given again", "[unit][kafka]") {
  OffsetTracker tracker;
  tracker.Take("t", 2, 3);
  tracker.Finish("t", 2, 3);
  const std::vector<PartitionOffset> commits = tracker.TakeCommits();
  REQUIRE(commits.size() == 1);
  tracker.Retry(commits);
  CHECK(CommitFor(tracker, 2) == 4);
}

TEST_CASE("a message delivered twice while in flight is counted once", "[unit][kafka]") {
  OffsetTracker tracker;
  tracker.Take("t", 0, 1);
  tracker.Take("t", 0, 1);
  CHECK(tracker.InFlight() == 1);
  tracker.Finish("t", 0, 1);
  tracker.Finish("t", 0, 1);
  CHECK(tracker.InFlight() == 0);
  CHECK(CommitFor(tracker) == 2);
}

}  // namespace
}  // namespace fxmesh::kafka
