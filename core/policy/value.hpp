// value: the values, entities and requests that policies are evaluated over, with the meaning
// AWS Cedar gives them (docs.cedarpolicy.com, "Policy syntax" and "Operators").
//
// Contract:
//  - A Value is a boolean, a 64-bit integer ("Long"), a string, an entity reference, a set or a
//    record. Values are immutable; sets and records are shared, so copying one is cheap.
//  - Equality (==) is Cedar's: values of different types are unequal (never an error); sets are
//    equal when each contains the other, whatever the order and duplicates; records when they
//    have the same keys with equal values; entities by type and id.
//  - Entities holds what the evaluator may know of an entity: its attributes and its parents.
//    `in` follows parents transitively, so a user whose parent is Role::"advisor" is `in` it, and
//    an entity that is not in the store is `in` only itself (as in Cedar).
//  - Request is one question: may this principal do this action on this resource, in this
//    context. The host builds it from the verified token and the route; nothing in it is trusted
//    beyond that.
#pragma once

#include <boost/json/fwd.hpp>

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace branchline::policy {

struct EntityUid {
  std::string type;  // e.g. "User", "Role", "Customer", "Action"
  std::string id;

  auto operator<=>(const EntityUid&) const = default;
  bool operator==(const EntityUid&) const = default;

  // Cedar's literal syntax: Type::"id", with the id escaped as a Cedar string.
  std::string to_cedar() const;
};

struct Value;
using Set = std::vector<Value>;
using Record = std::map<std::string, Value, std::less<>>;

struct Value {
  using Storage = std::variant<bool, std::int64_t, std::string, EntityUid, std::shared_ptr<const Set>,
                               std::shared_ptr<const Record>>;
  Storage v;

  Value() : v(false) {}
  Value(bool b) : v(b) {}
  Value(std::int64_t n) : v(n) {}
  Value(int n) : v(std::int64_t{n}) {}
  Value(std::string s) : v(std::move(s)) {}
  Value(const char* s) : v(std::string(s)) {}
  Value(EntityUid e) : v(std::move(e)) {}
  Value(Set s) : v(std::make_shared<const Set>(std::move(s))) {}
  Value(Record r) : v(std::make_shared<const Record>(std::move(r))) {}

  bool is_bool() const { return std::holds_alternative<bool>(v); }
  bool is_long() const { return std::holds_alternative<std::int64_t>(v); }
  bool is_string() const { return std::holds_alternative<std::string>(v); }
  bool is_entity() const { return std::holds_alternative<EntityUid>(v); }
  bool is_set() const { return std::holds_alternative<std::shared_ptr<const Set>>(v); }
  bool is_record() const { return std::holds_alternative<std::shared_ptr<const Record>>(v); }

  bool as_bool() const { return std::get<bool>(v); }
  std::int64_t as_long() const { return std::get<std::int64_t>(v); }
  const std::string& as_string() const { return std::get<std::string>(v); }
  const EntityUid& as_entity() const { return std::get<EntityUid>(v); }
  const Set& as_set() const { return *std::get<std::shared_ptr<const Set>>(v); }
  const Record& as_record() const { return *std::get<std::shared_ptr<const Record>>(v); }
};

bool operator==(const Value& a, const Value& b);

// "bool", "long", "string", "entity", "set", "record": for error messages.
const char* type_name(const Value& value);

// Cedar's JSON value format, as its entities and context files use it: true/false, an integer,
// a string, an array (a set), an object (a record), and {"__entity": {"type", "id"}} (an entity;
// the bare {"type", "id"} form is accepted where an entity is expected). Floats, null and
// extension values ("__extn") are refused with std::invalid_argument, as are documents nested
// deeper than 32 levels.
Value value_from_json(const boost::json::value& json);
boost::json::value value_to_json(const Value& value);
EntityUid entity_uid_from_json(const boost::json::value& json);

struct Entity {
  EntityUid uid;
  Record attrs;
  std::vector<EntityUid> parents;
};

class Entities {
 public:
  // Adds or replaces an entity.
  void add(Entity entity);
  const Entity* find(const EntityUid& uid) const;

  // True when `descendant` == `ancestor`, or `ancestor` is reachable through parents.
  bool in(const EntityUid& descendant, const EntityUid& ancestor) const;

  std::size_t size() const { return entities_.size(); }

  // Cedar's entities JSON: [{"uid": {...}, "attrs": {...}, "parents": [...]}].
  static Entities from_json(const boost::json::value& json);

 private:
  std::map<EntityUid, Entity> entities_;
};

struct Request {
  EntityUid principal, action, resource;
  Record context;
};

}  // namespace branchline::policy
