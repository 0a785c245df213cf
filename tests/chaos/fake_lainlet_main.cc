// fake-lainlet: the test FakeLainlet (tests/support/fake_lainlet.h) as a process, for the chaos
// suite (tests/chaos/chaos.py). It prints `port N` once listening, then reads one command per
// line on stdin and answers `ok` (or `error: ...`) per command; EOF stops it.
//   procs JSON          SetProcs (watches get an `update`)
//   procs-silent JSON   SetProcsSilently (a watch that misses the change: api notes 4.8)
//   delete JSON         DeleteProcs
//   fail STATUS BODY    FailWith: every request answered STATUS until `clear-failure`
//   clear-failure       ClearFailure
//   restart             Stop, then Start on the same port (new watches start again at id 1)
//   stall 1|0           StallHeartbeats
//   drop                DropConnections
//   error TEXT          SendError on every watch
//   stats               `watches=N gets=N open=N`
#include <cstdio>
#include <iostream>
#include <string>

#include "support/fake_lainlet.h"

namespace {

// Splits "word rest..." at the first space.
std::pair<std::string, std::string> Split(const std::string& line) {
  size_t sp = line.find(' ');
  if (sp == std::string::npos) return {line, ""};
  return {line.substr(0, sp), line.substr(sp + 1)};
}

}  // namespace

int main() {
  rs::test::FakeLainlet lainlet;
  if (auto st = lainlet.Start(); !st.ok()) {
    std::cerr << "fake-lainlet: " << st.ToString() << "\n";
    return 1;
  }
  std::cout << "port " << lainlet.port() << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    auto [cmd, arg] = Split(line);
    std::string reply = "ok";
    if (cmd == "procs") {
      lainlet.SetProcs(arg);
    } else if (cmd == "procs-silent") {
      lainlet.SetProcsSilently(arg);
    } else if (cmd == "delete") {
      lainlet.DeleteProcs(arg);
    } else if (cmd == "fail") {
      auto [status, body] = Split(arg);
      lainlet.FailWith(std::atoi(status.c_str()), body);
    } else if (cmd == "clear-failure") {
      lainlet.ClearFailure();
    } else if (cmd == "restart") {
      if (auto st = lainlet.Restart(); !st.ok()) reply = "error: " + st.ToString();
    } else if (cmd == "stall") {
      lainlet.StallHeartbeats(arg == "1");
    } else if (cmd == "drop") {
      lainlet.DropConnections();
    } else if (cmd == "error") {
      lainlet.SendError(arg);
    } else if (cmd == "stats") {
      reply = "watches=" + std::to_string(lainlet.watch_requests()) +
              " gets=" + std::to_string(lainlet.get_requests()) +
              " open=" + std::to_string(lainlet.open_watches());
    } else if (!cmd.empty()) {
      reply = "error: unknown command '" + cmd + "'";
    }
    std::cout << reply << std::endl;
  }
  lainlet.Stop();
  return 0;
}
