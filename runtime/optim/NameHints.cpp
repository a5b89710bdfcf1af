#include "runtime/optim/NameHints.h"

#include <algorithm>

namespace bdl::optim {
namespace {

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

} // namespace

std::string_view closestName(std::string_view word, const std::vector<std::string_view>& candidates) {
  // A word of 3+ letters that begins a candidate ("step" for "step_lr") is
  // taken as an abbreviation of it.
  if (word.size() >= 3)
    for (std::string_view c : candidates)
      if (c.size() > word.size() && c.substr(0, word.size()) == word) return c;
  std::string_view best;
  size_t bestDistance = std::max<size_t>(2, word.size() / 3) + 1;
  for (std::string_view c : candidates) {
    const size_t d = editDistance(word, c);
    if (d < bestDistance) bestDistance = d, best = c;
  }
  return best;
}

std::string joinNames(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

} // namespace bdl::optim
