#include "discovery/lainlet_json.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace rs::discovery {
namespace {

using nlohmann::json;

Result<json> ParseJson(std::string_view body, std::string_view what) {
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Status::Corruption(fmt::format("{} body is not valid JSON", what));
  }
  return doc;
}

// Go encodes a nil slice as null; both mean "no entries".
bool IsList(const json& v) { return v.is_array() || v.is_null(); }

Result<uint32_t> InstanceNo(const json& v, std::string_view where) {
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > UINT32_MAX) {
    return Status::Corruption(fmt::format("{}: InstanceNo is not a non-negative integer", where));
  }
  return static_cast<uint32_t>(v.get<int64_t>());
}

}  // namespace

Result<std::vector<Pod>> ParseProcwatcher(std::string_view body) {
  RS_ASSIGN_OR_RETURN(json doc, ParseJson(body, "procwatcher"));
  if (!IsList(doc)) return Status::Corruption("procwatcher body is not a list of pod groups");
  std::vector<Pod> pods;
  if (doc.is_null()) return pods;
  for (size_t g = 0; g < doc.size(); ++g) {
    const json& group = doc[g];
    if (!group.is_object()) {
      return Status::Corruption(fmt::format("procwatcher group {} is not an object", g));
    }
    auto procs = group.find("proc");
    if (procs == group.end() || procs->is_null()) continue;
    if (!procs->is_array()) {
      return Status::Corruption(fmt::format("procwatcher group {}: \"proc\" is not a list", g));
    }
    for (size_t p = 0; p < procs->size(); ++p) {
      const json& e = (*procs)[p];
      std::string where = fmt::format("procwatcher group {} pod {}", g, p);
      if (!e.is_object()) return Status::Corruption(where + " is not an object");
      Pod pod;
      auto inst = e.find("InstanceNo");
      if (inst == e.end()) return Status::Corruption(where + " has no InstanceNo");
      RS_ASSIGN_OR_RETURN(pod.instance, InstanceNo(*inst, where));
      auto ip = e.find("IP");
      if (ip != e.end() && ip->is_string()) pod.ip = ip->get<std::string>();
      auto port = e.find("Port");
      if (port != e.end() && port->is_number_integer()) {
        int64_t v = port->get<int64_t>();
        pod.port = (v > 0 && v <= 65535) ? static_cast<int>(v) : 0;
      }
      auto proc = e.find("ProcName");
      if (proc != e.end() && proc->is_string()) pod.proc_name = proc->get<std::string>();
      pods.push_back(std::move(pod));
    }
  }
  return pods;
}

Result<std::map<uint32_t, PodHost>> ParseCoreinfo(std::string_view body,
                                                  std::string_view proc_name) {
  RS_ASSIGN_OR_RETURN(json doc, ParseJson(body, "coreinfowatcher"));
  std::map<uint32_t, PodHost> out;
  if (doc.is_null()) return out;
  if (!doc.is_object()) return Status::Corruption("coreinfowatcher body is not an object");
  for (const auto& [group_name, group] : doc.items()) {
    size_t dot = group_name.rfind('.');
    std::string_view last = dot == std::string::npos ? std::string_view(group_name)
                                                     : std::string_view(group_name).substr(dot + 1);
    if (last != proc_name) continue;
    if (!group.is_object()) {
      return Status::Corruption(fmt::format("coreinfowatcher {} is not an object", group_name));
    }
    auto infos = group.find("PodInfos");
    if (infos == group.end() || infos->is_null()) continue;
    if (!infos->is_array()) {
      return Status::Corruption(
          fmt::format("coreinfowatcher {}: PodInfos is not a list", group_name));
    }
    for (size_t i = 0; i < infos->size(); ++i) {
      const json& pod = (*infos)[i];
      std::string where = fmt::format("coreinfowatcher {} pod {}", group_name, i);
      if (!pod.is_object()) return Status::Corruption(where + " is not an object");
      auto inst = pod.find("InstanceNo");
      if (inst == pod.end()) return Status::Corruption(where + " has no InstanceNo");
      RS_ASSIGN_OR_RETURN(uint32_t instance, InstanceNo(*inst, where));
      auto containers = pod.find("ContainerInfos");
      if (containers == pod.end() || !containers->is_array() || containers->empty()) continue;
      const json& c = (*containers)[0];
      if (!c.is_object()) continue;
      PodHost host;
      auto name = c.find("NodeName");
      if (name != c.end() && name->is_string()) host.node_name = name->get<std::string>();
      auto ip = c.find("NodeIp");
      if (ip != c.end() && ip->is_string()) host.node_ip = ip->get<std::string>();
      if (host.node_name.empty() && host.node_ip.empty()) continue;
      out.emplace(instance, std::move(host));
    }
  }
  return out;
}

Selection SelectMembers(const std::vector<Pod>& pods, std::string_view proc_name,
                        const std::map<uint32_t, PodHost>& hosts) {
  Selection sel;
  std::set<uint32_t> seen;
  for (const Pod& pod : pods) {
    if (pod.proc_name != proc_name) continue;
    if (pod.ip.empty()) {
      sel.skipped.push_back(fmt::format("instance {} has no IP yet", pod.instance));
      continue;
    }
    if (pod.port == 0) {
      sel.skipped.push_back(fmt::format("instance {} has no port", pod.instance));
      continue;
    }
    if (!seen.insert(pod.instance).second) {
      sel.skipped.push_back(fmt::format("instance {} listed twice", pod.instance));
      continue;
    }
    model::Member m;
    m.instance = pod.instance;
    bool v6 = pod.ip.find(':') != std::string::npos;
    m.address =
        v6 ? fmt::format("[{}]:{}", pod.ip, pod.port) : fmt::format("{}:{}", pod.ip, pod.port);
    auto h = hosts.find(pod.instance);
    if (h != hosts.end() && !h->second.node_name.empty()) {
      m.host = h->second.node_name;
    } else if (h != hosts.end() && !h->second.node_ip.empty()) {
      m.host = h->second.node_ip;
    } else {
      m.host = pod.ip;
    }
    sel.members.push_back(std::move(m));
  }
  std::sort(
      sel.members.begin(), sel.members.end(),
      [](const model::Member& a, const model::Member& b) { return a.address < b.address; });
  return sel;
}

}  // namespace rs::discovery
