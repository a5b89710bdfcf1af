#include "runtime/data/Element.h"

#include <stdexcept>

namespace bdl::data {

Element Element::ready(Record record) {
  Element e;
  e.state_ = std::make_shared<State>();
  e.state_->value = std::move(record);
  return e;
}

Element Element::deferred(std::function<Record()> produce) {
  Element e;
  e.state_ = std::make_shared<State>();
  e.state_->produce = std::move(produce);
  return e;
}

const Record& Element::get() const {
  if (!state_) throw std::logic_error("runtime/data/Element.cpp: get() on an empty Element");
  if (!state_->value) {
    state_->value = state_->produce();
    state_->produce = nullptr; // release what the producer captured (upstream elements)
  }
  return *state_->value;
}

} // namespace bdl::data
