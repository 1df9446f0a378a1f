// value: Cedar values, entities and the JSON forms Cedar's own tools read (see value.hpp).
#include "policy/value.hpp"

#include "policy/cedar_text.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <unordered_set>

namespace json = boost::json;

namespace branchline::policy {

std::string EntityUid::to_cedar() const { return type + "::" + cedar_string_literal(id); }

namespace {

bool set_contains(const Set& set, const Value& item) {
  for (const Value& v : set)
    if (v == item) return true;
  return false;
}

}  // namespace

bool operator==(const Value& a, const Value& b) {
  if (a.v.index() != b.v.index()) return false;
  if (a.is_set()) {
    const Set& x = a.as_set();
    const Set& y = b.as_set();
    for (const Value& v : x)
      if (!set_contains(y, v)) return false;
    for (const Value& v : y)
      if (!set_contains(x, v)) return false;
    return true;
  }
  if (a.is_record()) {
    const Record& x = a.as_record();
    const Record& y = b.as_record();
    if (x.size() != y.size()) return false;
    for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j)
      if (i->first != j->first || !(i->second == j->second)) return false;
    return true;
  }
  return a.v == b.v;
}

const char* type_name(const Value& value) {
  static const char* const names[] = {"bool", "long", "string", "entity", "set", "record"};
  return names[value.v.index()];
}

namespace {

constexpr int kMaxJsonDepth = 32;

EntityUid uid_from_object(const json::object& o) {
  const json::value* type = o.if_contains("type");
  const json::value* id = o.if_contains("id");
  if (!type || !id || !type->is_string() || !id->is_string() || o.size() != 2)
    throw std::invalid_argument("an entity reference is {\"type\": string, \"id\": string}");
  if (type->as_string().empty()) throw std::invalid_argument("an entity type is not empty");
  return EntityUid{std::string(type->as_string()), std::string(id->as_string())};
}

Value from_json(const json::value& j, int depth) {
  if (depth > kMaxJsonDepth) throw std::invalid_argument("a value is nested more than 32 levels deep");
  switch (j.kind()) {
    case json::kind::bool_: return Value(j.get_bool());
    case json::kind::int64: return Value(j.get_int64());
    case json::kind::uint64:
      if (j.get_uint64() > static_cast<std::uint64_t>(INT64_MAX))
        throw std::invalid_argument("an integer is outside 64 bits");
      return Value(static_cast<std::int64_t>(j.get_uint64()));
    case json::kind::string: return Value(std::string(j.get_string()));
    case json::kind::array: {
      Set set;
      set.reserve(j.get_array().size());
      for (const json::value& item : j.get_array()) set.push_back(from_json(item, depth + 1));
      return Value(std::move(set));
    }
    case json::kind::object: {
      const json::object& o = j.get_object();
      if (o.contains("__extn")) throw std::invalid_argument("extension values (__extn) are not supported");
      if (const json::value* e = o.if_contains("__entity")) {
        if (o.size() != 1 || !e->is_object()) throw std::invalid_argument("__entity holds {\"type\", \"id\"} alone");
        return Value(uid_from_object(e->get_object()));
      }
      Record record;
      for (const auto& member : o) record.emplace(std::string(member.key()), from_json(member.value(), depth + 1));
      return Value(std::move(record));
    }
    case json::kind::double_: throw std::invalid_argument("decimal numbers are not Cedar values; use an integer");
    case json::kind::null: throw std::invalid_argument("null is not a Cedar value");
  }
  throw std::invalid_argument("not a Cedar value");
}

}  // namespace

Value value_from_json(const json::value& j) { return from_json(j, 0); }

json::value value_to_json(const Value& value) {
  return std::visit(
      [](const auto& x) -> json::value {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::int64_t>) {
          return json::value(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return json::value(json::string(x));
        } else if constexpr (std::is_same_v<T, EntityUid>) {
          return json::object{{"__entity", json::object{{"type", x.type}, {"id", x.id}}}};
        } else if constexpr (std::is_same_v<T, std::shared_ptr<const Set>>) {
          json::array a;
          for (const Value& v : *x) a.push_back(value_to_json(v));
          return a;
        } else {
          json::object o;
          for (const auto& [k, v] : *x) o[k] = value_to_json(v);
          return o;
        }
      },
      value.v);
}

EntityUid entity_uid_from_json(const json::value& j) {
  if (!j.is_object()) throw std::invalid_argument("an entity reference is an object");
  const json::object& o = j.get_object();
  if (const json::value* e = o.if_contains("__entity")) {
    if (o.size() != 1 || !e->is_object()) throw std::invalid_argument("__entity holds {\"type\", \"id\"} alone");
    return uid_from_object(e->get_object());
  }
  return uid_from_object(o);
}

void Entities::add(Entity entity) {
  EntityUid uid = entity.uid;
  entities_.insert_or_assign(std::move(uid), std::move(entity));
}

const Entity* Entities::find(const EntityUid& uid) const {
  auto it = entities_.find(uid);
  return it == entities_.end() ? nullptr : &it->second;
}

bool Entities::in(const EntityUid& descendant, const EntityUid& ancestor) const {
  if (descendant == ancestor) return true;
  // Depth-first over parents. Each parent entry is followed once, known by its address: nothing
  // is copied (this runs for every scope of every rule of every decision), and a cycle in the data
  // is harmless. Few entries (a principal, its roles): a linear search; many: a hash set.
  std::vector<const EntityUid*> frontier{&descendant};
  std::vector<const EntityUid*> seen;
  std::unordered_set<const EntityUid*> many;
  auto first_visit = [&](const EntityUid* uid) {
    if (many.empty() && seen.size() < 64) {
      if (std::find(seen.begin(), seen.end(), uid) != seen.end()) return false;
      seen.push_back(uid);
      return true;
    }
    if (many.empty()) many.insert(seen.begin(), seen.end());
    return many.insert(uid).second;
  };
  while (!frontier.empty()) {
    const EntityUid* uid = frontier.back();
    frontier.pop_back();
    const Entity* entity = find(*uid);
    if (!entity) continue;
    for (const EntityUid& parent : entity->parents) {
      if (parent == ancestor) return true;
      if (first_visit(&parent)) frontier.push_back(&parent);
    }
  }
  return false;
}

Entities Entities::from_json(const json::value& j) {
  if (!j.is_array()) throw std::invalid_argument("entities are a JSON array");
  Entities out;
  for (const json::value& item : j.get_array()) {
    if (!item.is_object()) throw std::invalid_argument("an entity is a JSON object");
    const json::object& o = item.get_object();
    Entity entity;
    const json::value* uid = o.if_contains("uid");
    if (!uid) throw std::invalid_argument("an entity has a \"uid\"");
    entity.uid = entity_uid_from_json(*uid);
    if (const json::value* attrs = o.if_contains("attrs")) {
      if (!attrs->is_object()) throw std::invalid_argument("an entity's \"attrs\" is an object");
      Value record = value_from_json(*attrs);
      if (!record.is_record()) throw std::invalid_argument("an entity's \"attrs\" is a record");
      entity.attrs = record.as_record();
    }
    if (const json::value* parents = o.if_contains("parents")) {
      if (!parents->is_array()) throw std::invalid_argument("an entity's \"parents\" is an array");
      for (const json::value& p : parents->get_array()) entity.parents.push_back(entity_uid_from_json(p));
    }
    out.add(std::move(entity));
  }
  return out;
}

}  // namespace branchline::policy
