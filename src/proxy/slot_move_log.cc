#include "proxy/slot_move_log.h"

#include <fmt/format.h>

namespace rs::proxy {

namespace {

std::string_view OwnerOrEmpty(const RoutingTable& table, int slot) {
  const std::string* owner = table.OwnerOf(slot);
  return owner ? std::string_view(*owner) : std::string_view();
}

}  // namespace

std::vector<SlotMove> DiffOwners(const RoutingTable& before, const RoutingTable& after) {
  std::vector<SlotMove> moves;
  for (int slot = 0; slot < kSlotCount; ++slot) {
    std::string_view from = OwnerOrEmpty(before, slot), to = OwnerOrEmpty(after, slot);
    if (from != to) moves.push_back({slot, std::string(from), std::string(to)});
  }
  return moves;
}

std::optional<SlotMove> MovedPatch(const RoutingTable& table, int slot, std::string_view address) {
  std::string_view from = OwnerOrEmpty(table, slot);
  if (from == address) return std::nullopt;
  return SlotMove{slot, std::string(from), std::string(address)};
}

SlotMoveLog::SlotMoveLog(AddressRegistry* registry, uint64_t first_version, size_t capacity)
    : registry_(registry),
      capacity_(capacity),
      version_(first_version),
      oldest_readable_(first_version) {}

Status SlotMoveLog::Publish(RoutingTablePtr table) {
  if (!table) return Status::InvalidArgument("move log: no table to publish");
  std::lock_guard<std::mutex> lock(mu_);
  if (!table_) return AppendLocked({}, std::move(table));
  std::vector<SlotMove> moves = DiffOwners(*table_, *table);
  return AppendLocked(moves, std::move(table));
}

Status SlotMoveLog::PatchSlot(int slot, std::string_view address) {
  if (slot < 0 || slot >= kSlotCount || address.empty()) {
    return Status::InvalidArgument(
        fmt::format("move log: bad patch of slot {} to '{}'", slot, address));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!table_) return Status::Ok();  // nothing to patch; the first table will say it
  std::optional<SlotMove> move = MovedPatch(*table_, slot, address);
  if (!move) return Status::Ok();
  return AppendLocked({*move}, table_->WithSlotOwner(slot, address));
}

Status SlotMoveLog::AppendLocked(const std::vector<SlotMove>& moves, RoutingTablePtr table) {
  // Every serving master gets its id now, so a step can always encode the master it lands on.
  Status status;
  auto id_of = [&](std::string_view address) -> uint16_t {
    if (address.empty()) return AddressRegistry::kNoId;
    Result<uint16_t> id = registry_->Intern(address);
    if (!id.ok()) {
      if (status.ok()) status = id.status();
      return AddressRegistry::kNoId;
    }
    return *id;
  };
  std::vector<bool> serving(table->masters.size());
  for (int16_t owner : table->owner) {
    if (owner >= 0) serving[owner] = true;
  }
  for (size_t i = 0; i < serving.size(); ++i) {
    if (serving[i]) id_of(table->masters[i]);
  }
  table_ = std::move(table);
  if (moves.empty()) return status;

  ++version_;
  std::vector<Entry> batch;
  batch.reserve(moves.size());
  for (const SlotMove& m : moves) batch.push_back({version_, m.slot, id_of(m.from), id_of(m.to)});
  if (!status.ok()) {
    // A move that cannot be written down: no cursor from before it may be judged any more.
    entries_.clear();
    oldest_readable_ = version_;
    return status.WithContext("move log: moves of a new table not recorded");
  }
  entries_.insert(entries_.end(), batch.begin(), batch.end());
  while (!entries_.empty() &&
         (entries_.size() > capacity_ || version_ - oldest_readable_ > kMaxBatches)) {
    uint64_t dropped = entries_.front().version;
    while (!entries_.empty() && entries_.front().version == dropped) entries_.pop_front();
    oldest_readable_ = dropped;
  }
  return Status::Ok();
}

SlotMoveLog::View SlotMoveLog::Latest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return SinceLocked(version_);
}

SlotMoveLog::View SlotMoveLog::SinceCursorVersion(uint16_t version_bits) const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t behind = (version_ - version_bits) & ScanCursor::kVersionMask;
  if (behind > version_ - oldest_readable_) {
    View view;
    view.table = table_;
    view.version = version_;
    return view;
  }
  return SinceLocked(version_ - behind);
}

SlotMoveLog::View SlotMoveLog::Since(uint64_t version) const {
  std::lock_guard<std::mutex> lock(mu_);
  return SinceLocked(version);
}

SlotMoveLog::View SlotMoveLog::SinceLocked(uint64_t version) const {
  View view;
  view.table = table_;
  view.version = version_;
  view.known = table_ && version >= oldest_readable_ && version <= version_;
  if (!view.known) return view;
  auto first = entries_.end();
  while (first != entries_.begin() && std::prev(first)->version > version) --first;
  view.moves.assign(first, entries_.end());
  return view;
}

}  // namespace rs::proxy
