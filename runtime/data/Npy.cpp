#include "runtime/data/Npy.h"

#include "runtime/data/AtomicWrite.h"
#include "runtime/data/DataError.h"
#include "runtime/data/DataFile.h"

#include <cctype>
#include <cstring>
#include <optional>

namespace bdl {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

std::string descrOf(DType t) {
  switch (t) {
  case DType::F32: return "<f4";
  case DType::F64: return "<f8";
  case DType::I32: return "<i4";
  case DType::I64: return "<i8";
  case DType::Bool: return "|b1";
  }
  return "?";
}

std::optional<DType> dtypeOfDescr(const std::string& d) {
  for (DType t : {DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool})
    if (descrOf(t) == d) return t;
  // A one-byte bool may also be written with '<' or '='.
  if (d == "<b1" || d == "=b1") return DType::Bool;
  return std::nullopt;
}

// A tiny reader for the Python dict literal in the header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class HeaderParser {
public:
  HeaderParser(std::string_view text, const std::string& name) : s_(text), name_(name) {}

  void parse(std::string& descr, bool& fortran, Shape& shape) {
    bool haveDescr = false, haveFortran = false, haveShape = false;
    expect('{');
    for (;;) {
      skipSpace();
      if (peek() == '}') break;
      std::string key = quoted();
      expect(':');
      skipSpace();
      if (key == "descr") {
        if (peek() != '\'' && peek() != '"')
          fail("dtype is a structured or object dtype; only plain numeric arrays are supported");
        descr = quoted();
        haveDescr = true;
      } else if (key == "fortran_order") {
        fortran = word() == "True";
        haveFortran = true;
      } else if (key == "shape") {
        shape = tuple();
        haveShape = true;
      } else {
        fail("unknown header key '" + key + "'");
      }
      skipSpace();
      if (peek() == ',') ++i_;
    }
    if (!haveDescr || !haveFortran || !haveShape)
      fail("header lacks one of 'descr', 'fortran_order', 'shape'");
  }

private:
  [[noreturn]] void fail(const std::string& what) {
    // The header is padded with spaces and ends in a newline: quote it trimmed, on one line.
    std::string_view h = s_;
    while (!h.empty() && (h.back() == ' ' || h.back() == '\n' || h.back() == '\r' || h.back() == '\0')) h.remove_suffix(1);
    throw DataError(name_, "npy header", what + " (header: " + std::string(h) + ")");
  }
  void skipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t')) ++i_;
  }
  char peek() { return i_ < s_.size() ? s_[i_] : '\0'; }
  void expect(char c) {
    skipSpace();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++i_;
  }
  std::string quoted() {
    skipSpace();
    char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    size_t end = s_.find(q, i_ + 1);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string out(s_.substr(i_ + 1, end - i_ - 1));
    i_ = end + 1;
    return out;
  }
  std::string word() {
    skipSpace();
    size_t start = i_;
    while (i_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[i_]))) ++i_;
    std::string w(s_.substr(start, i_ - start));
    if (w != "True" && w != "False") fail("expected True or False");
    return w;
  }
  Shape tuple() {
    expect('(');
    Shape shape;
    for (;;) {
      skipSpace();
      if (peek() == ')') {
        ++i_;
        return shape;
      }
      int64_t v = 0;
      bool any = false;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        v = v * 10 + (s_[i_++] - '0');
        any = true;
        if (v > (int64_t(1) << 48)) fail("dimension too large");
      }
      if (!any) fail("expected a dimension in the shape tuple");
      shape.push_back(v);
      skipSpace();
      if (peek() == ',') ++i_;
    }
  }

  std::string_view s_;
  const std::string& name_;
  size_t i_ = 0;
};

std::string hexByte(uint8_t b) {
  const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

} // namespace

Tensor parseNpy(std::span<const uint8_t> bytes, const std::string& name) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, kMagicLen) != 0) {
    std::string got;
    for (size_t i = 0; i < std::min<size_t>(6, bytes.size()); ++i) got += hexByte(bytes[i]) + " ";
    throw DataError(name, "byte 0",
                    "bad magic number: not a .npy file (expected \\x93NUMPY, found " +
                        (got.empty() ? std::string("an empty file") : got) + ")");
  }
  const uint8_t major = bytes[6];
  size_t headerLen = 0, headerStart = 0;
  if (major == 1) {
    headerLen = bytes[8] | size_t(bytes[9]) << 8;
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw DataError(name, "byte 8", "truncated .npy header");
    headerLen = bytes[8] | size_t(bytes[9]) << 8 | size_t(bytes[10]) << 16 | size_t(bytes[11]) << 24;
    headerStart = 12;
  } else {
    throw DataError(name, "byte 6", "unsupported .npy format version " + std::to_string(major));
  }
  if (bytes.size() < headerStart + headerLen)
    throw DataError(name, "byte " + std::to_string(headerStart),
                    "truncated .npy header: needs " + std::to_string(headerLen) +
                        " bytes, the file has " + std::to_string(bytes.size() - headerStart));
  std::string_view header(reinterpret_cast<const char*>(bytes.data()) + headerStart, headerLen);
  std::string descr;
  bool fortran = false;
  Shape shape;
  HeaderParser(header, name).parse(descr, fortran, shape);

  if (fortran)
    throw DataError(name, "npy header",
                    "array is in Fortran order; only C order is supported "
                    "(hint: save np.ascontiguousarray(a))");
  std::optional<DType> dtype = dtypeOfDescr(descr);
  if (!dtype) {
    std::string why = "unsupported dtype '" + descr + "'";
    if (!descr.empty() && descr[0] == '>')
      why = "big-endian dtype '" + descr + "'; only little-endian is supported "
            "(hint: save a.astype(a.dtype.newbyteorder('<')))";
    else if (descr.find('O') != std::string::npos)
      why = "object dtype '" + descr + "' cannot be read (it is pickled Python data)";
    else
      why += "; supported: <f4 <f8 <i4 <i8 |b1 (hint: save a.astype(np.float32))";
    throw DataError(name, "npy header", why);
  }
  const size_t dataStart = headerStart + headerLen;
  // Check the size before allocating: a corrupt header must not ask for terabytes.
  unsigned __int128 needed = dtypeSize(*dtype);
  for (int64_t d : shape) needed *= static_cast<uint64_t>(d);
  if (needed > bytes.size() - dataStart)
    throw DataError(name, "byte " + std::to_string(dataStart),
                    "truncated array data: shape " + shapeToString(shape) + " needs " +
                        (needed >> 64 ? std::string("more than 2^64") : std::to_string(static_cast<uint64_t>(needed))) +
                        " bytes, the file has " + std::to_string(bytes.size() - dataStart));
  Tensor t(*dtype, shape);
  if (t.bytes()) std::memcpy(t.rawData(), bytes.data() + dataStart, t.bytes());
  if (*dtype == DType::Bool)
    for (uint8_t& b : std::span<uint8_t>(static_cast<uint8_t*>(t.rawData()), t.bytes()))
      b = b != 0; // keep bool bytes canonical
  return t;
}

Tensor readNpy(const std::string& path) {
  std::vector<uint8_t> bytes = data::readWholeFile(path);
  return parseNpy(bytes, path);
}

std::string encodeNpy(const Tensor& tensor) {
  std::string dict = "{'descr': '" + descrOf(tensor.dtype()) + "', 'fortran_order': False, 'shape': (";
  for (int64_t d : tensor.shape()) dict += std::to_string(d) + ", ";
  if (tensor.rank() > 1) dict.resize(dict.size() - 2); // (3, 4) but (3,)
  else if (tensor.rank() == 1) dict.pop_back();
  dict += "), }";
  // Pad with spaces so the data starts on a 64-byte boundary; end with '\n'.
  size_t prefix = 10;
  bool v2 = false;
  size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  if (total - prefix > 0xFFFF) {
    v2 = true;
    prefix = 12;
    total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  }
  const size_t headerLen = total - prefix;
  dict.append(headerLen - dict.size() - 1, ' ');
  dict += '\n';
  std::string out(kMagic, kMagicLen);
  out += static_cast<char>(v2 ? 2 : 1);
  out += '\0';
  for (int i = 0; i < (v2 ? 4 : 2); ++i) out += static_cast<char>((headerLen >> (8 * i)) & 0xFF);
  out += dict;
  if (tensor.defined() && tensor.bytes())
    out.append(static_cast<const char*>(tensor.rawData()), tensor.bytes());
  return out;
}

void writeNpy(const std::string& path, const Tensor& tensor) {
  atomicWriteFile(path, encodeNpy(tensor));
}

} // namespace bdl
