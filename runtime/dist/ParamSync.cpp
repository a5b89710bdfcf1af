#include "runtime/dist/ParamSync.h"

#include "runtime/dist/Bf16.h"
#include "runtime/dist/Streaming.h"

#include <algorithm>
#include <cstring>

namespace bdl::dist {

namespace {
using Clock = std::chrono::steady_clock;
// Doorbells are handed to the I/O thread once this many elements' worth
// are ready (8 default chunks), and at the end of every gradientReady()
// and before every wait.
constexpr size_t kDoorbellBatchElements = size_t{2} << 20;

template <class T>
std::span<const uint8_t> asBytes(std::span<const T> s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size_bytes()};
}
template <class T>
std::span<uint8_t> asWritableBytes(std::span<T> s) {
  return {reinterpret_cast<uint8_t*>(s.data()), s.size_bytes()};
}

// One piece of the owner's block: f32 (its own gradient, or the f32 wire)
// or bf16 (the wire). Exactly one pointer is set.
struct Piece {
  const float* f32 = nullptr;
  const uint16_t* bf16 = nullptr;
};

inline float widen(float x) { return x; }
inline float widen(uint16_t x) { return bf16ToF32(x); }

// sum = a + b in one pass: the same roundings as copying a and adding b,
// with one pass over memory less.
template <class A, class B>
void addTwo(float* sum, const A* a, const B* b, size_t n) {
  for (size_t i = 0; i < n; ++i)
    sum[i] = widen(a[i]) + widen(b[i]);
}

template <class A>
void addOne(float* sum, const A* a, size_t n) {
  for (size_t i = 0; i < n; ++i)
    sum[i] += widen(a[i]);
}

BDL_WIDE_LOOP
void sumFirstTwo(float* sum, Piece a, Piece b, size_t n) {
  if (a.f32 && b.f32)
    addTwo(sum, a.f32, b.f32, n);
  else if (a.f32)
    addTwo(sum, a.f32, b.bf16, n);
  else if (b.f32)
    addTwo(sum, a.bf16, b.f32, n);
  else
    addTwo(sum, a.bf16, b.bf16, n);
}

BDL_WIDE_LOOP
void addPiece(float* sum, Piece p, size_t n) {
  if (p.f32)
    addOne(sum, p.f32, n);
  else
    addOne(sum, p.bf16, n);
}
} // namespace

ParamSync::ParamSync(Communicator& comm, size_t paramCount, ParamSyncOptions options)
    : comm_(comm), paramCount_(paramCount), options_(options), rank_(comm.rank()), world_(comm.worldSize()),
      stream_(paramCount * sizeof(float) >= kStreamingBytes && streaming::available()) {
  const auto W = static_cast<size_t>(world_);
  const size_t esz = wireDTypeSize(options_.wire);
  if (options_.chunkElements == 0 || options_.chunkElements * esz + kChunkHeaderBytes + kFrameHeaderBytes >
                                         comm.config().maxFrameBytes)
    throw DistError("ParamSync chunk of " + std::to_string(options_.chunkElements) +
                    " elements does not fit in the frame limit of " + std::to_string(comm.config().maxFrameBytes) +
                    " bytes");
  if (auto f = comm.failure())
    throw *f;
  for (size_t r = 0; r < W; ++r) {
    blocks_.push_back(blockRange(paramCount, W, r));
    chunksPerBlock_.push_back(chunkCount(blocks_.back().length, options_.chunkElements));
  }
  const size_t own = ownedBlock().length;
  const bool bf16 = options_.wire == WireDType::BF16;
  gradSent_.resize(W);
  gradSeen_.resize(W);
  weightSeen_.resize(W);
  gradArrived_.assign(W, 0);
  weightArrived_.assign(W, 0);
  (bf16 ? gradInBf16_.resize(W) : gradInF32_.resize(W));
  setUpSharedMemory();
  bool socketPeer = false;
  for (size_t r = 0; r < W; ++r) {
    if (static_cast<int>(r) == rank_)
      continue;
    gradSent_[r].assign(chunksPerBlock_[r], 0);
    gradSeen_[r].assign(chunksPerBlock_[static_cast<size_t>(rank_)], 0);
    weightSeen_[r].assign(chunksPerBlock_[r], 0);
    if (shmPeer_[r])
      continue; // its pieces are read from its segment
    socketPeer = true;
    if (bf16)
      gradInBf16_[r] = LargeBuffer<uint16_t>(own);
    else
      gradInF32_[r] = LargeBuffer<float>(own);
  }
  sum_ = LargeBuffer<float>(options_.updateEachChunk ? std::min(own, options_.chunkElements) : own);
  piecesIn_.assign(chunksPerBlock_[static_cast<size_t>(rank_)], 0);
  if (bf16) {
    if (!anyShm_) {
      out16Storage_ = LargeBuffer<uint16_t>(paramCount);
      out16_ = out16Storage_;
    }
    if (socketPeer)
      weightInBf16_ = LargeBuffer<uint16_t>(paramCount);
    master_ = LargeBuffer<float>(own);
  }
  comm_.attachSink(this);
}

ParamSync::~ParamSync() {
  if (active_) {
    // Abandoned mid-iteration (an exception in the trainer): the peers can
    // never complete this iteration, so fail the job rather than let them
    // wait out the timeout.
    comm_.reportFailure(rank_, comm_.describePeer(rank_) + ": abandoned parameter synchronization in iteration " +
                                   std::to_string(iteration_));
    active_ = false;
  }
  waitSendsDrained();
  comm_.detachSink(this);
}

namespace {
std::array<uint8_t, 12> encodeDoorbell(uint64_t paramCount, uint32_t chunkElements) {
  std::array<uint8_t, 12> d{};
  for (size_t i = 0; i < 8; ++i)
    d[i] = static_cast<uint8_t>(paramCount >> (8 * i));
  for (size_t i = 0; i < 4; ++i)
    d[8 + i] = static_cast<uint8_t>(chunkElements >> (8 * i));
  return d;
}
} // namespace

void ParamSync::setUpSharedMemory() {
  const auto W = static_cast<size_t>(world_);
  shmPeer_.assign(W, 0);
  peerSegments_.resize(W);
  doorbellIn_.resize(W);
  for (size_t r = 0; r < W; ++r) {
    const size_t n = blocks_[r].length, C = options_.chunkElements;
    const size_t last = n == 0 ? 0 : chunkRange(n, C, chunkCount(n, C) - 1).length;
    doorbellOut_.push_back({encodeDoorbell(paramCount_, static_cast<uint32_t>(std::min(n, C))),
                            encodeDoorbell(paramCount_, static_cast<uint32_t>(last))});
  }
  const size_t bytes = paramCount_ * wireDTypeSize(options_.wire);
  const int fd = comm_.ownSegmentFd();
  if (bytes == 0 || fd < 0)
    return;
  for (size_t r = 0; r < W; ++r)
    if (static_cast<int>(r) != rank_ && comm_.peerSegmentFd(static_cast<int>(r)) >= 0)
      shmPeer_[r] = 1, anyShm_ = true;
}

void ParamSync::mapOwnSegment() {
  // The slot is taken at the first iteration, not at construction: a
  // ParamSync that never steps must not make two others share a slot.
  slot_ = comm_.claimSegmentSlot();
  const size_t bytes = paramCount_ * wireDTypeSize(options_.wire);
  const size_t offset = static_cast<size_t>(slot_) * kSegmentSlotStride;
  const int fd = comm_.ownSegmentFd();
  std::string error = bytes > kSegmentSlotStride ? "the parameters do not fit in a slot of the shared segment"
                                                 : growSegment(fd, offset + bytes);
  if (error.empty())
    error = ownSegment_.map(fd, offset, bytes, true);
  if (!error.empty()) {
    // The peers would wait for frames this rank can never send.
    comm_.reportFailure(rank_, comm_.describePeer(rank_) + ": shared memory for parameter sync: " + error);
    active_ = false;
    throwFailure();
  }
  uint8_t* out = ownSegment_.data();
  if (options_.wire == WireDType::BF16)
    out16_ = {reinterpret_cast<uint16_t*>(out), paramCount_};
  else
    out32_ = {reinterpret_cast<float*>(out), paramCount_};
}

void ParamSync::copyOut(const float* from, float* to, size_t n) const {
  if (stream_)
    streaming::copy(from, to, n);
  else
    std::copy_n(from, n, to);
}

std::span<const uint8_t> ParamSync::doorbellFor(size_t blockRank, size_t chunk) const {
  return doorbellOut_[blockRank][chunk + 1 == chunksPerBlock_[blockRank] ? 1 : 0];
}

const uint8_t* ParamSync::peerSegment(int r) {
  auto& view = peerSegments_[static_cast<size_t>(r)];
  if (!view.mapped()) {
    // Mapped when first needed: the peer has grown its segment before its
    // first data frame said something is in it. Every rank claims slots in
    // the same order, so the peer's slot is this rank's.
    const size_t bytes = paramCount_ * wireDTypeSize(options_.wire);
    std::string error =
        view.map(comm_.peerSegmentFd(r), static_cast<size_t>(slot_) * kSegmentSlotStride, bytes, false);
    if (!error.empty()) {
      comm_.reportFailure(r, comm_.describePeer(r) + ": cannot map its shared segment: " + error);
      waitSendsDrained();
      active_ = false;
      throwFailure();
    }
  }
  return view.data();
}

std::vector<BlockRange> ParamSync::ownedChunks() const {
  const BlockRange own = ownedBlock();
  std::vector<BlockRange> out;
  for (size_t c = 0; c < chunksPerBlock_[static_cast<size_t>(rank_)]; ++c) {
    BlockRange r = chunkRange(own.length, options_.chunkElements, c);
    out.push_back({own.offset + r.offset, r.length});
  }
  return out;
}

void ParamSync::checkUsable() const {
  if (auto f = comm_.failure())
    throw *f;
}

void ParamSync::step(std::span<const float> grad, std::span<float> weights, const BlockUpdater& update) {
  begin(grad, weights);
  finish(update);
}

void ParamSync::begin(std::span<const float> grad, std::span<float> weights) {
  checkUsable();
  if (active_)
    throw DistError("ParamSync::begin() called again before finish()");
  if (int gone = comm_.departedPeer(); gone >= 0) {
    comm_.reportFailure(gone, comm_.describePeer(gone) + ": left the job (closed its links) before iteration " +
                                  std::to_string(iteration_ + 1));
    checkUsable();
  }
  if (grad.size() != paramCount_ || weights.size() != paramCount_)
    throw DistError("ParamSync expects gradient and weights of " + std::to_string(paramCount_) +
                    " elements, got " + std::to_string(grad.size()) + " and " + std::to_string(weights.size()));
  grad_ = grad;
  weights_ = weights;
  held_.clear(); // only an iteration abandoned by an exception leaves any
  heldElements_ = 0;
  ready_.clear();
  for (auto& s : gradSent_)
    std::fill(s.begin(), s.end(), 0);
  if (options_.wire == WireDType::BF16 && !masterValid_) {
    auto own = ownedBlock();
    std::copy_n(weights.begin() + static_cast<ptrdiff_t>(own.offset), own.length, master_.begin());
    masterValid_ = true;
  }
  {
    std::lock_guard lock(mutex_);
    iteration_ = comm_.nextIterationNumber();
    for (auto& s : gradSeen_)
      std::fill(s.begin(), s.end(), 0);
    for (auto& s : weightSeen_)
      std::fill(s.begin(), s.end(), 0);
    std::fill(gradArrived_.begin(), gradArrived_.end(), 0);
    std::fill(piecesIn_.begin(), piecesIn_.end(), 0);
    reducible_.clear();
    if (world_ == 1) // nothing to wait for
      for (size_t c = 0; c < piecesIn_.size(); ++c)
        reducible_.push_back(c);
    weightsToTake_.clear();
    weightsOpen_ = false;
    std::fill(weightArrived_.begin(), weightArrived_.end(), 0);
    lastProgress_ = Clock::now();
    active_ = true;
  }
  if (anyShm_ && slot_ < 0)
    mapOwnSegment();
  // Frames of this iteration that arrived early are waiting in their sockets.
  comm_.wakeWaitingReaders();
}

bool ParamSync::covered(size_t begin, size_t end) const {
  if (begin == end)
    return true;
  auto it = ready_.upper_bound(begin);
  if (it == ready_.begin())
    return false;
  --it;
  return it->first <= begin && it->second >= end;
}

void ParamSync::gradientReady(size_t begin, size_t end) {
  if (!active_)
    throw DistError("ParamSync::gradientReady() outside begin()/finish()");
  if (begin > end || end > paramCount_)
    throw DistError("ParamSync::gradientReady(" + std::to_string(begin) + ", " + std::to_string(end) +
                    ") is outside the " + std::to_string(paramCount_) + "-element gradient");
  if (begin == end)
    return;
  // Merge [begin, end) into the disjoint range set.
  size_t b = begin, e = end;
  auto it = ready_.upper_bound(b);
  if (it != ready_.begin() && std::prev(it)->second >= b)
    --it;
  while (it != ready_.end() && it->first <= e) {
    b = std::min(b, it->first);
    e = std::max(e, it->second);
    it = ready_.erase(it);
  }
  ready_[b] = e;
  if (b == 0 && e == paramCount_ && !weightsOpen_) {
    {
      std::lock_guard lock(mutex_);
      weightsOpen_ = true;
    }
    comm_.wakeWaitingReaders(); // weight chunks held back may land now
  }
  // Send every chunk touched by [begin, end) that is now wholly ready.
  const size_t C = options_.chunkElements;
  for (int dst = 0; dst < world_; ++dst) {
    if (dst == rank_)
      continue;
    const BlockRange& block = blocks_[static_cast<size_t>(dst)];
    size_t lo = std::max(begin, block.offset), hi = std::min(end, block.end());
    if (lo >= hi)
      continue;
    for (size_t c = (lo - block.offset) / C; c <= (hi - 1 - block.offset) / C; ++c) {
      BlockRange chunk = chunkRange(block.length, C, c);
      if (!gradSent_[static_cast<size_t>(dst)][c] &&
          covered(block.offset + chunk.offset, block.offset + chunk.end()))
        sendGradChunk(dst, c);
    }
  }
  flushHeld();
}

void ParamSync::sendGradChunk(int dst, size_t c) {
  gradSent_[static_cast<size_t>(dst)][c] = 1;
  const BlockRange& block = blocks_[static_cast<size_t>(dst)];
  BlockRange chunk = chunkRange(block.length, options_.chunkElements, c);
  const size_t at = block.offset + chunk.offset;
  auto elements = grad_.subspan(at, chunk.length);
  const bool shm = shmPeer_[static_cast<size_t>(dst)];
  std::span<const uint8_t> payload = shm ? doorbellFor(static_cast<size_t>(dst), c) : asBytes(elements);
  if (options_.wire == WireDType::BF16) {
    auto out = out16_.subspan(at, chunk.length);
    if (stream_)
      streaming::narrow(elements.data(), out.data(), chunk.length);
    else
      f32ToBf16(elements, out);
    if (!shm)
      payload = asBytes(std::span<const uint16_t>(out));
  } else if (shm) {
    copyOut(elements.data(), out32_.data() + at, chunk.length);
  }
  queueFrame(dst, FrameType::GradChunk, c, payload, chunk.length);
}

void ParamSync::queueFrame(int dst, FrameType type, size_t c, std::span<const uint8_t> payload, size_t elements) {
  Communicator::ChunkSend send{dst, type, {iteration_, static_cast<uint32_t>(c), options_.wire}, payload,
                               [this](bool) {
                                 std::lock_guard lock(mutex_);
                                 if (--sendsPending_ == 0)
                                   changed_.notify_all(); // only waitSendsDrained() waits on sends
                               }};
  if (!shmPeer_[static_cast<size_t>(dst)]) {
    // Elements on the socket: each chunk leaves at once, the copy through
    // the kernel is the cost and overlaps this thread's next chunk.
    {
      std::lock_guard lock(mutex_);
      ++sendsPending_;
    }
    comm_.sendChunk(send.peerRank, send.type, send.header, send.payload, std::move(send.done));
    return;
  }
  // A doorbell: held until a few MiB of chunks are ready, then handed over
  // with the others (every hand-over wakes this rank's I/O thread and then
  // the peer's, each time taking a core from a rank that is computing).
  held_.push_back(std::move(send));
  heldElements_ += elements;
  if (heldElements_ >= kDoorbellBatchElements)
    flushHeld();
}

void ParamSync::flushHeld() {
  if (held_.empty())
    return;
  {
    std::lock_guard lock(mutex_);
    sendsPending_ += held_.size();
  }
  heldElements_ = 0;
  comm_.sendChunks(std::move(held_));
  held_.clear();
}

void ParamSync::produceWeightChunk(size_t c) {
  // Each owner's new weights, in the wire type, where every peer takes
  // them: the own segment or the send buffer. In bf16 the owner keeps the
  // rounded values too (replicas stay identical), in the same pass.
  const BlockRange own = ownedBlock();
  const BlockRange chunk = chunkRange(own.length, options_.chunkElements, c);
  const size_t at = own.offset + chunk.offset;
  if (options_.wire == WireDType::BF16 && stream_)
    streaming::narrowRounded(master_.data() + chunk.offset, out16_.data() + at, weights_.data() + at, chunk.length);
  else if (options_.wire == WireDType::BF16)
    f32ToBf16Rounded(std::span<const float>(master_).subspan(chunk.offset, chunk.length),
                     out16_.subspan(at, chunk.length), weights_.subspan(at, chunk.length));
  else if (anyShm_)
    copyOut(weights_.data() + at, out32_.data() + at, chunk.length);
}

void ParamSync::sendWeightChunk(size_t c) {
  const BlockRange own = ownedBlock();
  BlockRange chunk = chunkRange(own.length, options_.chunkElements, c);
  const size_t at = own.offset + chunk.offset;
  std::span<const uint8_t> payload = options_.wire == WireDType::BF16
                                         ? asBytes(std::span<const uint16_t>(out16_.subspan(at, chunk.length)))
                                         : asBytes(std::span<const float>(weights_.subspan(at, chunk.length)));
  for (int dst = 0; dst < world_; ++dst)
    if (dst != rank_)
      queueFrame(dst, FrameType::WeightChunk, c,
                 shmPeer_[static_cast<size_t>(dst)] ? doorbellFor(static_cast<size_t>(rank_), c) : payload,
                 chunk.length);
}

DataSink::Placement ParamSync::place(int src, FrameType type, const ChunkHeader& h, size_t elementBytes) {
  std::lock_guard lock(mutex_);
  Placement p;
  if (h.dtype != options_.wire) {
    p.verdict = Verdict::Reject;
    p.error = "its elements are " + std::string(h.dtype == WireDType::BF16 ? "bf16" : "f32") +
              " but this rank expects " + (options_.wire == WireDType::BF16 ? "bf16" : "f32") +
              "; every rank must use the same wire type";
    return p;
  }
  if (h.iteration > iteration_) {
    // An iteration this rank has not begun (iteration numbers come from the
    // Communicator, so this may be a later ParamSync's): leave it queued.
    p.verdict = Verdict::Wait;
    return p;
  }
  if (active_ && h.iteration == iteration_ && type == FrameType::WeightChunk && !weightsOpen_) {
    // An owner that updates chunk by chunk can be ahead of this rank's
    // backward, which may still read these weights.
    p.verdict = Verdict::Wait;
    return p;
  }
  if (!active_ || h.iteration != iteration_) {
    p.verdict = Verdict::Reject;
    p.error = "frame for iteration " + std::to_string(h.iteration) + " while this rank is at iteration " +
              std::to_string(iteration_);
    return p;
  }
  const auto s = static_cast<size_t>(src);
  const size_t esz = wireDTypeSize(options_.wire);
  const bool grad = type == FrameType::GradChunk;
  const BlockRange& block = blocks_[grad ? static_cast<size_t>(rank_) : s];
  auto& seen = grad ? gradSeen_[s] : weightSeen_[s];
  if (h.chunkIndex >= seen.size() || seen[h.chunkIndex]) {
    p.verdict = Verdict::Reject;
    p.error = std::string(h.chunkIndex >= seen.size() ? "chunk index out of range" : "duplicate chunk") + " (" +
              std::to_string(h.chunkIndex) + ")";
    return p;
  }
  BlockRange chunk = chunkRange(block.length, options_.chunkElements, h.chunkIndex);
  const size_t expected = shmPeer_[s] ? kDoorbellBytes : chunk.length * esz;
  if (expected != elementBytes) {
    p.verdict = Verdict::Reject;
    p.error = "chunk " + std::to_string(h.chunkIndex) + " carries " + std::to_string(elementBytes) +
              " bytes, expected " + std::to_string(expected) +
              " (do all ranks use the same parameter count and chunk size?)";
    return p;
  }
  seen[h.chunkIndex] = 1;
  p.verdict = Verdict::Deliver;
  if (shmPeer_[s]) {
    p.destination = doorbellIn_[s];
    return p;
  }
  if (grad) {
    p.destination = options_.wire == WireDType::BF16
                        ? asWritableBytes(std::span<uint16_t>(gradInBf16_[s]).subspan(chunk.offset, chunk.length))
                        : asWritableBytes(std::span<float>(gradInF32_[s]).subspan(chunk.offset, chunk.length));
  } else {
    size_t at = block.offset + chunk.offset;
    p.destination = options_.wire == WireDType::BF16
                        ? asWritableBytes(std::span<uint16_t>(weightInBf16_).subspan(at, chunk.length))
                        : asWritableBytes(weights_.subspan(at, chunk.length));
  }
  return p;
}

std::string ParamSync::arrived(int src, FrameType type, const ChunkHeader& header) {
  // Wake the caller's thread only when it has something to do (a chunk to
  // reduce or widen, or the last weights): every wake-up is a context switch,
  // and a waiter that sleeps through mere progress still sees lastProgress_
  // when its timeout check comes round.
  std::lock_guard lock(mutex_);
  lastProgress_ = Clock::now();
  const auto s = static_cast<size_t>(src);
  if (shmPeer_[s]) {
    const size_t block = type == FrameType::GradChunk ? static_cast<size_t>(rank_) : s;
    auto want = doorbellFor(block, header.chunkIndex);
    const Doorbell& got = doorbellIn_[s];
    if (!std::equal(want.begin(), want.end(), got.begin())) {
      uint64_t count = 0;
      uint32_t elements = 0;
      for (size_t i = 0; i < 8; ++i)
        count |= static_cast<uint64_t>(got[i]) << (8 * i);
      for (size_t i = 0; i < 4; ++i)
        elements |= static_cast<uint32_t>(got[8 + i]) << (8 * i);
      return "chunk " + std::to_string(header.chunkIndex) + " of a " + std::to_string(count) +
             "-element vector with " + std::to_string(elements) + " elements in shared memory, expected " +
             std::to_string(paramCount_) + " and " +
             std::to_string(chunkRange(blocks_[block].length, options_.chunkElements, header.chunkIndex).length) +
             " (do all ranks use the same parameter count and chunk size?)";
    }
  }
  bool wake;
  if (type == FrameType::GradChunk) {
    ++gradArrived_[s];
    wake = ++piecesIn_[header.chunkIndex] == static_cast<uint32_t>(world_ - 1); // place() checked the index
    if (wake)
      reducible_.push_back(header.chunkIndex);
  } else {
    ++weightArrived_[s];
    const bool take = options_.wire == WireDType::BF16 || shmPeer_[s]; // widened or copied by the caller
    if (take)
      weightsToTake_.emplace_back(src, header.chunkIndex);
    wake = take || weightArrived_[s] == weightSeen_[s].size();
  }
  if (wake)
    changed_.notify_all();
  return {};
}

void ParamSync::failed() {
  std::lock_guard lock(mutex_);
  failed_ = true;
  changed_.notify_all();
}

void ParamSync::peerDeparted(int) {
  std::lock_guard lock(mutex_);
  changed_.notify_all(); // waitFor() decides whether this rank needed it
}

void ParamSync::throwFailure() {
  if (auto f = comm_.failure())
    throw *f;
  throw DistError("parameter synchronization failed"); // unreachable: failed_ follows a recorded failure
}

// Waits until done(), failing the job if no chunk arrives for the timeout;
// the missing rank is the first whose data is incomplete.
void ParamSync::waitFor(const std::function<bool()>& done, bool gradientPhase) {
  flushHeld(); // what this rank waits for may depend on what it holds
  const auto timeout = std::chrono::duration_cast<Clock::duration>(comm_.config().timeout);
  std::unique_lock lock(mutex_);
  for (;;) {
    if (failed_)
      break;
    if (done())
      return;
    int gone = -1;
    for (int r = 0; r < world_ && gone < 0; ++r) {
      auto s = static_cast<size_t>(r);
      bool incomplete = gradientPhase ? gradArrived_[s] < gradSeen_[s].size() : weightArrived_[s] < weightSeen_[s].size();
      if (r != rank_ && incomplete && comm_.hasDeparted(r))
        gone = r;
    }
    if (gone >= 0) {
      lock.unlock();
      comm_.reportFailure(gone, comm_.describePeer(gone) + ": left the job in the middle of iteration " +
                                    std::to_string(iteration_));
      lock.lock();
      break;
    }
    if (Clock::now() - lastProgress_ >= timeout) {
      int missing = -1;
      for (int r = 0; r < world_ && missing < 0; ++r) {
        if (r == rank_)
          continue;
        auto s = static_cast<size_t>(r);
        if (gradientPhase ? gradArrived_[s] < gradSeen_[s].size() : weightArrived_[s] < weightSeen_[s].size())
          missing = r;
      }
      lock.unlock();
      comm_.reportFailure(missing, comm_.describePeer(missing) + ": sent no " +
                                       (gradientPhase ? "gradient" : "weight") + " data for " +
                                       std::to_string(std::chrono::duration<double>(timeout).count()) +
                                       " s in iteration " + std::to_string(iteration_) +
                                       " (it is connected but stuck, or waiting on another rank)");
      lock.lock();
      break;
    }
    changed_.wait_until(lock, lastProgress_ + timeout);
  }
  lock.unlock();
  waitSendsDrained();
  active_ = false;
  throwFailure();
}

void ParamSync::waitSendsDrained() {
  // Sends borrow the caller's buffers; they end (written or dropped) within
  // the link deadline, or at once after a failure closes the links.
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return sendsPending_ == 0; });
}

float* ParamSync::sumOf(size_t c) {
  if (options_.updateEachChunk)
    return sum_.data(); // one chunk, reused: summed, then updated at once
  return sum_.data() + chunkRange(ownedBlock().length, options_.chunkElements, c).offset;
}

void ParamSync::reduceChunk(size_t c) {
  // Fixed rank order, whatever order the pieces arrived in: bit-identical
  // results for the same W and inputs.
  const BlockRange own = ownedBlock();
  const BlockRange chunk = chunkRange(own.length, options_.chunkElements, c);
  const size_t lo = chunk.offset, n = chunk.length;
  float* sum = sumOf(c);
  // The chunk's sum stays in cache for the updater right after, unless the
  // whole block is summed first (far more than the caches hold).
  const bool stream = stream_ && !options_.updateEachChunk;
  auto piece = [&](int r) {
    auto s = static_cast<size_t>(r);
    if (r == rank_)
      return Piece{grad_.data() + own.offset + lo, nullptr};
    if (shmPeer_[s]) {
      const uint8_t* at = peerSegment(r) + (own.offset + lo) * wireDTypeSize(options_.wire);
      if (options_.wire == WireDType::BF16)
        return Piece{nullptr, reinterpret_cast<const uint16_t*>(at)};
      return Piece{reinterpret_cast<const float*>(at), nullptr};
    }
    if (options_.wire == WireDType::BF16)
      return Piece{nullptr, gradInBf16_[s].data() + lo};
    return Piece{gradInF32_[s].data() + lo, nullptr};
  };
  if (world_ == 1) {
    if (stream)
      streaming::copy(piece(0).f32, sum, n);
    else
      std::copy_n(piece(0).f32, n, sum);
    return;
  }
  if (stream) {
    Piece a = piece(0), b = piece(1);
    streaming::addTwo(sum, a.f32, a.bf16, b.f32, b.bf16, n);
  } else {
    sumFirstTwo(sum, piece(0), piece(1), n);
  }
  for (int r = 2; r < world_; ++r)
    addPiece(sum, piece(r), n);
}

void ParamSync::reduceOwnBlock(const BlockUpdater* updateEach) {
  // Each chunk of the own block is summed as soon as its W-1 remote pieces
  // are in, while the other chunks are still on the wire; with updateEach,
  // also updated and sent back out at once. (Interleaving the sends with
  // the sums, so that a piece is read soon after its sender wrote it, was
  // slower on one host: the lines then move between the cores' caches.)
  const size_t chunks = chunksPerBlock_[static_cast<size_t>(rank_)];
  size_t done = 0;
  std::vector<size_t> ready;
  while (done < chunks) {
    ready.clear();
    waitFor([&] {
      ready.swap(reducible_);
      return !ready.empty();
    }, true);
    for (size_t c : ready) {
      reduceChunk(c);
      ++done;
      if (updateEach) {
        updateChunk(*updateEach, c);
        produceWeightChunk(c);
        sendWeightChunk(c);
      }
    }
  }
}

void ParamSync::updateChunk(const BlockUpdater& update, size_t c) {
  const BlockRange own = ownedBlock();
  const BlockRange chunk = chunkRange(own.length, options_.chunkElements, c);
  std::span<const float> grad(sumOf(c), chunk.length);
  if (options_.wire == WireDType::BF16) {
    std::span<float> master(master_.data() + chunk.offset, chunk.length);
    runUpdater([&] { update(master, grad, own.offset + chunk.offset); });
  } else {
    runUpdater([&] { update(weights_.subspan(own.offset + chunk.offset, chunk.length), grad, own.offset + chunk.offset); });
  }
}

void ParamSync::runUpdater(const std::function<void()>& call) {
  try {
    call();
  } catch (const std::exception& e) {
    comm_.reportFailure(rank_, comm_.describePeer(rank_) + ": the optimizer failed on its block: " + e.what());
    waitSendsDrained();
    active_ = false;
    throw;
  }
}

void ParamSync::applyUpdate(const BlockUpdater& update) {
  const BlockRange own = ownedBlock();
  if (own.length == 0)
    return;
  if (options_.wire == WireDType::BF16)
    runUpdater([&] { update(master_, sum_, own.offset); });
  else
    runUpdater([&] { update(weights_.subspan(own.offset, own.length), sum_, own.offset); });
}

size_t ParamSync::takeWeights() {
  // Chunks that need this thread (widened, or copied out of the owner's
  // segment); f32 chunks from a socket are already in place.
  std::vector<std::pair<int, size_t>> ready;
  waitFor([&] {
    ready.swap(weightsToTake_);
    return !ready.empty();
  }, false);
  const size_t esz = wireDTypeSize(options_.wire);
  for (auto [r, c] : ready) {
    const BlockRange& b = blocks_[static_cast<size_t>(r)];
    BlockRange chunk = chunkRange(b.length, options_.chunkElements, c);
    const size_t at = b.offset + chunk.offset;
    float* to = weights_.data() + at;
    const uint8_t* from = shmPeer_[static_cast<size_t>(r)] ? peerSegment(r) + at * esz
                                                           : reinterpret_cast<const uint8_t*>(weightInBf16_.data() + at);
    if (options_.wire == WireDType::F32)
      copyOut(reinterpret_cast<const float*>(from), to, chunk.length);
    else if (stream_)
      streaming::widen(reinterpret_cast<const uint16_t*>(from), to, chunk.length);
    else
      bf16ToF32({reinterpret_cast<const uint16_t*>(from), chunk.length}, {to, chunk.length});
  }
  return ready.size();
}

void ParamSync::finish(const BlockUpdater& update) {
  if (!active_)
    throw DistError("ParamSync::finish() without begin()");
  gradientReady(0, paramCount_); // whatever was not marked yet is final now
  size_t toTake = 0;
  for (int r = 0; r < world_; ++r)
    if (r != rank_ && (options_.wire == WireDType::BF16 || shmPeer_[static_cast<size_t>(r)]))
      toTake += chunksPerBlock_[static_cast<size_t>(r)];
  if (options_.updateEachChunk) {
    reduceOwnBlock(&update); // updates and sends chunk by chunk
  } else {
    reduceOwnBlock(nullptr);
    applyUpdate(update);
    for (size_t c = 0; c < chunksPerBlock_[static_cast<size_t>(rank_)]; ++c) {
      produceWeightChunk(c);
      sendWeightChunk(c);
    }
  }
  while (toTake > 0)
    toTake -= takeWeights();
  waitFor([this] {
    for (int r = 0; r < world_; ++r)
      if (r != rank_ && weightArrived_[static_cast<size_t>(r)] < weightSeen_[static_cast<size_t>(r)].size())
        return false;
    return true;
  }, false);
  waitSendsDrained();
  {
    std::lock_guard lock(mutex_);
    active_ = false;
  }
  comm_.wakeWaitingReaders();
}

} // namespace bdl::dist
