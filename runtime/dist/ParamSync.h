// BigDL's parameter synchronization on a flat float vector of P elements.
// Each iteration: the gradient is cut into W contiguous blocks (the first
// P mod W one element longer); every rank sends block j to rank j; owner r
// sums the W pieces of block r in rank order (so the same W and inputs give
// bit-identical results), applies the updater to its weight block (the
// optimizer state of block r lives only on rank r), and sends the new block
// to every rank. Per rank and iteration that is 2(W-1)/W of the parameter
// bytes on the wire, like a ring all-reduce, with one hop per phase.
//
//   ParamSync sync(comm, P);                       // f32 on the wire
//   sync.step(grad, weights, [&](std::span<float> w, std::span<const float> g,
//                                size_t offset) { sgd(w, g, lr); });
//
// Overlap with backward: begin(grad, weights), then gradientReady(b, e) as
// backward finishes ranges of the gradient (any order, e.g. last layers
// first); chunks whose elements are all ready leave at once. finish(update)
// marks the rest ready, reduces, updates and all-gathers.
//
// bf16 on the wire: gradients and weights travel as bfloat16 (rounded to
// nearest even); each owner keeps f32 master weights for its block and
// applies the updater to them; every replica, the owner's included, then
// holds the bf16-rounded weights, so replicas stay identical.
//
// Same-host peers (DistConfig::sharedMemory): the elements go through the
// sender's shared segment (SharedSegment.h), laid out like the flat vector:
// at block d the sender's gradient piece for owner d, at its own block its
// new weights, in the wire type. The data frames on the link then carry no
// elements and only say "chunk c is in my segment"; the receiver sums or
// copies straight from the sender's mapping. The results are the same bits
// as on the socket path. Construct a ParamSync after Communicator::connect().
#pragma once

#include "runtime/dist/BlockLayout.h"
#include "runtime/dist/Communicator.h"
#include "runtime/dist/LargeBuffer.h"
#include "runtime/dist/SharedSegment.h"

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <vector>

namespace bdl::dist {

// Applies the optimizer to one block: `weights` and `grad` (the summed
// gradient) cover the same elements, starting at `blockOffset` in the flat
// vector. Called on the owner only, once per iteration, on the caller's
// thread, and only when the block is not empty.
using BlockUpdater = std::function<void(std::span<float> weights, std::span<const float> grad, size_t blockOffset)>;

struct ParamSyncOptions {
  WireDType wire = WireDType::F32;
  // Elements per data frame; every rank must use the same value, and a frame
  // must fit in DistConfig::maxFrameBytes.
  size_t chunkElements = 256 * 1024;
  // Update each chunk of the owned block as soon as it is reduced and send
  // its new weights at once, so the all-gather overlaps the reduce-scatter.
  // The updater is then called once per chunk (ownedChunks(); blockOffset
  // says which), so it must treat chunks independently: elementwise
  // optimizers with their state split by chunk (runtime/optim gives the same
  // bits for any tiling), not clipping by the global norm.
  bool updateEachChunk = false;
};

class ParamSync : private DataSink {
public:
  // Throws DistError if the communicator is not usable or options are invalid.
  ParamSync(Communicator& comm, size_t paramCount, ParamSyncOptions options = {});
  ~ParamSync() override;
  ParamSync(const ParamSync&) = delete;
  ParamSync& operator=(const ParamSync&) = delete;

  size_t paramCount() const { return paramCount_; }
  BlockRange ownedBlock() const { return blocks_[static_cast<size_t>(rank_)]; }
  // The chunks of the owned block, as ranges of the flat vector, in order:
  // the updater calls of updateEachChunk.
  std::vector<BlockRange> ownedChunks() const;

  // One whole iteration; returns with `weights` updated on every rank.
  void step(std::span<const float> grad, std::span<float> weights, const BlockUpdater& update);

  // The same in three parts. Between begin() and finish() returning, `grad`
  // must stay valid and unchanged where marked ready, and `weights` must not
  // be read or written by the caller once the whole gradient is marked ready.
  void begin(std::span<const float> grad, std::span<float> weights);
  void gradientReady(size_t begin, size_t end); // elements [begin, end) are final
  void finish(const BlockUpdater& update);      // throws DistError on failure

private:
  // DataSink (I/O thread)
  Placement place(int sourceRank, FrameType type, const ChunkHeader& header, size_t elementBytes) override;
  std::string arrived(int sourceRank, FrameType type, const ChunkHeader& header) override;
  void failed() override;
  void peerDeparted(int rank) override;

  void sendGradChunk(int dst, size_t chunk);
  void produceWeightChunk(size_t chunk);
  void sendWeightChunk(size_t chunk);
  void queueFrame(int dst, FrameType type, size_t chunk, std::span<const uint8_t> payload, size_t elements);
  void flushHeld();
  size_t takeWeights();
  void reduceOwnBlock(const BlockUpdater* updateEach);
  void updateChunk(const BlockUpdater& update, size_t chunk);
  void runUpdater(const std::function<void()>& call);
  void reduceChunk(size_t chunk);
  float* sumOf(size_t chunk); // where reduceChunk leaves the chunk's sum
  void applyUpdate(const BlockUpdater& update);
  void setUpSharedMemory();
  void mapOwnSegment();
  const uint8_t* peerSegment(int rank);
  void copyOut(const float* from, float* to, size_t n) const;
  bool covered(size_t begin, size_t end) const;
  void waitFor(const std::function<bool()>& done, bool gradientPhase);
  void waitSendsDrained();
  [[noreturn]] void throwFailure();
  void checkUsable() const;

  Communicator& comm_;
  const size_t paramCount_;
  const ParamSyncOptions options_;
  const int rank_;
  const int world_;
  // Bulk loops use non-temporal stores (Streaming.h) when the vector is
  // larger than the caches hold anyway.
  static constexpr size_t kStreamingBytes = size_t{32} << 20;
  const bool stream_;
  std::vector<BlockRange> blocks_;
  std::vector<size_t> chunksPerBlock_;

  // Owned by the caller's thread.
  std::span<const float> grad_;
  std::span<float> weights_;
  std::map<size_t, size_t> ready_; // disjoint [begin, end) ranges of the gradient
  std::vector<std::vector<uint8_t>> gradSent_; // by destination, by chunk
  // The summed gradient of the own block; with updateEachChunk only one
  // chunk's, which the updater reads while it is still in cache.
  LargeBuffer<float> sum_;
  LargeBuffer<float> master_; // bf16 mode: f32 master weights of the own block
  bool masterValid_ = false;
  // bf16 mode, indexed like the flat vector: gradient pieces for the other
  // owners, and at the own block its new weights. In this iteration's slot
  // of the own segment when a peer shares memory, else in out16Storage_.
  std::span<uint16_t> out16_;
  LargeBuffer<uint16_t> out16Storage_;
  std::span<float> out32_; // f32 mode with a peer sharing memory: the same in f32

  // Shared memory (SharedSegment.h), in the slot claimed at the first
  // iteration. A layout reused from one iteration to the next is safe: a
  // rank rewrites its segment only after every peer has read it (gradients
  // once the owner's weights came back, weights once every peer's next
  // gradients arrived).
  std::vector<uint8_t> shmPeer_; // by rank: the link shares memory
  bool anyShm_ = false;
  int slot_ = -1;
  SegmentMapping ownSegment_;
  std::vector<SegmentMapping> peerSegments_; // by rank, mapped on first use
  // A data frame on a shared-memory link carries, instead of the elements,
  // the sender's parameter count and the chunk's element count, so ranks
  // that disagree on the layout fail as on a socket instead of reading
  // garbage. Outgoing ones by block: its full chunk, its last chunk.
  static constexpr size_t kDoorbellBytes = 12;
  using Doorbell = std::array<uint8_t, kDoorbellBytes>;
  std::vector<std::array<Doorbell, 2>> doorbellOut_;
  std::vector<Doorbell> doorbellIn_; // by source (one reader per link)
  std::span<const uint8_t> doorbellFor(size_t blockRank, size_t chunk) const;
  // Doorbells not yet handed to the Communicator (caller's thread only);
  // waitFor() flushes them first, so no rank waits on what it holds.
  std::vector<Communicator::ChunkSend> held_;
  size_t heldElements_ = 0;

  // Receive side: written by the I/O thread through place()/arrived().
  std::vector<LargeBuffer<float>> gradInF32_;     // by source rank, own block
  std::vector<LargeBuffer<uint16_t>> gradInBf16_; // by source rank, own block
  LargeBuffer<uint16_t> weightInBf16_;            // bf16 mode, flat

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::atomic<bool> active_{false};
  uint64_t iteration_ = 0;
  std::vector<std::vector<uint8_t>> gradSeen_;   // by source, by chunk of own block
  std::vector<std::vector<uint8_t>> weightSeen_; // by owner, by chunk of its block
  std::vector<size_t> gradArrived_;              // by source
  std::vector<size_t> weightArrived_;            // by owner
  std::vector<uint32_t> piecesIn_;               // by chunk of own block: remote pieces arrived
  std::vector<size_t> reducible_;                // chunks of own block with every piece in, not yet taken
  std::vector<std::pair<int, size_t>> weightsToTake_; // (owner, chunk) to widen or copy, not yet taken
  // The whole gradient is marked ready: weight chunks may land in weights_
  // (before that, backward may still read them; early ones wait in the socket).
  bool weightsOpen_ = false;
  size_t sendsPending_ = 0;
  bool failed_ = false;
  std::chrono::steady_clock::time_point lastProgress_;
};

} // namespace bdl::dist
