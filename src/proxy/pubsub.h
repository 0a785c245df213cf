// Pub/sub through the proxy: a client's subscriptions, and the worker's hub that carries them to
// the nodes.
#pragma once

#include <set>
#include <string>

namespace rs::proxy {

// What one client is subscribed to. Redis counts channels and patterns together in the
// (p)subscribe replies, and shard channels apart.
struct Subscriptions {
  std::set<std::string> channels;
  std::set<std::string> patterns;
  std::set<std::string> shard_channels;

  bool empty() const { return channels.empty() && patterns.empty() && shard_channels.empty(); }
  size_t count() const { return channels.size() + patterns.size(); }
};

}  // namespace rs::proxy
