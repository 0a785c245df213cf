// Online backup of a real redis-ctl's log while an operator's migration runs: POST /v1/backup
// (the writer's handle) and redis-svc backup (a secondary handle beside the writer), each
// restored into a fresh dir, where verify, replay and export agree with the original log up to
// the backup's last event.
#include <httplib.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "support/controller_fixture.h"
#include "support/subprocess.h"

namespace rs::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kToken = "s3cret-token";

class ControllerBackupTest : public ControllerFixture {
 protected:
  std::pair<int, json> Post(const std::string& path, const json& body, bool auth = true) {
    httplib::Client c("127.0.0.1", admin_port_);
    c.set_read_timeout(60, 0);
    httplib::Headers headers;
    if (auth) headers.emplace("Authorization", std::string("Bearer ") + kToken);
    auto r = c.Post(path, headers, body.dump(), "application/json");
    if (!r) return {0, json()};
    return {r->status, json::parse(r->body, nullptr, false)};
  }
  json Cluster() { return json::parse(HttpGet("/v1/cluster"), nullptr, false); }

  // Runs redis-svc; returns its exit code (-1 when it could not run) and its output.
  int Svc(std::vector<std::string> args, std::string* out) {
    args.insert(args.begin(), RedisSvcBinary());
    auto path = dir_->path() / "svc.out";
    std::filesystem::remove(path);
    auto rc = RunCommand(args, path, 120s);
    std::ifstream in(path);
    out->assign(std::istreambuf_iterator<char>(in), {});
    return rc.ok() ? *rc : -1;
  }
  // redis-svc ... --json: its last line parsed (null when it failed).
  json SvcJson(std::vector<std::string> args) {
    args.push_back("--json");
    std::string out;
    int rc = Svc(args, &out);
    EXPECT_EQ(rc, 0) << out;
    if (rc != 0) return json();
    out.erase(out.find_last_not_of('\n') + 1);
    return json::parse(out.substr(out.rfind('\n') + 1), nullptr, false);
  }
  std::string Export(const std::string& data_dir, uint64_t to) {
    std::string out;
    EXPECT_EQ(Svc({"export", "--data-dir", data_dir, "--to", std::to_string(to)}, &out), 0) << out;
    return out;
  }
};

TEST_F(ControllerBackupTest, BackupsDuringAMigrationRestoreToLogsThatAgreeWithTheOriginal) {
  StartNodes(6);
  const std::string backups = (dir_.value().path() / "backups").string();
  SetMembers({0, 1, 2, 3, 4, 5});
  // A slow migration, so both backups land while it runs.
  StartController({"--admin-token", std::string("alice:") + kToken, "--backup-dir", backups,
                   "--max-keys-per-second", "2000"});
  ASSERT_TRUE(WaitFor(60s, [&] {
    json c = Cluster();
    return Converged({0, 1, 2, 3, 4, 5}, 3, 1) && c.is_object() && c["state"] == "ok" &&
           c["health"] == json{{"up", 6}};
  })) << ControllerLog();
  ASSERT_TRUE(WriteKeys(40000));

  auto [unauth, unauth_body] = Post("/v1/backup", json::object(), false);
  EXPECT_EQ(unauth, 401) << unauth_body.dump();

  std::vector<std::string> masters;
  for (const auto& [addr, n] : SlotCounts(0)) masters.push_back(addr);
  ASSERT_EQ(masters.size(), 3u);
  const auto before = SlotCounts(0);
  auto [op, op_body] =
      Post("/v1/operations",
           json{{"kind", "migrate"}, {"from", masters[0]}, {"to", masters[1]}, {"count", 4000}});
  ASSERT_EQ(op, 202) << op_body.dump();
  // Under way: a plan in flight and some slots already moved.
  ASSERT_TRUE(WaitFor(60s, [&] {
    json c = Cluster();
    return c.is_object() && !c["plan"].is_null() && SlotCounts(0) != before;
  })) << ControllerLog();

  auto [status, api] = Post("/v1/backup", json{{"name", "mid-migration"}});
  ASSERT_EQ(status, 201) << api.dump();
  EXPECT_EQ(api["path"], backups + "/mid-migration");
  json svc = SvcJson({"backup", "--data-dir", data_dir_, "--to", backups + "/svc-mid-migration"});
  ASSERT_TRUE(svc.is_object());
  EXPECT_EQ(svc["writer_pid"], ctl_pid_) << svc.dump();
  EXPECT_GE(svc["last_seq"].get<uint64_t>(), api["last_seq"].get<uint64_t>());
  const bool still_migrating = !Cluster()["plan"].is_null();
  std::printf(
      "backups at events %llu (POST /v1/backup, %llu bytes) and %llu (redis-svc, %s); "
      "migration still running after both: %s\n",
      api["last_seq"].get<unsigned long long>(), api["size"].get<unsigned long long>(),
      svc["last_seq"].get<unsigned long long>(), svc["attempts"] == 1 ? "first try" : "retried",
      still_migrating ? "yes" : "no");

  // The same name again is refused, not overwritten.
  auto [again, again_body] = Post("/v1/backup", json{{"name", "mid-migration"}});
  EXPECT_EQ(again, 409) << again_body.dump();

  // The migration finishes; the original log then has more than either backup.
  ASSERT_TRUE(WaitFor(180s, [&] {
    json c = Cluster();
    return c.is_object() && c["plan"].is_null() && Converged({0, 1, 2, 3, 4, 5}, 3, 1);
  })) << ControllerLog();
  EXPECT_EQ(MissingKeys(40000), 0);
  ASSERT_EQ(StopController(), 0) << ControllerLog();

  json original = SvcJson({"verify", "--data-dir", data_dir_});
  ASSERT_TRUE(original.is_object());
  EXPECT_EQ(original["ok"], true) << original.dump();

  for (const auto& [name, taken] : {std::pair{"mid-migration", api}, {"svc-mid-migration", svc}}) {
    SCOPED_TRACE(name);
    const uint64_t last = taken["last_seq"].get<uint64_t>();
    EXPECT_LT(last, original["last"].get<uint64_t>());
    const std::string restored = (dir_.value().path() / (std::string("restored-") + name)).string();
    json r = SvcJson({"restore", "--from", backups + "/" + name, "--data-dir", restored});
    ASSERT_TRUE(r.is_object());
    EXPECT_EQ(r["last_seq"], last);
    EXPECT_NE(r["generation"], taken["generation"]);  // A restored history is a new one.

    json v = SvcJson({"verify", "--data-dir", restored});
    ASSERT_TRUE(v.is_object());
    EXPECT_EQ(v["ok"], true) << v.dump();
    EXPECT_EQ(v["last"], last);
    EXPECT_EQ(v["records"], last);

    // The cluster as it was, from either log: the same state, the migration in flight.
    for (uint64_t at : {last / 2, last}) {
      json a = SvcJson({"replay", "--data-dir", restored, "--at", std::to_string(at)});
      json b = SvcJson({"replay", "--data-dir", data_dir_, "--at", std::to_string(at)});
      ASSERT_TRUE(a.is_object() && b.is_object());
      EXPECT_EQ(a, b) << "replay at " << at;
    }
    json at_backup = SvcJson({"replay", "--data-dir", restored, "--at", std::to_string(last)});
    EXPECT_FALSE(at_backup["plan"].is_null()) << "the backup was taken during the migration";
    // Every event up to the backup's last, byte for byte.
    EXPECT_EQ(Export(restored, last), Export(data_dir_, last));
  }

  // redis-ctl on a restored log (a migration in flight there, finished in the cluster) goes on
  // as after a crash at the backup's last event: the plan ends, the cluster stays whole.
  data_dir_ = (dir_.value().path() / "restored-mid-migration").string();
  StartController({"--admin-token", std::string("alice:") + kToken});
  ASSERT_TRUE(WaitFor(120s, [&] {
    json c = Cluster();
    return c.is_object() && c["plan"].is_null() && c["state"] == "ok" &&
           c["last_seq"].get<uint64_t>() > api["last_seq"].get<uint64_t>() &&
           Converged({0, 1, 2, 3, 4, 5}, 3, 1);
  })) << HttpGet("/v1/plans") << ControllerLog();
  EXPECT_EQ(MissingKeys(40000), 0);
  json plans = json::parse(HttpGet("/v1/plans"), nullptr, false);
  std::printf("on the restored log: %s\n",
              plans.is_object() ? plans["history"].dump().substr(0, 600).c_str() : "?");
  ASSERT_EQ(StopController(), 0) << ControllerLog();
}

}  // namespace
}  // namespace rs::test
