// expression: a recursive-descent parser for Cedar's expression grammar and a tree-walking
// evaluator with Cedar's semantics (see expression.hpp). The grammar, from Cedar's reference:
//
//   Expr     ::= 'if' Expr 'then' Expr 'else' Expr | Or
//   Or       ::= And {'||' And}
//   And      ::= Relation {'&&' Relation}
//   Relation ::= Add [RELOP Add] | Add 'has' (IDENT | STR) | Add 'like' STR | Add 'is' Path ['in' Add]
//   Add      ::= Mult {('+' | '-') Mult}
//   Mult     ::= Unary {'*' Unary}
//   Unary    ::= ['!' | '-']{0..4} Member
//   Member   ::= Primary {'.' IDENT ['(' [Expr {',' Expr}] ')'] | '[' STR ']'}
//   Primary  ::= LITERAL | Path '::' STR | VAR | '(' Expr ')' | '[' [Expr {',' Expr}] ']' | '{' [Rec] '}'
//
// A relation takes one operator: `a < b < c` is refused, as Cedar refuses it.
#include "policy/expression.hpp"

#include "policy/cedar_text.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

namespace branchline::policy {

// ---- Cedar text helpers ----

std::string cedar_string_literal(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\0': out += "\\0"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          static const char hex[] = "0123456789abcdef";
          out += "\\u{";
          out += hex[(static_cast<unsigned char>(c) >> 4) & 0xf];
          out += hex[static_cast<unsigned char>(c) & 0xf];
          out += '}';
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

namespace {

constexpr std::array<std::string_view, 10> kReserved = {"true", "false", "if",   "then", "else",
                                                        "in",   "is",    "like", "has",  "__cedar"};

bool is_reserved(std::string_view word) {
  return std::find(kReserved.begin(), kReserved.end(), word) != kReserved.end();
}

bool ident_start(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9'); }

}  // namespace

bool is_cedar_identifier(std::string_view text) {
  if (text.empty() || !ident_start(text[0])) return false;
  for (char c : text)
    if (!ident_char(c)) return false;
  return !is_reserved(text);
}

// ---- the tree ----

enum class Op {
  Literal, Var, Not, Neg, Eq, Ne, In, Lt, Le, Gt, Ge, And, Or, Add, Sub, Mul,
  Contains, ContainsAll, ContainsAny, IsEmpty, GetAttr, HasAttr, Like, Is, IfThenElse, SetLiteral, RecordLiteral
};

enum class Var { Principal, Action, Resource, Context };

struct PatternPart {
  bool wildcard = false;
  std::string literal;
};

struct Expression::Node {
  Op op = Op::Literal;
  std::size_t offset = 0;
  int depth = 1;
  Value literal;
  Var var = Var::Principal;
  std::string name;                        // attribute (GetAttr, HasAttr) or entity type (Is)
  std::vector<PatternPart> pattern;        // Like
  std::vector<std::string> keys;           // RecordLiteral, parallel to kids
  std::vector<std::unique_ptr<const Node>> kids;
};

using Node = Expression::Node;
using NodePtr = std::unique_ptr<const Node>;

namespace {

// ---- lexer ----

enum class Tok { End, Ident, Int, Str, Punct };

struct Token {
  Tok kind = Tok::End;
  std::string_view text;  // identifier, digits, the string's raw body (no quotes), or the punctuation
  std::size_t offset = 0;
};

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) { advance(); }

  const Token& peek() const { return current_; }
  Token take() {
    Token t = current_;
    advance();
    return t;
  }

 private:
  void skip_space_and_comments() {
    while (pos_ < src_.size()) {
      char c = src_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else if (c == '/' && pos_ + 1 < src_.size() && src_[pos_ + 1] == '/') {
        while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  void advance() {
    skip_space_and_comments();
    current_.offset = pos_;
    if (pos_ >= src_.size()) {
      current_ = Token{Tok::End, {}, pos_};
      return;
    }
    char c = src_[pos_];
    std::size_t start = pos_;
    if (ident_start(c)) {
      while (pos_ < src_.size() && ident_char(src_[pos_])) ++pos_;
      current_ = Token{Tok::Ident, src_.substr(start, pos_ - start), start};
      return;
    }
    if (c >= '0' && c <= '9') {
      while (pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '9') ++pos_;
      current_ = Token{Tok::Int, src_.substr(start, pos_ - start), start};
      return;
    }
    if (c == '"') {
      ++pos_;
      while (pos_ < src_.size() && src_[pos_] != '"') {
        if (src_[pos_] == '\\') ++pos_;  // the escaped character cannot end the string
        ++pos_;
      }
      if (pos_ >= src_.size()) throw ExpressionError(start, "a string is not closed (a \" is missing)");
      current_ = Token{Tok::Str, src_.substr(start + 1, pos_ - start - 1), start};
      ++pos_;
      return;
    }
    static constexpr std::array<std::string_view, 7> two = {"==", "!=", "<=", ">=", "&&", "||", "::"};
    if (pos_ + 1 < src_.size()) {
      std::string_view pair = src_.substr(pos_, 2);
      if (std::find(two.begin(), two.end(), pair) != two.end()) {
        pos_ += 2;
        current_ = Token{Tok::Punct, pair, start};
        return;
      }
    }
    static constexpr std::string_view one = "()[]{},.:<>!+-*";
    if (one.find(c) != std::string_view::npos) {
      ++pos_;
      current_ = Token{Tok::Punct, src_.substr(start, 1), start};
      return;
    }
    if (c == '=' || c == '&' || c == '|')
      throw ExpressionError(start, std::string("'") + c + "' is not an operator; write '" + c + c + "'");
    throw ExpressionError(start, "unexpected character");
  }

  std::string_view src_;
  std::size_t pos_ = 0;
  Token current_;
};

// Appends the UTF-8 encoding of `cp`.
void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes a string token's body. In a `like` pattern (`pattern` not null), an unescaped `*` is a
// wildcard and `\*` a literal star; elsewhere `\*` is refused, as in Cedar.
std::string unescape(const Token& token, std::vector<PatternPart>* pattern) {
  std::string out;
  std::string_view s = token.text;
  auto flush_literal = [&] {
    if (pattern && !out.empty()) {
      pattern->push_back(PatternPart{false, out});
      out.clear();
    }
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    std::size_t at = token.offset + 1 + i;
    char c = s[i];
    if (pattern && c == '*') {
      flush_literal();
      if (pattern->empty() || !pattern->back().wildcard) pattern->push_back(PatternPart{true, {}});
      continue;
    }
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= s.size()) throw ExpressionError(at, "a string ends in a lone backslash");
    switch (s[i]) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case '0': out += '\0'; break;
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case '*':
        if (!pattern) throw ExpressionError(at, "\\* is only meaningful in a like pattern");
        out += '*';
        break;
      case 'x': {
        int hi = i + 1 < s.size() ? hex_digit(s[i + 1]) : -1;
        int lo = i + 2 < s.size() ? hex_digit(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || hi > 7) throw ExpressionError(at, "\\x takes two hex digits up to 7f");
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      case 'u': {
        if (i + 1 >= s.size() || s[i + 1] != '{') throw ExpressionError(at, "\\u is written \\u{hex}");
        std::size_t j = i + 2;
        std::uint32_t cp = 0;
        int digits = 0;
        while (j < s.size() && s[j] != '}') {
          int d = hex_digit(s[j]);
          if (d < 0 || ++digits > 6) throw ExpressionError(at, "\\u{...} takes 1 to 6 hex digits");
          cp = cp * 16 + static_cast<std::uint32_t>(d);
          ++j;
        }
        if (j >= s.size() || digits == 0) throw ExpressionError(at, "\\u{...} takes 1 to 6 hex digits");
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
          throw ExpressionError(at, "\\u{...} is not a Unicode scalar value");
        append_utf8(out, cp);
        i = j;
        break;
      }
      default: throw ExpressionError(at, "unknown escape in a string");
    }
  }
  flush_literal();
  return out;
}

// ---- parser ----

class Parser {
 public:
  explicit Parser(std::string_view src) : lex_(src) {}

  NodePtr parse_all() {
    NodePtr e = expr(0);
    if (lex_.peek().kind != Tok::End) throw ExpressionError(lex_.peek().offset, "unexpected text after the expression");
    return e;
  }

 private:
  bool at(std::string_view punct) const {
    const Token& t = lex_.peek();
    return t.kind == Tok::Punct && t.text == punct;
  }
  bool at_word(std::string_view word) const {
    const Token& t = lex_.peek();
    return t.kind == Tok::Ident && t.text == word;
  }
  void expect(std::string_view punct, const char* what) {
    if (!at(punct)) throw ExpressionError(lex_.peek().offset, std::string("expected ") + what);
    lex_.take();
  }
  void expect_word(std::string_view word) {
    if (!at_word(word)) throw ExpressionError(lex_.peek().offset, "expected '" + std::string(word) + "'");
    lex_.take();
  }

  static void guard(int depth, std::size_t offset) {
    if (depth > kMaxExpressionDepth) throw ExpressionError(offset, "the expression is nested too deeply");
  }

  static std::unique_ptr<Node> make(Op op, std::size_t offset) {
    auto n = std::make_unique<Node>();
    n->op = op;
    n->offset = offset;
    return n;
  }
  static NodePtr finish(std::unique_ptr<Node> n) {
    int deepest = 0;
    for (const NodePtr& k : n->kids) deepest = std::max(deepest, k->depth);
    n->depth = deepest + 1;
    guard(n->depth, n->offset);
    return n;
  }
  static NodePtr binary(Op op, std::size_t offset, NodePtr left, NodePtr right) {
    auto n = make(op, offset);
    n->kids.push_back(std::move(left));
    n->kids.push_back(std::move(right));
    return finish(std::move(n));
  }

  NodePtr expr(int depth) {
    guard(depth, lex_.peek().offset);
    if (at_word("if")) {
      auto n = make(Op::IfThenElse, lex_.take().offset);
      n->kids.push_back(expr(depth + 1));
      expect_word("then");
      n->kids.push_back(expr(depth + 1));
      expect_word("else");
      n->kids.push_back(expr(depth + 1));
      return finish(std::move(n));
    }
    return chain(Op::Or, "||", depth);
  }

  // `||` and `&&` chains are kept flat, so a long conjunction does not nest the tree.
  NodePtr chain(Op op, std::string_view punct, int depth) {
    std::size_t offset = lex_.peek().offset;
    NodePtr first = op == Op::Or ? chain(Op::And, "&&", depth) : relation(depth);
    if (!at(punct)) return first;
    auto n = make(op, offset);
    n->kids.push_back(std::move(first));
    while (at(punct)) {
      lex_.take();
      n->kids.push_back(op == Op::Or ? chain(Op::And, "&&", depth) : relation(depth));
    }
    return finish(std::move(n));
  }

  NodePtr relation(int depth) {
    NodePtr left = add(depth);
    const Token& t = lex_.peek();
    std::size_t offset = t.offset;
    if (t.kind == Tok::Punct) {
      static constexpr std::array<std::pair<std::string_view, Op>, 6> ops = {
          {{"==", Op::Eq}, {"!=", Op::Ne}, {"<", Op::Lt}, {"<=", Op::Le}, {">", Op::Gt}, {">=", Op::Ge}}};
      for (const auto& [text, op] : ops) {
        if (t.text == text) {
          lex_.take();
          return no_second_relation(binary(op, offset, std::move(left), add(depth)));
        }
      }
      return left;
    }
    if (t.kind != Tok::Ident) return left;
    if (t.text == "in") {
      lex_.take();
      return no_second_relation(binary(Op::In, offset, std::move(left), add(depth)));
    }
    if (t.text == "has") {
      lex_.take();
      auto n = make(Op::HasAttr, offset);
      Token name = lex_.take();
      if (name.kind == Tok::Ident) n->name = std::string(name.text);
      else if (name.kind == Tok::Str) n->name = unescape(name, nullptr);
      else throw ExpressionError(name.offset, "expected an attribute name after 'has'");
      if (at(".")) throw ExpressionError(lex_.peek().offset, "write `e has a && e.a has b`: 'has' takes one attribute");
      n->kids.push_back(std::move(left));
      return no_second_relation(finish(std::move(n)));
    }
    if (t.text == "like") {
      lex_.take();
      Token pattern = lex_.take();
      if (pattern.kind != Tok::Str) throw ExpressionError(pattern.offset, "expected a string pattern after 'like'");
      auto n = make(Op::Like, offset);
      unescape(pattern, &n->pattern);
      n->kids.push_back(std::move(left));
      return no_second_relation(finish(std::move(n)));
    }
    if (t.text == "is") {
      lex_.take();
      auto n = make(Op::Is, offset);
      n->name = path();
      n->kids.push_back(std::move(left));
      if (at_word("in")) {
        lex_.take();
        n->kids.push_back(add(depth));
      }
      return no_second_relation(finish(std::move(n)));
    }
    return left;
  }

  NodePtr no_second_relation(NodePtr n) {
    const Token& t = lex_.peek();
    bool relop = t.kind == Tok::Punct && (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" ||
                                          t.text == ">" || t.text == ">=");
    bool word = t.kind == Tok::Ident && (t.text == "in" || t.text == "has" || t.text == "like" || t.text == "is");
    if (relop || word) throw ExpressionError(t.offset, "a comparison takes one operator; add parentheses");
    return n;
  }

  std::string path() {
    Token first = lex_.take();
    if (first.kind != Tok::Ident || is_reserved(first.text))
      throw ExpressionError(first.offset, "expected an entity type name");
    std::string out(first.text);
    while (at("::")) {
      lex_.take();
      Token next = lex_.take();
      if (next.kind != Tok::Ident || is_reserved(next.text))
        throw ExpressionError(next.offset, "expected a name after '::'");
      out += "::";
      out += next.text;
    }
    return out;
  }

  NodePtr add(int depth) {
    NodePtr left = mult(depth);
    while (at("+") || at("-")) {
      Token t = lex_.take();
      left = binary(t.text == "+" ? Op::Add : Op::Sub, t.offset, std::move(left), mult(depth));
    }
    return left;
  }

  NodePtr mult(int depth) {
    NodePtr left = unary(depth);
    while (at("*")) {
      Token t = lex_.take();
      left = binary(Op::Mul, t.offset, std::move(left), unary(depth));
    }
    return left;
  }

  NodePtr unary(int depth) {
    std::vector<Token> ops;
    while (at("!") || at("-")) {
      ops.push_back(lex_.take());
      if (ops.size() > 4) throw ExpressionError(ops.back().offset, "at most four unary operators in a row");
    }
    NodePtr operand;
    // Cedar reads `-` before an integer as part of the literal, so -9223372036854775808 is a Long.
    if (!ops.empty() && ops.back().text == "-" && lex_.peek().kind == Tok::Int) {
      Token digits = lex_.take();
      auto n = make(Op::Literal, ops.back().offset);
      n->literal = Value(integer(digits, true));
      ops.pop_back();
      operand = member_tail(finish(std::move(n)), depth);
    } else {
      operand = member(depth);
    }
    for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
      auto n = make(it->text == "!" ? Op::Not : Op::Neg, it->offset);
      n->kids.push_back(std::move(operand));
      operand = finish(std::move(n));
    }
    return operand;
  }

  static std::int64_t integer(const Token& digits, bool negative) {
    std::uint64_t magnitude = 0;
    auto [end, ec] = std::from_chars(digits.text.data(), digits.text.data() + digits.text.size(), magnitude);
    std::uint64_t limit = negative ? std::uint64_t{1} << 63 : static_cast<std::uint64_t>(INT64_MAX);
    if (ec != std::errc() || end != digits.text.data() + digits.text.size() || magnitude > limit)
      throw ExpressionError(digits.offset, "the integer does not fit in 64 bits");
    if (negative) return magnitude == limit ? INT64_MIN : -static_cast<std::int64_t>(magnitude);
    return static_cast<std::int64_t>(magnitude);
  }

  NodePtr member(int depth) { return member_tail(primary(depth), depth); }

  NodePtr member_tail(NodePtr target, int depth) {
    for (;;) {
      if (at(".")) {
        lex_.take();
        Token name = lex_.take();
        if (name.kind != Tok::Ident) throw ExpressionError(name.offset, "expected an attribute or method name after '.'");
        if (at("(")) {
          target = method(std::move(target), name, depth);
        } else {
          auto n = make(Op::GetAttr, name.offset);
          n->name = std::string(name.text);
          n->kids.push_back(std::move(target));
          target = finish(std::move(n));
        }
      } else if (at("[")) {
        Token open = lex_.take();
        Token key = lex_.take();
        if (key.kind != Tok::Str) throw ExpressionError(key.offset, "expected a string in [...]");
        expect("]", "']'");
        auto n = make(Op::GetAttr, open.offset);
        n->name = unescape(key, nullptr);
        n->kids.push_back(std::move(target));
        target = finish(std::move(n));
      } else {
        return target;
      }
    }
  }

  NodePtr method(NodePtr target, const Token& name, int depth) {
    static constexpr std::array<std::pair<std::string_view, Op>, 4> methods = {{{"contains", Op::Contains},
                                                                                {"containsAll", Op::ContainsAll},
                                                                                {"containsAny", Op::ContainsAny},
                                                                                {"isEmpty", Op::IsEmpty}}};
    auto found = std::find_if(methods.begin(), methods.end(), [&](const auto& m) { return m.first == name.text; });
    if (found == methods.end())
      throw ExpressionError(name.offset, "unsupported method '" + std::string(name.text) +
                                             "' (Branchline supports contains, containsAll, containsAny, isEmpty)");
    lex_.take();  // (
    auto n = make(found->second, name.offset);
    n->kids.push_back(std::move(target));
    if (found->second != Op::IsEmpty) n->kids.push_back(expr(depth + 1));
    expect(")", found->second == Op::IsEmpty ? "')': isEmpty takes no argument" : "')': the method takes one argument");
    return finish(std::move(n));
  }

  NodePtr primary(int depth) {
    Token t = lex_.take();
    switch (t.kind) {
      case Tok::End: throw ExpressionError(t.offset, "the expression ends too early");
      case Tok::Int: {
        auto n = make(Op::Literal, t.offset);
        n->literal = Value(integer(t, false));
        return finish(std::move(n));
      }
      case Tok::Str: {
        auto n = make(Op::Literal, t.offset);
        n->literal = Value(unescape(t, nullptr));
        return finish(std::move(n));
      }
      case Tok::Punct: return bracketed(t, depth);
      case Tok::Ident: break;
    }
    if (t.text == "true" || t.text == "false") {
      auto n = make(Op::Literal, t.offset);
      n->literal = Value(t.text == "true");
      return finish(std::move(n));
    }
    static constexpr std::array<std::pair<std::string_view, Var>, 4> vars = {
        {{"principal", Var::Principal}, {"action", Var::Action}, {"resource", Var::Resource}, {"context", Var::Context}}};
    for (const auto& [word, var] : vars) {
      if (t.text == word) {
        auto n = make(Op::Var, t.offset);
        n->var = var;
        return finish(std::move(n));
      }
    }
    if (is_reserved(t.text))
      throw ExpressionError(t.offset, "'" + std::string(t.text) + "' cannot start an expression" +
                                          (t.text == "if" ? "; put the if-then-else in parentheses" : ""));
    // A path: an entity reference Type::"id", or an extension function call, which we refuse.
    std::string type(t.text);
    while (at("::")) {
      lex_.take();
      Token next = lex_.take();
      if (next.kind == Tok::Str) {
        auto n = make(Op::Literal, t.offset);
        n->literal = Value(EntityUid{type, unescape(next, nullptr)});
        return finish(std::move(n));
      }
      if (next.kind != Tok::Ident || is_reserved(next.text))
        throw ExpressionError(next.offset, "expected a name or a quoted id after '::'");
      type += "::";
      type += next.text;
    }
    if (at("("))
      throw ExpressionError(t.offset, "extension functions such as " + type +
                                          "() are not supported in Branchline policies");
    throw ExpressionError(t.offset, "unknown variable '" + type +
                                        "' (use principal, action, resource or context; an entity is Type::\"id\")");
  }

  NodePtr bracketed(const Token& open, int depth) {
    if (open.text == "(") {
      NodePtr inner = expr(depth + 1);
      expect(")", "')'");
      return inner;
    }
    if (open.text == "[") {
      auto n = make(Op::SetLiteral, open.offset);
      if (!at("]")) {
        n->kids.push_back(expr(depth + 1));
        while (at(",")) {
          lex_.take();
          if (at("]")) break;  // Cedar allows a trailing comma
          n->kids.push_back(expr(depth + 1));
        }
      }
      expect("]", "']' or ','");
      return finish(std::move(n));
    }
    if (open.text == "{") {
      auto n = make(Op::RecordLiteral, open.offset);
      while (!at("}")) {
        Token key = lex_.take();
        std::string name;
        if (key.kind == Tok::Ident) name = std::string(key.text);
        else if (key.kind == Tok::Str) name = unescape(key, nullptr);
        else throw ExpressionError(key.offset, "expected a record key");
        if (std::find(n->keys.begin(), n->keys.end(), name) != n->keys.end())
          throw ExpressionError(key.offset, "the record has the key '" + name + "' twice");
        expect(":", "':' after a record key");
        n->keys.push_back(std::move(name));
        n->kids.push_back(expr(depth + 1));
        if (!at(",")) break;
        lex_.take();
      }
      expect("}", "'}' or ','");
      return finish(std::move(n));
    }
    throw ExpressionError(open.offset, "unexpected '" + std::string(open.text) + "'");
  }

  Lexer lex_;
};

// ---- evaluator ----

struct Scope {
  const Request& request;
  const Entities& entities;
};

[[noreturn]] void type_error(const char* expected, const Value& got) {
  throw EvaluationError(std::string("type error: expected ") + expected + ", got " + type_name(got));
}

Value eval(const Node& n, const Scope& s);

bool eval_bool(const Node& n, const Scope& s) {
  Value v = eval(n, s);
  if (!v.is_bool()) type_error("bool", v);
  return v.as_bool();
}

std::int64_t eval_long(const Node& n, const Scope& s) {
  Value v = eval(n, s);
  if (!v.is_long()) type_error("long", v);
  return v.as_long();
}

const Set& expect_set(const Value& v) {
  if (!v.is_set()) type_error("set", v);
  return v.as_set();
}

bool contains(const Set& set, const Value& item) {
  return std::any_of(set.begin(), set.end(), [&](const Value& v) { return v == item; });
}

bool like(std::string_view text, const std::vector<PatternPart>& pattern) {
  // Classic glob matching with one backtrack point (the last wildcard): O(n*m) at worst.
  std::size_t t = 0, p = 0, lit = 0;  // text position; pattern part; offset in that part's literal
  std::optional<std::pair<std::size_t, std::size_t>> star;  // (pattern part after *, text position)
  for (;;) {
    if (p < pattern.size() && pattern[p].wildcard) {
      star = {p + 1, t};
      ++p;
      lit = 0;
      continue;
    }
    if (p < pattern.size() && t < text.size() && text[t] == pattern[p].literal[lit]) {
      ++t;
      if (++lit == pattern[p].literal.size()) {
        ++p;
        lit = 0;
      }
      continue;
    }
    if (p == pattern.size() && t == text.size()) return true;
    if (!star || star->second >= text.size()) return false;
    p = star->first;
    lit = 0;
    t = ++star->second;
  }
}

std::int64_t checked(Op op, std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  bool overflow = op == Op::Add ? __builtin_add_overflow(a, b, &r)
                  : op == Op::Sub ? __builtin_sub_overflow(a, b, &r)
                                  : __builtin_mul_overflow(a, b, &r);
  if (overflow) throw EvaluationError("integer overflow");
  return r;
}

bool entity_in(const Value& left, const Value& right, const Scope& s) {
  if (!left.is_entity()) type_error("entity", left);
  if (right.is_entity()) return s.entities.in(left.as_entity(), right.as_entity());
  if (!right.is_set()) type_error("entity or set of entities", right);
  const Set& set = right.as_set();
  for (const Value& v : set)
    if (!v.is_entity()) type_error("entity", v);
  return std::any_of(set.begin(), set.end(), [&](const Value& v) { return s.entities.in(left.as_entity(), v.as_entity()); });
}

Value eval(const Node& n, const Scope& s) {
  switch (n.op) {
    case Op::Literal: return n.literal;
    case Op::Var:
      switch (n.var) {
        case Var::Principal: return Value(s.request.principal);
        case Var::Action: return Value(s.request.action);
        case Var::Resource: return Value(s.request.resource);
        case Var::Context: return Value(s.request.context);
      }
      break;
    case Op::Not: return Value(!eval_bool(*n.kids[0], s));
    case Op::Neg: {
      std::int64_t v = eval_long(*n.kids[0], s);
      if (v == INT64_MIN) throw EvaluationError("integer overflow");
      return Value(-v);
    }
    case Op::Eq: {
      Value a = eval(*n.kids[0], s);
      return Value(a == eval(*n.kids[1], s));
    }
    case Op::Ne: {
      Value a = eval(*n.kids[0], s);
      return Value(!(a == eval(*n.kids[1], s)));
    }
    case Op::In: {
      Value a = eval(*n.kids[0], s);
      return Value(entity_in(a, eval(*n.kids[1], s), s));
    }
    case Op::Lt: case Op::Le: case Op::Gt: case Op::Ge: {
      std::int64_t a = eval_long(*n.kids[0], s);
      std::int64_t b = eval_long(*n.kids[1], s);
      bool r = n.op == Op::Lt ? a < b : n.op == Op::Le ? a <= b : n.op == Op::Gt ? a > b : a >= b;
      return Value(r);
    }
    case Op::And:
      for (const NodePtr& k : n.kids)
        if (!eval_bool(*k, s)) return Value(false);
      return Value(true);
    case Op::Or:
      for (const NodePtr& k : n.kids)
        if (eval_bool(*k, s)) return Value(true);
      return Value(false);
    case Op::Add: case Op::Sub: case Op::Mul: {
      std::int64_t a = eval_long(*n.kids[0], s);
      return Value(checked(n.op, a, eval_long(*n.kids[1], s)));
    }
    case Op::Contains: {
      Value set = eval(*n.kids[0], s);
      const Set& items = expect_set(set);
      return Value(contains(items, eval(*n.kids[1], s)));
    }
    case Op::ContainsAll: case Op::ContainsAny: {
      Value left = eval(*n.kids[0], s);
      const Set& a = expect_set(left);
      Value right = eval(*n.kids[1], s);
      const Set& b = expect_set(right);
      if (n.op == Op::ContainsAll)
        return Value(std::all_of(b.begin(), b.end(), [&](const Value& v) { return contains(a, v); }));
      return Value(std::any_of(b.begin(), b.end(), [&](const Value& v) { return contains(a, v); }));
    }
    case Op::IsEmpty: {
      Value set = eval(*n.kids[0], s);
      return Value(expect_set(set).empty());
    }
    case Op::GetAttr: case Op::HasAttr: {
      Value target = eval(*n.kids[0], s);
      const Record* record = nullptr;
      if (target.is_record()) {
        record = &target.as_record();
      } else if (target.is_entity()) {
        const Entity* entity = s.entities.find(target.as_entity());
        if (!entity) {
          if (n.op == Op::HasAttr) return Value(false);
          throw EvaluationError("entity " + target.as_entity().to_cedar() + " does not exist");
        }
        record = &entity->attrs;
      } else {
        type_error("entity or record", target);
      }
      auto it = record->find(n.name);
      if (n.op == Op::HasAttr) return Value(it != record->end());
      if (it == record->end()) throw EvaluationError("attribute '" + n.name + "' does not exist");
      return it->second;
    }
    case Op::Like: {
      Value text = eval(*n.kids[0], s);
      if (!text.is_string()) type_error("string", text);
      return Value(like(text.as_string(), n.pattern));
    }
    case Op::Is: {
      Value target = eval(*n.kids[0], s);
      if (!target.is_entity()) type_error("entity", target);
      if (target.as_entity().type != n.name) return Value(false);
      if (n.kids.size() == 1) return Value(true);
      return Value(entity_in(target, eval(*n.kids[1], s), s));
    }
    case Op::IfThenElse: return eval_bool(*n.kids[0], s) ? eval(*n.kids[1], s) : eval(*n.kids[2], s);
    case Op::SetLiteral: {
      Set set;
      set.reserve(n.kids.size());
      for (const NodePtr& k : n.kids) set.push_back(eval(*k, s));
      return Value(std::move(set));
    }
    case Op::RecordLiteral: {
      Record record;
      for (std::size_t i = 0; i < n.kids.size(); ++i) record.emplace(n.keys[i], eval(*n.kids[i], s));
      return Value(std::move(record));
    }
  }
  throw EvaluationError("unknown expression");
}

}  // namespace

Expression Expression::parse(std::string_view text) {
  if (text.size() > kMaxExpressionBytes)
    throw ExpressionError(kMaxExpressionBytes, "the expression is longer than " +
                                                   std::to_string(kMaxExpressionBytes) + " bytes");
  Expression e;
  e.root_ = Parser(text).parse_all();
  e.text_ = std::string(text);
  return e;
}

Value Expression::evaluate(const Request& request, const Entities& entities) const {
  return eval(*root_, Scope{request, entities});
}

}  // namespace branchline::policy
