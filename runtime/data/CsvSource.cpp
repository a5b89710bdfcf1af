// CSV source: parses the whole file up front (so every error names its line
// and column before training starts), then serves rows on demand.
#include "runtime/data/DataError.h"
#include "runtime/data/DataFile.h"
#include "runtime/data/IndexedSource.h"
#include "runtime/data/Sources.h"

#include <charconv>
#include <optional>

namespace bdl::data {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front())
    s = s.substr(1, s.size() - 2);
  return s;
}

std::vector<std::string_view> splitCells(std::string_view line) {
  std::vector<std::string_view> cells;
  size_t start = 0;
  for (;;) {
    size_t comma = line.find(',', start);
    cells.push_back(trim(line.substr(start, comma == std::string_view::npos ? comma : comma - start)));
    if (comma == std::string_view::npos) return cells;
    start = comma + 1;
  }
}

std::optional<int64_t> parseInt(std::string_view s) {
  int64_t v = 0;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> parseNumber(std::string_view s) {
  double v = 0;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

struct Line {
  int64_t number; // 1-based
  std::string_view text;
};

std::vector<Line> splitLines(std::string_view text) {
  std::vector<Line> lines;
  int64_t number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    ++number;
    if (!trim(line).empty()) lines.push_back({number, line});
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return lines;
}

std::string at(int64_t line, size_t column) {
  return "line " + std::to_string(line) + ", column " + std::to_string(column + 1);
}

struct CsvTable {
  int64_t rows = 0;
  int64_t featureCount = 0;
  std::vector<float> features; // rows x featureCount
  std::vector<int64_t> labels; // rows, when labelled
  bool labelled = false;
};

// The sklearn bundle's first line is "n_samples,n_features,class names...".
bool looksLikeSklearn(const std::vector<Line>& lines) {
  if (lines.size() < 1) return false;
  auto first = splitCells(lines[0].text);
  if (first.size() < 2) return false;
  auto n = parseInt(first[0]), k = parseInt(first[1]);
  if (!n || !k || *n < 0 || *k < 1) return false;
  // Rows of k features and a label, and class names after the two counts:
  // the count of rows is then checked, so a truncated file is reported as
  // such rather than read as a plain CSV with odd column names.
  if (lines.size() > 1 && static_cast<int64_t>(splitCells(lines[1].text).size()) != *k + 1) return false;
  for (size_t i = 2; i < first.size(); ++i)
    if (parseInt(first[i])) return false;
  return true;
}

CsvTable parseCsv(const CsvOptions& o) {
  std::vector<uint8_t> bytes = readWholeFile(o.path);
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) bytes = gunzip(bytes, o.path);
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3); // a UTF-8 byte order mark (Excel writes one)
  std::vector<Line> lines = splitLines(text);

  const bool sklearn = o.format == CsvOptions::Format::Sklearn ||
                       (o.format == CsvOptions::Format::Auto && o.header && looksLikeSklearn(lines));
  std::vector<std::string> names;
  std::string labelName = o.label;
  int64_t numClasses = o.numClasses;
  size_t firstData = 0;
  if (sklearn) {
    if (lines.empty()) throw DataError(o.path, "line 1", "empty file: expected sklearn's \"n_samples,n_features,...\" line");
    auto first = splitCells(lines[0].text);
    auto k = first.size() >= 2 ? parseInt(first[1]) : std::nullopt;
    auto n = first.size() >= 2 ? parseInt(first[0]) : std::nullopt;
    if (!n || !k || *k < 0)
      throw DataError(o.path, "line " + std::to_string(lines[0].number),
                      "not an sklearn data file: the first line should be \"n_samples,n_features,class names...\"");
    if (*n != static_cast<int64_t>(lines.size()) - 1)
      throw DataError(o.path, "line " + std::to_string(lines[0].number),
                      "the first line promises " + std::to_string(*n) + " rows, the file has " +
                          std::to_string(lines.size() - 1));
    for (int64_t c = 0; c < *k; ++c) names.push_back(std::to_string(c));
    names.push_back("target");
    if (labelName.empty()) labelName = "target";
    if (numClasses == 0 && first.size() > 2) numClasses = static_cast<int64_t>(first.size()) - 2;
    firstData = 1;
  } else if (o.header) {
    if (lines.empty()) throw DataError(o.path, "line 1", "empty file: expected a header line");
    for (std::string_view c : splitCells(lines[0].text)) names.emplace_back(c);
    firstData = 1;
  } else {
    size_t columns = lines.empty() ? 0 : splitCells(lines[0].text).size();
    for (size_t c = 0; c < columns; ++c) names.push_back(std::to_string(c));
  }

  auto columnOf = [&](const std::string& name) -> size_t {
    for (size_t c = 0; c < names.size(); ++c)
      if (names[c] == name) return c;
    if (auto index = parseInt(name); index && *index >= 0 && *index < static_cast<int64_t>(names.size()))
      return static_cast<size_t>(*index); // a column given by position
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    throw DataError(o.path, "", "no column named '" + name + "' (columns: " + known + ")");
  };
  std::optional<size_t> labelColumn;
  if (!labelName.empty()) labelColumn = columnOf(labelName);
  std::vector<size_t> featureColumns;
  if (o.features.empty()) {
    for (size_t c = 0; c < names.size(); ++c)
      if (c != labelColumn) featureColumns.push_back(c);
  } else {
    for (const auto& f : o.features) featureColumns.push_back(columnOf(f));
  }

  CsvTable table;
  table.labelled = labelColumn.has_value();
  table.featureCount = static_cast<int64_t>(featureColumns.size());
  for (size_t l = firstData; l < lines.size(); ++l) {
    const Line& line = lines[l];
    auto cells = splitCells(line.text);
    if (cells.size() != names.size())
      throw DataError(o.path, "line " + std::to_string(line.number),
                      "wrong column count: expected " + std::to_string(names.size()) + ", found " +
                          std::to_string(cells.size()));
    for (size_t c : featureColumns) {
      auto v = parseNumber(cells[c]);
      if (!v)
        throw DataError(o.path, at(line.number, c),
                        "non-numeric value '" + std::string(cells[c]) + "' in column '" + names[c] + "'");
      table.features.push_back(static_cast<float>(*v));
    }
    if (labelColumn) {
      auto v = parseInt(cells[*labelColumn]);
      if (!v)
        throw DataError(o.path, at(line.number, *labelColumn),
                        "label '" + std::string(cells[*labelColumn]) +
                            "' is not an integer class index");
      if (*v < 0 || (numClasses > 0 && *v >= numClasses))
        throw DataError(o.path, at(line.number, *labelColumn),
                        "label " + std::to_string(*v) + " out of range [0, " +
                            (numClasses > 0 ? std::to_string(numClasses) : std::string("inf")) + ")");
      table.labels.push_back(*v);
    }
    ++table.rows;
  }
  return table;
}

class CsvSource final : public IndexedSource {
public:
  explicit CsvSource(const CsvOptions& o) : table_(std::make_shared<CsvTable>(parseCsv(o))) {}
  std::string_view kind() const override { return "csv"; }
  int64_t size() const override { return table_->rows; }
  std::function<Record()> reader(int64_t i) const override {
    return [t = table_, i]() {
      Record r;
      Tensor x(DType::F32, {t->featureCount});
      for (int64_t f = 0; f < t->featureCount; ++f) x.data<float>()[f] = t->features[i * t->featureCount + f];
      r.set("features", std::move(x));
      if (t->labelled) {
        Tensor y(DType::I64, {});
        *y.data<int64_t>() = t->labels[i];
        r.set("label", std::move(y));
      }
      return r;
    };
  }

private:
  std::shared_ptr<const CsvTable> table_;
};

} // namespace

std::unique_ptr<Stage> csvSource(const CsvOptions& options) {
  return std::make_unique<CsvSource>(options);
}

} // namespace bdl::data
