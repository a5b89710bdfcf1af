// "Did you mean ...?" for the factories: the closest known name to a
// misspelt one, and lists of names for error messages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bdl::optim {

// The first candidate that `word` (3+ letters) abbreviates, else the one
// nearest by edit distance if within a third of the word's length (at least
// 2 edits); empty otherwise.
std::string_view closestName(std::string_view word, const std::vector<std::string_view>& candidates);

// "a, b, c"
std::string joinNames(const std::vector<std::string_view>& names);

} // namespace bdl::optim
