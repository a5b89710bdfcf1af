#include "compiler/syntax/Ast.h"

namespace bdl::ast {

int precedence(BinaryOp op) {
  switch (op) {
  case BinaryOp::Pipe: return 1;
  case BinaryOp::Or: return 2;
  case BinaryOp::And: return 3;
  case BinaryOp::Lt: case BinaryOp::Le: case BinaryOp::Gt: case BinaryOp::Ge:
  case BinaryOp::Eq: case BinaryOp::Ne: return 4;
  case BinaryOp::Add: case BinaryOp::Sub: return 5;
  case BinaryOp::Mul: case BinaryOp::Div: case BinaryOp::Mod: case BinaryOp::MatMul: return 6;
  }
  return 0;
}

const char* spelling(BinaryOp op) {
  switch (op) {
  case BinaryOp::Pipe: return "|>";
  case BinaryOp::Or: return "||";
  case BinaryOp::And: return "&&";
  case BinaryOp::Lt: return "<";
  case BinaryOp::Le: return "<=";
  case BinaryOp::Gt: return ">";
  case BinaryOp::Ge: return ">=";
  case BinaryOp::Eq: return "==";
  case BinaryOp::Ne: return "!=";
  case BinaryOp::Add: return "+";
  case BinaryOp::Sub: return "-";
  case BinaryOp::Mul: return "*";
  case BinaryOp::Div: return "/";
  case BinaryOp::Mod: return "%";
  case BinaryOp::MatMul: return "@";
  }
  return "?";
}

const char* spelling(UnaryOp op) { return op == UnaryOp::Neg ? "-" : "!"; }

std::string ImportDecl::boundName() const {
  if (alias) return alias->name;
  if (!modulePath.empty()) return modulePath.back().name;
  std::string path = filePath ? filePath->value : std::string();
  size_t slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  size_t dot = base.rfind('.');
  return dot == std::string::npos ? base : base.substr(0, dot);
}

} // namespace bdl::ast
