// Every log line is one valid JSON object whatever the message holds, and a registered secret
// never appears in a line.
#include "common/log.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace branchline::log {
namespace {

// Captures what is written to standard error while `body` runs.
template <class F>
std::string capture_stderr(F&& body) {
  char path[] = "/tmp/branchline-log-XXXXXX";
  int fd = ::mkstemp(path);
  std::fflush(stderr);
  int saved = ::dup(STDERR_FILENO);
  ::dup2(fd, STDERR_FILENO);
  body();
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(fd);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  ::unlink(path);
  return text.str();
}

TEST(Log, EveryLineIsJsonWhateverTheMessageHolds) {
  configure(Format::Json, Level::Trace);
  const std::string nasty = std::string("quote\" backslash\\ newline\n cr\r tab\t nul") + '\0' +
                            " bell\a invalid utf8 \xc3\x28 \xff overlong \xc0\xaf emoji \xf0\x9f\x92\xb8";
  std::string out = capture_stderr([&] {
    write(Level::Info, "test", nasty);
    write(Level::Error, "comp\"onent", "second");
  });
  std::istringstream lines(out);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    boost::json::error_code ec;
    auto doc = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << line;
    ASSERT_TRUE(doc.is_object());
    EXPECT_TRUE(doc.as_object().contains("time"));
    ++count;
  }
  EXPECT_EQ(count, 2);
}

TEST(Log, SecretsAreRedacted) {
  configure(Format::Json, Level::Trace);
  add_secret("s3cr3t-planted-value");
  std::string out = capture_stderr([] { write(Level::Warn, "test", "token=s3cr3t-planted-value end"); });
  EXPECT_EQ(out.find("s3cr3t-planted-value"), std::string::npos) << out;
  EXPECT_NE(out.find("[redacted]"), std::string::npos) << out;
}

TEST(Log, EscapeKeepsValidUtf8) {
  EXPECT_EQ(json_escape("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(json_escape("\xff"), "\\ufffd");
  EXPECT_EQ(json_escape("a\nb"), "a\\nb");
}

}  // namespace
}  // namespace branchline::log
