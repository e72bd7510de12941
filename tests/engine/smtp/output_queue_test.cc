// engine/smtp/output_queue.h: the iovec list a session writes. Checked against a plain string
// model under random appends (views, copies, reservations, slots) and random partial writes:
// the iovecs always spell exactly the unwritten bytes, in order; bytes not yet written never
// move (a write in flight may point at them); contiguous views merge; large copies and
// recycled arena blocks keep working after the queue drains.
#include "engine/smtp/output_queue.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace salvo {
namespace {

size_t IovBytes(const OutputQueue& q) {
  size_t n = 0;
  for (const iovec& v : q.iovecs()) n += v.iov_len;
  return n;
}

TEST(OutputQueueTest, ContiguousViewsMergeOthersDoNot) {
  const std::string text = "EHLO client.example\r\n";
  OutputQueue q;
  q.AppendView(std::string_view(text).substr(0, 5));
  q.AppendView(std::string_view(text).substr(5));  // starts where the first ended
  ASSERT_EQ(q.iovecs().size(), 1u);
  EXPECT_EQ(q.iovecs()[0].iov_len, text.size());
  const std::string other = "QUIT\r\n";
  q.AppendView(other);
  q.AppendView("");  // ignored
  EXPECT_EQ(q.iovecs().size(), 2u);
  EXPECT_EQ(q.bytes(), text.size() + other.size());
  EXPECT_EQ(q.Flatten(), text + other);
}

TEST(OutputQueueTest, CopyIsIndependentOfTheCallersBuffer) {
  OutputQueue q;
  std::string cmd = "MAIL FROM:<a@example.com>\r\n";
  q.AppendCopy(cmd);
  cmd.assign(cmd.size(), 'x');
  EXPECT_EQ(q.Flatten(), "MAIL FROM:<a@example.com>\r\n");
}

TEST(OutputQueueTest, ReservationGivesBackItsUnusedTail) {
  OutputQueue q;
  char* p = q.ReserveCopy(64);
  std::memcpy(p, "RCPT TO:<b@example.com>\r\n", 25);
  q.CommitCopy(25);
  q.AppendCopy("DATA\r\n");  // lands right after the 25 used bytes: one iovec
  EXPECT_EQ(q.iovecs().size(), 1u);
  EXPECT_EQ(q.Flatten(), "RCPT TO:<b@example.com>\r\nDATA\r\n");
  EXPECT_EQ(q.bytes(), 31u);
}

TEST(OutputQueueTest, SlotKeepsItsPlaceBetweenPieces) {
  OutputQueue q;
  const std::string body = "0123456789";
  q.AppendCopy("MAIL FROM:<a@b.example>\r\n");
  const size_t slot = q.AppendSlot();
  q.AppendView(body);
  q.AppendCopy("QUIT\r\n");
  EXPECT_EQ(q.bytes(), 25u + 10u + 6u);  // an empty slot counts nothing
  q.FillSlotCopy(slot, "BDAT 10 LAST\r\n");
  EXPECT_EQ(q.Flatten(), "MAIL FROM:<a@b.example>\r\nBDAT 10 LAST\r\n0123456789QUIT\r\n");
  EXPECT_EQ(q.bytes(), q.Flatten().size());
  EXPECT_EQ(IovBytes(q), q.bytes());
}

TEST(OutputQueueTest, CopyLargerThanABlock) {
  OutputQueue q;
  const std::string big(100 * 1024, 'b');
  q.AppendCopy("head\r\n");
  q.AppendCopy(big);
  q.AppendCopy("tail\r\n");
  EXPECT_EQ(q.Flatten(), "head\r\n" + big + "tail\r\n");
  q.Consume(q.bytes());
  EXPECT_TRUE(q.empty());
  // After draining, the arena is reused and still right.
  q.AppendCopy("again\r\n");
  q.AppendCopy(big);
  EXPECT_EQ(q.Flatten(), "again\r\n" + big);
}

TEST(OutputQueueTest, ConsumeInsideAndAcrossPieces) {
  const std::string a = "AAAA", b = "BBBB";
  OutputQueue q;
  q.AppendView(a);
  q.AppendCopy("cc");
  q.AppendView(b);
  q.Consume(3);  // inside the first piece
  EXPECT_EQ(q.Flatten(), "AccBBBB");
  EXPECT_EQ(static_cast<const char*>(q.iovecs()[0].iov_base), a.data() + 3);
  q.Consume(3);  // the rest of the first, all of the copy
  EXPECT_EQ(q.Flatten(), "BBBB");
  EXPECT_EQ(q.iovecs().size(), 1u);
  q.Consume(4);
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.iovecs().empty());
  EXPECT_EQ(q.Flatten(), "");
}

TEST(OutputQueueTest, ClearDropsEverything) {
  OutputQueue q;
  q.AppendCopy("x");
  q.AppendSlot();
  q.Clear();
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.iovecs().empty());
  q.AppendCopy("y");
  EXPECT_EQ(q.Flatten(), "y");
}

// Random appends and partial writes against a string model. Every byte an iovec pointed at
// must still be there, unchanged, until it is consumed (checked after every step).
TEST(OutputQueueTest, RandomOperationsMatchAStringModel) {
  std::mt19937 rng(18);
  // External views point into this buffer (kept alive and unchanged for the whole test).
  std::string source(1 << 16, '\0');
  for (char& c : source) c = static_cast<char>('a' + rng() % 26);
  OutputQueue q;
  std::string model;     // the unwritten bytes
  size_t consumed = 0;   // bytes written so far (model[0] is byte `consumed` of the stream)
  std::map<size_t, const char*> probes;  // stream offset of an iovec's first byte -> its address
  std::string scratch;
  for (int step = 0; step < 20000; ++step) {
    const unsigned op = rng() % 10;
    if (op < 3) {  // a view
      size_t off = rng() % (source.size() - 300);
      size_t len = rng() % 300;
      q.AppendView(std::string_view(source).substr(off, len));
      model.append(source, off, len);
    } else if (op < 5) {  // a copy, sometimes larger than an arena block
      size_t len = (rng() % 50 == 0) ? 20000 + rng() % 20000 : rng() % 100;
      scratch.assign(len, static_cast<char>('A' + rng() % 26));
      q.AppendCopy(scratch);
      model += scratch;
    } else if (op < 6) {  // a reservation partly used
      size_t n = 1 + rng() % 200;
      size_t used = rng() % (n + 1);
      char* p = q.ReserveCopy(n);
      for (size_t i = 0; i < n; ++i) p[i] = static_cast<char>('0' + i % 10);
      q.CommitCopy(used);
      for (size_t i = 0; i < used; ++i) model.push_back(static_cast<char>('0' + i % 10));
    } else if (op < 7) {  // a slot filled after a following piece
      const size_t slot = q.AppendSlot();
      size_t off = rng() % (source.size() - 100);
      size_t len = 1 + rng() % 99;
      q.AppendView(std::string_view(source).substr(off, len));
      const std::string fill = "BDAT " + std::to_string(len) + "\r\n";
      q.FillSlotCopy(slot, fill);
      model += fill;
      model.append(source, off, len);
    } else if (!model.empty()) {  // a (partial) write
      size_t n = rng() % 4 == 0 ? model.size() : rng() % (model.size() + 1);
      q.Consume(n);
      model.erase(0, n);
      consumed += n;
    }
    ASSERT_EQ(q.bytes(), model.size()) << "step " << step;
    ASSERT_EQ(IovBytes(q), model.size()) << "step " << step;
    ASSERT_EQ(q.empty(), model.empty());
    // Earlier pieces not yet written: same address, same byte.
    for (const auto& [at, ptr] : probes) {
      if (at < consumed) continue;
      ASSERT_EQ(*ptr, model[at - consumed]) << "step " << step << ", stream offset " << at;
    }
    probes.clear();
    size_t at = consumed;
    for (const iovec& v : q.iovecs()) {
      if (v.iov_len == 0) continue;
      probes[at] = static_cast<const char*>(v.iov_base);
      at += v.iov_len;
    }
    if (step % 97 == 0) {
      ASSERT_EQ(q.Flatten(), model) << "step " << step;
    }
  }
  EXPECT_EQ(q.Flatten(), model);
}

// Bytes already queued stay where they are while more is appended (the address contract a
// runtime relies on when it keeps a sendmsg in flight over them).
TEST(OutputQueueTest, QueuedBytesDoNotMoveWhileMoreIsAppended) {
  OutputQueue q;
  q.AppendCopy("first command\r\n");
  const char* first = static_cast<const char*>(q.iovecs()[0].iov_base);
  std::vector<std::pair<const char*, std::string>> pieces;
  for (int i = 0; i < 5000; ++i) {
    const std::string cmd = "RCPT TO:<user" + std::to_string(i) + "@example.com>\r\n";
    char* p = q.ReserveCopy(cmd.size());
    std::memcpy(p, cmd.data(), cmd.size());
    q.CommitCopy(cmd.size());
    pieces.emplace_back(p, cmd);
  }
  EXPECT_EQ(static_cast<const char*>(q.iovecs()[0].iov_base), first);
  EXPECT_EQ(std::string(first, 15), "first command\r\n");
  for (const auto& [p, cmd] : pieces) ASSERT_EQ(std::string(p, cmd.size()), cmd);
  q.Consume(15 + pieces[0].second.size());
  EXPECT_EQ(static_cast<const char*>(q.iovecs()[0].iov_base), pieces[1].first);
}

}  // namespace
}  // namespace salvo
