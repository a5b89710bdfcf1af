// How BigDL cuts a flat parameter vector of P elements among W owners: W
// contiguous blocks, the first P mod W of them one element longer; each
// block is sent in chunks of a fixed element count (the last one shorter).
#pragma once

#include <cstddef>

namespace bdl::dist {

struct BlockRange {
  size_t offset = 0; // first element, in the flat vector
  size_t length = 0; // elements
  size_t end() const { return offset + length; }
};

inline BlockRange blockRange(size_t paramCount, size_t worldSize, size_t rank) {
  size_t base = paramCount / worldSize;
  size_t extra = paramCount % worldSize;
  size_t offset = rank * base + (rank < extra ? rank : extra);
  return {offset, base + (rank < extra ? 1 : 0)};
}

inline size_t chunkCount(size_t blockLength, size_t chunkElements) {
  return (blockLength + chunkElements - 1) / chunkElements;
}

// Chunk c of a block, relative to the block's start.
inline BlockRange chunkRange(size_t blockLength, size_t chunkElements, size_t chunk) {
  size_t offset = chunk * chunkElements;
  size_t length = blockLength - offset < chunkElements ? blockLength - offset : chunkElements;
  return {offset, length};
}

} // namespace bdl::dist
