#include "runtime/data/Record.h"

#include "runtime/data/DataError.h"

#include <cstring>

namespace bdl {

Record::Record(std::initializer_list<Field> fields) {
  for (const Field& f : fields) set(f.first, f.second);
}

void Record::set(std::string name, Tensor value) {
  for (Field& f : fields_)
    if (f.first == name) {
      f.second = std::move(value);
      return;
    }
  fields_.emplace_back(std::move(name), std::move(value));
}

bool Record::has(std::string_view name) const {
  for (const Field& f : fields_)
    if (f.first == name) return true;
  return false;
}

const Tensor& Record::get(std::string_view name) const {
  for (const Field& f : fields_)
    if (f.first == name) return f.second;
  throw DataError("", "", "record has no field '" + std::string(name) + "' (fields: " +
                              fieldNames() + ")");
}

Tensor& Record::get(std::string_view name) {
  return const_cast<Tensor&>(static_cast<const Record*>(this)->get(name));
}

std::string Record::fieldNames() const {
  std::string out;
  for (const Field& f : fields_) out += (out.empty() ? "" : ", ") + f.first;
  return out.empty() ? "none" : out;
}

std::string Record::describe() const {
  std::string out;
  for (const Field& f : fields_) {
    if (!out.empty()) out += ", ";
    out += f.first + ": " + std::string(dtypeName(f.second.dtype())) +
           shapeToString(f.second.shape());
  }
  return out;
}

Record stackRecords(std::span<const Record* const> records, const Record* shapeTemplate) {
  const Record* first = records.empty() ? shapeTemplate : records[0];
  Record batch;
  if (!first) return batch;
  const int64_t rows = static_cast<int64_t>(records.size());
  for (size_t r = 1; r < records.size(); ++r) {
    const Record& rec = *records[r];
    bool same = rec.size() == first->size();
    for (size_t f = 0; same && f < first->size(); ++f) {
      const Tensor& a = first->fields()[f].second;
      const Tensor& b = rec.fields()[f].second;
      same = rec.fields()[f].first == first->fields()[f].first && a.dtype() == b.dtype() &&
             a.shape() == b.shape();
    }
    if (!same)
      throw DataError("", "batch row " + std::to_string(r),
                      "cannot batch records of different types: {" + rec.describe() +
                          "} after {" + first->describe() + "}");
  }
  for (size_t f = 0; f < first->size(); ++f) {
    const Tensor& proto = first->fields()[f].second;
    Shape shape{rows};
    shape.insert(shape.end(), proto.shape().begin(), proto.shape().end());
    Tensor out(proto.dtype(), shape);
    const size_t rowBytes = proto.bytes();
    char* dst = static_cast<char*>(out.rawData());
    for (int64_t r = 0; r < rows && rowBytes; ++r)
      std::memcpy(dst + r * rowBytes, records[r]->fields()[f].second.rawData(), rowBytes);
    batch.set(first->fields()[f].first, std::move(out));
  }
  return batch;
}

} // namespace bdl
