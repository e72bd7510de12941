// tools/salvo/header_deadline.h over socketpairs: a connection waiting for its request head
// longer than the limit is shut down (the peer reads EOF); one whose head arrived is left alone
// until its request is done; a closed one is forgotten (its descriptor never touched again).
#include "tools/salvo/header_deadline.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace salvo {
namespace {

// True when the peer end `fd` reads EOF within `ms`.
bool PeerSeesEof(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, ms) <= 0) return false;
  char c;
  return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

TEST(HeaderDeadlineTest, WaitingTooLongIsShutDownServedIsNot) {
  int waiting[2], served[2], closed[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, waiting), 0);
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, served), 0);
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, closed), 0);
  HeaderDeadline d(absl::Milliseconds(200));
  int a = 0, b = 0, c = 0;  // connection identities
  d.Started(&a, waiting[0]);
  d.Started(&b, served[0]);
  d.HeadReceived(&b);
  d.Started(&c, closed[0]);
  d.Closed(&c);
  EXPECT_TRUE(PeerSeesEof(waiting[1], 5000));
  EXPECT_FALSE(PeerSeesEof(served[1], 1200)) << "a request being served is not cut";
  EXPECT_FALSE(PeerSeesEof(closed[1], 10)) << "forgotten after Closed()";
  EXPECT_EQ(d.cut_off(), 1u);
  d.RequestDone(&b);  // keep-alive: waiting for the next head now
  EXPECT_TRUE(PeerSeesEof(served[1], 5000));
  EXPECT_EQ(d.cut_off(), 2u);
  for (int* p : {waiting, served, closed}) {
    close(p[0]);
    close(p[1]);
  }
}

}  // namespace
}  // namespace salvo
