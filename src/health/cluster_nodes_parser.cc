#include "health/cluster_nodes_parser.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace rs::health {
namespace {

using model::OpenSlot;
using model::PeerView;
using model::Role;
using model::SlotRange;

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) return out;
    s = s.substr(p + 1);
  }
}

template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool ValidId(std::string_view id) {
  return id.size() == 40 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

Result<uint16_t> ParseSlot(std::string_view s) {
  uint32_t v = 0;
  if (!ParseNumber(s, &v) || v >= model::kSlotCount) {
    return Status::Corruption(fmt::format("bad slot '{}'", s));
  }
  return static_cast<uint16_t>(v);
}

// "ip:port@cport[,hostname]" or "ip:port" → "ip:port"; "" when the ip is empty.
Result<std::string> ParseAddress(std::string_view field) {
  std::string_view addr = field.substr(0, field.find(','));
  addr = addr.substr(0, addr.find('@'));
  size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos) {
    return Status::Corruption(fmt::format("bad address '{}'", field));
  }
  std::string_view host = addr.substr(0, colon);
  uint32_t port = 0;
  if (!ParseNumber(addr.substr(colon + 1), &port) || port > 65535) {
    return Status::Corruption(fmt::format("bad port in address '{}'", field));
  }
  if (host.empty() || port == 0) return std::string();
  if (host.find(':') != std::string_view::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Status ParseSlotField(std::string_view f, PeerView* view, std::vector<OpenSlot>* open) {
  if (f.front() == '[') {
    // "[slot->-id]" (MIGRATING to id) or "[slot-<-id]" (IMPORTING from id).
    if (f.back() != ']') return Status::Corruption(fmt::format("bad open slot '{}'", f));
    std::string_view body = f.substr(1, f.size() - 2);
    size_t mig = body.find("->-");
    size_t imp = body.find("-<-");
    size_t at = mig != std::string_view::npos ? mig : imp;
    if (at == std::string_view::npos)
      return Status::Corruption(fmt::format("bad open slot '{}'", f));
    OpenSlot o;
    RS_ASSIGN_OR_RETURN(o.slot, ParseSlot(body.substr(0, at)));
    o.migrating = mig != std::string_view::npos;
    o.peer_id = std::string(body.substr(at + 3));
    if (!ValidId(o.peer_id)) return Status::Corruption(fmt::format("bad node id in '{}'", f));
    open->push_back(std::move(o));
    return Status::Ok();
  }
  size_t dash = f.find('-');
  SlotRange r;
  RS_ASSIGN_OR_RETURN(r.first, ParseSlot(f.substr(0, dash)));
  r.last = r.first;
  if (dash != std::string_view::npos) {
    RS_ASSIGN_OR_RETURN(r.last, ParseSlot(f.substr(dash + 1)));
    if (r.last < r.first) return Status::Corruption(fmt::format("bad slot range '{}'", f));
  }
  view->slots.push_back(r);
  return Status::Ok();
}

// id addr flags master ping_sent pong_recv config_epoch link_state slot...
Status ParseLine(std::string_view line, PeerView* view, bool* myself, std::vector<OpenSlot>* open) {
  std::vector<std::string_view> f;
  for (std::string_view part : Split(line, ' ')) {
    if (!part.empty()) f.push_back(part);
  }
  if (f.size() < 8) return Status::Corruption(fmt::format("{} fields, want at least 8", f.size()));
  if (!ValidId(f[0])) return Status::Corruption(fmt::format("bad node id '{}'", f[0]));
  view->id = std::string(f[0]);
  RS_ASSIGN_OR_RETURN(view->address, ParseAddress(f[1]));
  *myself = false;
  for (std::string_view flag : Split(f[2], ',')) {
    if (flag == "myself")
      *myself = true;
    else if (flag == "master")
      view->role = Role::kMaster;
    else if (flag == "slave")
      view->role = Role::kReplica;
    else if (flag == "fail?")
      view->pfail = true;
    else if (flag == "fail")
      view->fail = true;
    else if (flag == "handshake")
      view->handshake = true;
    else if (flag == "noaddr")
      view->address.clear();
    // "nofailover", "noflags" and flags of later versions carry nothing we act on.
  }
  if (f[3] != "-") {
    if (!ValidId(f[3])) return Status::Corruption(fmt::format("bad master id '{}'", f[3]));
    view->master_id = std::string(f[3]);
  }
  if (!ParseNumber(f[6], &view->config_epoch)) {
    return Status::Corruption(fmt::format("bad config epoch '{}'", f[6]));
  }
  if (f[7] == "connected")
    view->connected = true;
  else if (f[7] == "disconnected")
    view->connected = false;
  else
    return Status::Corruption(fmt::format("bad link state '{}'", f[7]));
  for (size_t i = 8; i < f.size(); ++i) RS_RETURN_IF_ERROR(ParseSlotField(f[i], view, open));
  view->slots = model::NormalizeRanges(std::move(view->slots));
  return Status::Ok();
}

}  // namespace

Result<ClusterNodes> ParseClusterNodes(std::string_view text) {
  ClusterNodes out;
  bool have_myself = false;
  int line_no = 0;
  for (std::string_view line : Split(text, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    PeerView view;
    bool myself = false;
    std::vector<OpenSlot> open;
    Status s = ParseLine(line, &view, &myself, &open);
    if (!s.ok()) return s.WithContext(fmt::format("CLUSTER NODES line {}", line_no));
    if (myself) {
      if (have_myself) {
        return Status::Corruption(
            fmt::format("CLUSTER NODES line {}: second myself line", line_no));
      }
      have_myself = true;
      out.myself = std::move(view);
      out.open_slots = std::move(open);
    } else {
      out.peers.push_back(std::move(view));
    }
  }
  if (!have_myself) return Status::Corruption("CLUSTER NODES has no myself line");
  std::sort(out.peers.begin(), out.peers.end(),
            [](const PeerView& a, const PeerView& b) { return a.id < b.id; });
  std::sort(out.open_slots.begin(), out.open_slots.end());
  return out;
}

void ApplyClusterNodes(const ClusterNodes& nodes, model::NodeObservation* obs) {
  obs->id = nodes.myself.id;
  obs->role = nodes.myself.role;
  obs->master_id = nodes.myself.master_id;
  obs->slots = nodes.myself.slots;
  obs->open_slots = nodes.open_slots;
  obs->config_epoch = nodes.myself.config_epoch;
  obs->peers = nodes.peers;
}

}  // namespace rs::health
