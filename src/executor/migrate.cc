// Slot migration in Redis's safe order (redis-notes.md): IMPORTING on the destination, MIGRATING
// on the source, MIGRATE ... KEYS until empty, then SETSLOT NODE on the destination first, the
// source next, every other master last. SETSLOT calls are pipelined per chunk of slots.
#include <algorithm>
#include <optional>
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "executor/crash_point.h"
#include "executor/slot_list.h"
#include "executor/steps.h"
#include "health/cluster_nodes_parser.h"

namespace rs::executor {

using model::NodeRef;
using model::SlotRange;
using model::Step;

namespace {

std::vector<uint16_t> Remaining(const std::vector<SlotRange>& want,
                                const std::vector<SlotRange>& done) {
  std::vector<uint16_t> out;
  auto is_done = [&](uint32_t s) {
    for (const SlotRange& r : done) {
      if (s >= r.first && s <= r.last) return true;
    }
    return false;
  };
  for (const SlotRange& r : want) {
    for (uint32_t s = r.first; s <= r.last; ++s) {
      if (!is_done(s)) out.push_back(static_cast<uint16_t>(s));
    }
  }
  return out;
}

std::vector<std::string> SetSlot(uint16_t slot, const char* state, const std::string& id) {
  return {"CLUSTER", "SETSLOT", std::to_string(slot), state, id};
}


}  // namespace

Status StepRunner::Migrate(const Step& step, const std::vector<SlotRange>& done,
                           StepHooks* hooks) {
  const NodeRef& source = step.target;
  const NodeRef& dest = step.peer;
  std::vector<uint16_t> todo = Remaining(step.slots, done);
  if (todo.empty()) return Status::Ok();
  // SETSLOT names the peer by id: both must know each other (a node met a moment ago may not
  // have been gossiped to the source yet).
  RS_RETURN_IF_ERROR(WaitUntilAcquainted(source, dest));
  // A node that joined a moment ago answers CLUSTERDOWN to RESTORE-ASKING until gossip has told
  // it the owner of every slot.
  RS_RETURN_IF_ERROR(WaitFor(options_.converge_timeout_ms, [&]() -> Status {
    RS_ASSIGN_OR_RETURN(Reply info, ExpectOk(pool_->Command(dest.address, {"CLUSTER", "INFO"}),
                                             "CLUSTER INFO"));
    if (info.str.find("cluster_state:ok") != std::string::npos) return Status::Ok();
    return Status::Unavailable(fmt::format("{} does not see the cluster as ok yet", dest.address));
  }));
  for (size_t begin = 0; begin < todo.size(); begin += options_.slots_per_chunk) {
    std::vector<uint16_t> chunk(todo.begin() + begin,
                                todo.begin() + std::min(todo.size(), begin + options_.slots_per_chunk));
    // 1. IMPORTING on the destination. "already the owner" means an earlier run finished the
    //    key moves and SETSLOT NODE on the destination for that slot.
    std::vector<std::vector<std::string>> cmds;
    for (uint16_t s : chunk) cmds.push_back(SetSlot(s, "IMPORTING", source.id));
    RS_ASSIGN_OR_RETURN(auto imp, pool_->Pipeline(dest.address, cmds));
    std::vector<uint16_t> moving, owned;
    for (size_t i = 0; i < chunk.size(); ++i) {
      if (!imp[i].is_error()) {
        moving.push_back(chunk[i]);
      } else if (imp[i].ErrorStartsWith("ERR I'm already the owner")) {
        owned.push_back(chunk[i]);
      } else {
        return Status::Aborted(fmt::format("SETSLOT {} IMPORTING on {}: {}", chunk[i],
                                           dest.address, imp[i].str));
      }
    }
    CRASH_POINT("migrate.after_importing");
    // 2. MIGRATING on the source.
    if (!moving.empty()) {
      cmds.clear();
      for (uint16_t s : moving) cmds.push_back(SetSlot(s, "MIGRATING", dest.id));
      RS_ASSIGN_OR_RETURN(auto mig, pool_->Pipeline(source.address, cmds));
      for (size_t i = 0; i < moving.size(); ++i) {
        if (mig[i].is_error()) {
          return Status::Aborted(fmt::format(
              "slot {} is IMPORTING on {} but SETSLOT MIGRATING on {} failed: {}", moving[i],
              dest.address, source.address, mig[i].str));
        }
      }
    }
    CRASH_POINT("migrate.after_migrating");
    // 3. Keys.
    RS_ASSIGN_OR_RETURN(uint64_t keys, MoveKeys(source, dest, moving, hooks));
    CRASH_POINT("migrate.after_keys");
    // 4-6. Ownership: destination first, then the source, then everyone else.
    std::vector<uint16_t> all = moving;
    all.insert(all.end(), owned.begin(), owned.end());
    std::sort(all.begin(), all.end());
    RS_RETURN_IF_ERROR(BroadcastOwner(source, dest, all));
    CRASH_POINT("migrate.before_progress");
    RS_RETURN_IF_ERROR(hooks->Progress(CompressSlots(chunk), keys));
    CRASH_POINT("migrate.after_progress");
    RS_RETURN_IF_ERROR(hooks->Checkpoint(0));
  }
  return Status::Ok();
}

std::vector<std::string> StepRunner::MigrateCommand(const NodeRef& dest,
                                                    const std::vector<std::string>& keys,
                                                    bool replace) const {
  std::vector<std::string> cmd = {"MIGRATE", HostOf(dest.address), PortOf(dest.address), "", "0",
                                  std::to_string(options_.migrate_timeout_ms)};
  if (replace) cmd.push_back("REPLACE");
  const auto& auth = pool_->options();
  if (!auth.password.empty()) {
    if (auth.user.empty()) {
      cmd.insert(cmd.end(), {"AUTH", auth.password});
    } else {
      cmd.insert(cmd.end(), {"AUTH2", auth.user, auth.password});
    }
  }
  cmd.push_back("KEYS");
  cmd.insert(cmd.end(), keys.begin(), keys.end());
  return cmd;
}

Result<uint64_t> StepRunner::MoveKeys(const NodeRef& source, const NodeRef& dest,
                                      const std::vector<uint16_t>& slots, StepHooks* hooks) {
  uint64_t moved = 0;
  if (slots.empty()) return moved;
  // Round trips dominate on small slots, so every round is two pipelines over all the slots
  // still holding keys: GETKEYSINSLOT for each, then one MIGRATE ... KEYS per slot.
  std::vector<std::vector<std::string>> cmds;
  for (uint16_t s : slots) cmds.push_back({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(s)});
  RS_ASSIGN_OR_RETURN(auto counts, pool_->Pipeline(source.address, cmds));
  std::vector<uint16_t> pending;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (!counts[i].is_error() && counts[i].integer > 0) pending.push_back(slots[i]);
  }
  while (!pending.empty()) {
    cmds.clear();
    for (uint16_t s : pending) {
      cmds.push_back({"CLUSTER", "GETKEYSINSLOT", std::to_string(s), std::to_string(batch_keys_)});
    }
    RS_ASSIGN_OR_RETURN(auto key_replies, pool_->Pipeline(source.address, cmds));
    std::vector<uint16_t> batch_slots;
    std::vector<std::vector<std::string>> batches;
    std::vector<uint16_t> still;
    size_t bytes = 0;
    for (size_t i = 0; i < pending.size(); ++i) {
      if (key_replies[i].is_error()) {
        return Status::Aborted(fmt::format("GETKEYSINSLOT {} on {}: {}", pending[i],
                                           source.address, key_replies[i].str));
      }
      if (key_replies[i].elements.empty()) continue;
      std::vector<std::string> keys;
      for (const Reply& k : key_replies[i].elements) {
        keys.push_back(k.str);
        bytes += k.str.size();
      }
      // A full batch may mean more keys wait in that slot.
      if (keys.size() >= batch_keys_) still.push_back(pending[i]);
      batch_slots.push_back(pending[i]);
      batches.push_back(std::move(keys));
    }
    cmds.clear();
    for (const auto& keys : batches) cmds.push_back(MigrateCommand(dest, keys, false));
    auto started = std::chrono::steady_clock::now();
    auto replies = pool_->Pipeline(source.address, cmds);
    if (!replies.ok()) {
      // A timeout may mean the batches were too big to move within the MIGRATE timeout.
      batch_keys_ = std::max(options_.batch_keys_min, batch_keys_ / 2);
      return replies.status().WithContext(fmt::format("MIGRATE to {}", dest.address));
    }
    uint64_t round = 0;
    for (size_t i = 0; i < replies->size(); ++i) {
      const Reply& r = (*replies)[i];
      const uint16_t slot = batch_slots[i];
      if (!r.is_error()) {
        round += batches[i].size();
        continue;
      }
      if (r.str.find("BUSYKEY") != std::string::npos) {
        RS_RETURN_IF_ERROR(ResolveBusyKeys(source, dest, batches[i]));
        if (std::find(still.begin(), still.end(), slot) == still.end()) still.push_back(slot);
        continue;
      }
      if (r.str.find("CLUSTERDOWN") != std::string::npos ||
          r.str.find("TRYAGAIN") != std::string::npos ||
          r.str.find("IOERR") != std::string::npos) {
        if (r.str.find("IOERR") != std::string::npos) {
          batch_keys_ = std::max(options_.batch_keys_min, batch_keys_ / 2);
        }
        // Transient: the step is retried with backoff and resumes where it stopped.
        return Status::Unavailable(fmt::format("MIGRATE slot {} from {} to {}: {}", slot,
                                               source.address, dest.address, r.str));
      }
      return Status::Aborted(fmt::format("MIGRATE slot {} from {} to {}: {}", slot,
                                         source.address, dest.address, r.str));
    }
    moved += round;
    CRASH_POINT("migrate.after_batch");
    // Adapt the per-slot batch: grow while rounds are quick and light, shrink when slow or heavy.
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count();
    if (ms > 500 || bytes > options_.batch_bytes_max) {
      batch_keys_ = std::max(options_.batch_keys_min, batch_keys_ / 2);
    } else if (ms < 100 && !still.empty()) {
      batch_keys_ = std::min(options_.batch_keys_max, batch_keys_ * 2);
    }
    RS_RETURN_IF_ERROR(hooks->Checkpoint(round));
    std::sort(still.begin(), still.end());
    pending = std::move(still);
  }
  return moved;
}

Status StepRunner::ResolveBusyKeys(const NodeRef& source, const NodeRef& dest,
                                   const std::vector<std::string>& keys) {
  // A key on both sides is only replaced when both values are equal (redis-cli's rule): compare
  // DEBUG DIGEST-VALUE, or the DUMP payload where DEBUG is disabled.
  // The slot is IMPORTING on the destination, so reads there need ASKING first.
  auto asking = [&](const std::string& address,
                    std::vector<std::string> args) -> Result<Reply> {
    RS_ASSIGN_OR_RETURN(auto r, pool_->Pipeline(address, {{"ASKING"}, args}));
    return std::move(r[1]);
  };
  // The digest of a key's value; nullopt when the node does not hold it (the keys of the batch
  // before and after the busy one were moved, and a MIGRATING source answers ASK for them).
  auto digest = [&](const std::string& address,
                    const std::string& key) -> Result<std::optional<std::string>> {
    RS_ASSIGN_OR_RETURN(Reply exists, asking(address, {"EXISTS", key}));
    if (exists.ErrorStartsWith("ASK") || (!exists.is_error() && exists.integer == 0)) {
      return std::optional<std::string>();
    }
    auto d = asking(address, {"DEBUG", "DIGEST-VALUE", key});
    if (d.ok() && !d->is_error() && !d->elements.empty()) {
      return std::optional<std::string>(d->elements[0].str);
    }
    RS_ASSIGN_OR_RETURN(Reply dump, ExpectOk(asking(address, {"DUMP", key}),
                                             fmt::format("DUMP {} on {}", key, address)));
    return std::optional<std::string>("dump:" + dump.str);
  };
  std::vector<std::string> replace;
  for (const std::string& key : keys) {
    RS_ASSIGN_OR_RETURN(auto a, digest(source.address, key));
    if (!a) continue;  // Already moved.
    RS_ASSIGN_OR_RETURN(auto b, digest(dest.address, key));
    if (!b) continue;  // Not busy: the next MIGRATE moves it.
    if (*a != *b) {
      return Status::Aborted(fmt::format(
          "key '{}' exists on both {} and {} with different values (BUSYKEY); resolve it by hand, "
          "nothing was overwritten",
          key, source.address, dest.address));
    }
    replace.push_back(key);
  }
  if (replace.empty()) return Status::Ok();
  spdlog::info("replacing {} equal keys already present on {}", replace.size(), dest.address);
  return ExpectOk(pool_->Command(source.address, MigrateCommand(dest, replace, true)),
                  "MIGRATE REPLACE of equal keys")
      .status();
}

Status StepRunner::BroadcastOwner(const NodeRef& source, const NodeRef& dest,
                                  const std::vector<uint16_t>& slots) {
  if (slots.empty()) return Status::Ok();
  std::vector<std::vector<std::string>> cmds;
  for (uint16_t s : slots) cmds.push_back(SetSlot(s, "NODE", dest.id));
  // The destination first: it bumps its epoch, so the slot is never left without an owner.
  RS_ASSIGN_OR_RETURN(auto on_dest, pool_->Pipeline(dest.address, cmds));
  for (size_t i = 0; i < slots.size(); ++i) {
    if (on_dest[i].is_error()) {
      return Status::Aborted(fmt::format("SETSLOT {} NODE on destination {}: {}", slots[i],
                                         dest.address, on_dest[i].str));
    }
  }
  CRASH_POINT("migrate.after_node_on_dest");
  auto on_source = pool_->Pipeline(source.address, cmds);
  if (on_source.ok()) {
    for (size_t i = 0; i < slots.size(); ++i) {
      const Reply& r = (*on_source)[i];
      // A source that lost its last slot turned into a replica: that is expected.
      if (r.is_error() && !r.ErrorStartsWith("ERR Please use SETSLOT only with masters")) {
        return Status::Aborted(fmt::format("SETSLOT {} NODE on source {}: {}", slots[i],
                                           source.address, r.str));
      }
    }
  } else {
    // The destination owns the slot already; gossip will tell the source. Not a failure.
    spdlog::warn("SETSLOT NODE on source {}: {}", source.address, on_source.status().ToString());
  }
  CRASH_POINT("migrate.after_node_on_source");
  auto masters = KnownMasters(pool_, dest.address);
  if (!masters.ok()) return Status::Ok();  // Best effort: gossip spreads it anyway.
  for (const NodeRef& m : *masters) {
    if (m.address == dest.address || m.address == source.address) continue;
    auto r = pool_->Pipeline(m.address, cmds);
    if (!r.ok()) spdlog::warn("SETSLOT NODE on {}: {}", m.address, r.status().ToString());
  }
  return Status::Ok();
}

Status StepRunner::FixOpenSlots(const Step& step, StepHooks* hooks) {
  // The planner rolls half-done moves forward with kMigrate; this step is for the rest (the peer
  // is gone or unknown): the slot is made STABLE on step.target, which never changes its owner.
  // An IMPORTING node that already holds keys of the slot is refused instead: those keys would
  // become unreachable, so that slot needs an operator (or the peer back).
  const NodeRef& node = step.target;
  const std::vector<uint16_t> slots = ExpandSlots(step.slots);
  RS_ASSIGN_OR_RETURN(Reply nodes_text, ExpectOk(pool_->Command(node.address, {"CLUSTER", "NODES"}),
                                                 fmt::format("CLUSTER NODES on {}", node.address)));
  RS_ASSIGN_OR_RETURN(auto nodes, health::ParseClusterNodes(nodes_text.str));
  std::vector<std::vector<std::string>> cmds;
  for (uint16_t s : slots) cmds.push_back({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(s)});
  RS_ASSIGN_OR_RETURN(auto counts, pool_->Pipeline(node.address, cmds));
  cmds.clear();
  for (size_t i = 0; i < slots.size(); ++i) {
    bool importing = false;
    for (const model::OpenSlot& o : nodes.open_slots) {
      importing |= o.slot == slots[i] && !o.migrating;
    }
    if (importing && counts[i].integer > 0) {
      return Status::FailedPrecondition(fmt::format(
          "slot {} is IMPORTING on {} which already holds {} of its keys; not making it stable "
          "(the keys would become unreachable): bring the source back or move the keys by hand",
          slots[i], node.address, counts[i].integer));
    }
    cmds.push_back({"CLUSTER", "SETSLOT", std::to_string(slots[i]), "STABLE"});
  }
  CRASH_POINT("fix.before_stable");
  RS_ASSIGN_OR_RETURN(auto r, pool_->Pipeline(node.address, cmds));
  for (size_t i = 0; i < r.size(); ++i) {
    if (r[i].is_error()) {
      return Status::Aborted(
          fmt::format("SETSLOT {} STABLE on {}: {}", slots[i], node.address, r[i].str));
    }
  }
  return Status::Ok();
}

}  // namespace rs::executor
