// expression: the conditions of a policy (`when` and `unless`), in the expression language of
// AWS Cedar, parsed once at load and evaluated for each request.
//
// Contract:
//  - The language is Cedar's, less its extension types: literals (true, false, 64-bit integers,
//    strings, entity references Type::"id", sets [..], records {..}); the variables principal,
//    action, resource and context; `.attr` and `["attr"]`; `has`; `like` with `*` wildcards; `is`
//    (optionally `is T in e`); == != < <= > >= in; && || ! (short-circuit); + - * (overflow is an
//    error); if-then-else; .contains() .containsAll() .containsAny() .isEmpty(); // comments.
//    Extension functions (ip, decimal, datetime, duration) and tags are refused at parse time, so
//    a policy Branchline accepts means the same thing to Cedar's own tools.
//  - Evaluation follows Cedar: a type mismatch, a missing attribute, an attribute of an entity
//    that is not known, or an overflow is an EvaluationError (the policy is then not satisfied,
//    and the error is reported); `has` on an unknown entity is false; == never errors.
//  - Untrusted text: at most kMaxExpressionBytes, nested at most kMaxExpressionDepth; every
//    refusal is an ExpressionError with the byte offset where it was found. Never aborts.
#pragma once

#include "policy/value.hpp"

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace branchline::policy {

inline constexpr std::size_t kMaxExpressionBytes = 16 * 1024;
inline constexpr int kMaxExpressionDepth = 48;

class ExpressionError : public std::runtime_error {
 public:
  ExpressionError(std::size_t offset, const std::string& message) : std::runtime_error(message), offset_(offset) {}
  std::size_t offset() const noexcept { return offset_; }  // byte offset in the expression's text

 private:
  std::size_t offset_;
};

class EvaluationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Expression {
 public:
  struct Node;

  // Throws ExpressionError.
  static Expression parse(std::string_view text);

  // Throws EvaluationError.
  Value evaluate(const Request& request, const Entities& entities) const;

  const std::string& text() const { return text_; }

 private:
  std::shared_ptr<const Node> root_;
  std::string text_;
};

}  // namespace branchline::policy
