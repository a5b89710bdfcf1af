// The distributed ParameterSync: BigDL's synchronization through
// runtime/dist's ParamSync on a communicator that is already connected.
#pragma once

#include "runtime/dist/Communicator.h"
#include "runtime/dist/ParamSync.h"
#include "runtime/train/ParameterSync.h"

namespace bdl::train {

// Throws TrainError for clip_norm (the global norm needs every block before
// any owner may step; not supported across workers yet) or a bad config.
// Each owner updates its block chunk by chunk (`chunkElements` each, the
// same on every rank), as each chunk's sum completes.
std::unique_ptr<ParameterSync> makeDistSync(dist::Communicator& comm, const optim::OptimizerConfig& config,
                                            ClipRule clip, size_t paramCount,
                                            size_t chunkElements = dist::ParamSyncOptions{}.chunkElements);

} // namespace bdl::train
