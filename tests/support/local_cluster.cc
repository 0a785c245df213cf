#include "support/local_cluster.h"

#include <thread>

#include "common/slot.h"
#include "support/redis_client.h"
#include "support/subprocess.h"

namespace rs::test {

LocalCluster::LocalCluster(LocalClusterOptions options) : options_(std::move(options)) {}

LocalCluster::~LocalCluster() {
  // Nodes go before the directory that holds their data.
  nodes_.clear();
  dir_.reset();
}

Status LocalCluster::StartNodes() {
  if (!nodes_.empty()) return Status::FailedPrecondition("LocalCluster nodes already started");
  if (options_.masters < 1 || options_.replicas_per_master < 0 || options_.hosts.empty()) {
    return Status::InvalidArgument("LocalCluster needs masters >= 1, replicas >= 0 and a host");
  }
  RS_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("rs-cluster"));
  dir_ = std::make_unique<TempDir>(std::move(dir));
  int count = options_.masters * (1 + options_.replicas_per_master);
  for (int i = 0; i < count; ++i) {
    LocalRedisOptions node_options;
    node_options.host = options_.hosts[i % options_.hosts.size()];
    node_options.cluster_enabled = true;
    node_options.cluster_node_timeout_ms = options_.cluster_node_timeout_ms;
    node_options.password = options_.password;
    node_options.extra_config = options_.extra_config;
    node_options.dir = dir_->path() / ("node-" + std::to_string(i));
    nodes_.push_back(std::make_unique<LocalRedis>(std::move(node_options)));
    RS_RETURN_IF_ERROR(nodes_.back()->Start().WithContext("node " + std::to_string(i)));
  }
  return Status::Ok();
}

Status LocalCluster::Create() {
  if (nodes_.empty()) return Status::FailedPrecondition("Create before StartNodes");
  std::vector<std::string> argv = {options_.redis_cli, "--cluster", "create"};
  for (const auto& address : Addresses()) argv.push_back(address);
  argv.insert(argv.end(), {"--cluster-replicas", std::to_string(options_.replicas_per_master),
                           "--cluster-yes"});
  if (!options_.password.empty()) {
    argv.insert(argv.end(), {"-a", options_.password, "--no-auth-warning"});
  }
  auto output = dir_->path() / "cluster-create.log";
  RS_ASSIGN_OR_RETURN(int code, RunCommand(argv, output, std::chrono::seconds(60)));
  if (code != 0) {
    return Status::Internal("redis-cli --cluster create exited with " + std::to_string(code) +
                            ":\n" + TailOfFile(output, 20));
  }
  return WaitForClusterOk();
}

Status LocalCluster::Start() {
  RS_RETURN_IF_ERROR(StartNodes());
  return Create();
}

Status LocalCluster::WaitForClusterOk(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string waiting_for;
  while (true) {
    waiting_for.clear();
    for (const auto& node : nodes_) {
      if (!node->running() || node->paused()) continue;
      auto client = node->Connect(std::chrono::milliseconds(1000));
      if (!client.ok()) {
        waiting_for = node->address() + ": " + client.status().ToString();
        break;
      }
      auto info = client->CommandString("CLUSTER", "INFO");
      if (!info.ok()) {
        waiting_for = node->address() + ": " + info.status().ToString();
        break;
      }
      std::string state = InfoField(*info, "cluster_state");
      std::string assigned = InfoField(*info, "cluster_slots_assigned");
      if (state != "ok" || assigned != "16384") {
        waiting_for =
            node->address() + " has cluster_state:" + state + " cluster_slots_assigned:" + assigned;
        break;
      }
    }
    if (waiting_for.empty()) return Status::Ok();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Timeout("cluster not ok after " + std::to_string(timeout.count()) +
                             " ms: " + waiting_for);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Status LocalCluster::StopAll() {
  Status first_error;
  for (auto& node : nodes_) {
    Status s = node->Stop();
    if (!s.ok() && first_error.ok()) first_error = s.WithContext(node->address());
  }
  return first_error;
}

std::vector<std::string> LocalCluster::Addresses() const {
  std::vector<std::string> out;
  for (const auto& node : nodes_) out.push_back(node->address());
  return out;
}

std::vector<pid_t> LocalCluster::Pids() const {
  std::vector<pid_t> out;
  for (const auto& node : nodes_) {
    if (node->running()) out.push_back(node->pid());
  }
  return out;
}

int LocalCluster::IndexOf(const std::string& address) const {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i]->address() == address) return static_cast<int>(i);
  }
  return -1;
}

Result<int> LocalCluster::IndexOfSlotOwner(int slot) const {
  Status last = Status::Unavailable("no running node to ask");
  for (const auto& node : nodes_) {
    if (!node->running() || node->paused()) continue;
    auto client = node->Connect(std::chrono::milliseconds(1000));
    if (!client.ok()) {
      last = client.status();
      continue;
    }
    auto slots = client->Command("CLUSTER", "SLOTS");
    if (!slots.ok()) {
      last = slots.status();
      continue;
    }
    // Each entry: [first, last, [master ip, port, id, ...], replicas...].
    for (const Reply& range : slots->elements) {
      if (range.elements.size() < 3 || range.elements[2].elements.size() < 2) continue;
      if (slot < range.elements[0].integer || slot > range.elements[1].integer) continue;
      const Reply& master = range.elements[2];
      int index =
          IndexOf(master.elements[0].str + ":" + std::to_string(master.elements[1].integer));
      if (index < 0) {
        return Status::NotFound("slot " + std::to_string(slot) + " is served by " +
                                master.elements[0].str + ", not a node of this cluster");
      }
      return index;
    }
    return Status::NotFound("slot " + std::to_string(slot) + " is not served according to " +
                            node->address());
  }
  return last;
}

Result<RedisClient> LocalCluster::ConnectForKey(std::string_view key) const {
  RS_ASSIGN_OR_RETURN(int index, IndexOfSlotOwner(KeySlot(key)));
  return nodes_[index]->Connect();
}

std::string LocalCluster::LogTails(size_t lines) const {
  std::string out;
  for (const auto& node : nodes_) {
    out += "---- " + node->address() + " ----\n" + node->LogTail(lines);
  }
  return out;
}

}  // namespace rs::test
