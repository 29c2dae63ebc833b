// The helper's LIFO request queue: bounded concurrency and depth, newest first, refusals when
// full, on timeout and at stop. Waits are bounded polls, never timing assertions.
#include "request_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <string>
#include <vector>

namespace janus::aggregator {
namespace {

using namespace std::chrono_literals;

// Polls `done` for up to 10 s.
bool eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

struct Recorder {
  std::mutex mutex;
  std::vector<std::string> events;
  void add(std::string event) {
    std::lock_guard lock(mutex);
    events.push_back(std::move(event));
  }
  std::vector<std::string> get() {
    std::lock_guard lock(mutex);
    return events;
  }
};

const char* name_of(QueueRejection why) {
  switch (why) {
    case QueueRejection::Full:
      return "full";
    case QueueRejection::TimedOut:
      return "timed out";
    case QueueRejection::Stopped:
      return "stopped";
  }
  return "?";
}

TEST(LifoRequestQueue, RunsNewestFirstAndRefusesBeyondItsDepth) {
  LifoRequestQueue queue({.concurrency = 1, .depth = 2, .timeout = std::nullopt});
  Recorder recorder;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> first_running{false};
  auto submit = [&](const std::string& name, bool block) {
    queue.submit(
        [&, name, block] {
          if (block) {
            first_running = true;
            released.wait();
          }
          recorder.add("ran " + name);
        },
        [&, name](QueueRejection why) { recorder.add(name + " " + name_of(why)); });
  };
  submit("a", true);
  ASSERT_TRUE(eventually([&] { return first_running.load(); }));
  submit("b", false);
  submit("c", false);
  EXPECT_EQ(queue.waiting(), 2u);
  submit("d", false);  // the one thread is busy and two wait: no room
  EXPECT_EQ(recorder.get(), std::vector<std::string>{"d full"});
  release.set_value();
  ASSERT_TRUE(eventually([&] { return recorder.get().size() == 4; }));
  EXPECT_EQ(recorder.get(), (std::vector<std::string>{"d full", "ran a", "ran c", "ran b"}));
}

TEST(LifoRequestQueue, RefusesRequestsThatWaitedPastTheTimeoutAndAtStop) {
  LifoRequestQueue queue({.concurrency = 1, .depth = 4, .timeout = 50ms});
  Recorder recorder;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> a_running{false};
  queue.submit(
      [&] {
        a_running = true;
        released.wait();
        recorder.add("ran a");
      },
      [&](QueueRejection why) { recorder.add(std::string("a ") + name_of(why)); });
  ASSERT_TRUE(eventually([&] { return a_running.load(); }));
  queue.submit([&] { recorder.add("ran b"); },
               [&](QueueRejection why) { recorder.add(std::string("b ") + name_of(why)); });
  // b waits behind a past its 50 ms: refused while a still runs.
  ASSERT_TRUE(eventually([&] { return !recorder.get().empty(); }));
  EXPECT_EQ(recorder.get(), std::vector<std::string>{"b timed out"});
  EXPECT_EQ(queue.waiting(), 0u);
  release.set_value();
  ASSERT_TRUE(eventually([&] { return recorder.get().size() == 2; }));

  LifoRequestQueue stopping({.concurrency = 1, .depth = 4, .timeout = std::nullopt});
  std::promise<void> hold;
  std::shared_future<void> held = hold.get_future().share();
  std::atomic<bool> running{false};
  stopping.submit(
      [&] {
        running = true;
        held.wait();
      },
      [](QueueRejection) {});
  ASSERT_TRUE(eventually([&] { return running.load(); }));
  std::atomic<int> stopped{0};
  stopping.submit([] {}, [&](QueueRejection why) { stopped += why == QueueRejection::Stopped; });
  std::thread stopper([&] { stopping.stop(); });
  ASSERT_TRUE(eventually([&] { return stopped.load() == 1; }));
  hold.set_value();
  stopper.join();
  stopping.submit([] {}, [&](QueueRejection why) { stopped += why == QueueRejection::Stopped; });
  EXPECT_EQ(stopped.load(), 2);
}

TEST(LifoRequestQueue, ZeroConcurrencyIsRefused) {
  EXPECT_THROW(LifoRequestQueue({.concurrency = 0, .depth = 1, .timeout = std::nullopt}),
               std::invalid_argument);
}

}  // namespace
}  // namespace janus::aggregator
