#pragma once

#include <cstdint>
#include <set>

namespace sluice {

/// Which of one sender's numbered batches (seq 1, 2, ...) are done: a
/// contiguous watermark plus the seqs done ahead of it, never "highest seq
/// seen" (a resend arrives behind later seqs). Holds only the seqs past a
/// gap, at most a window's worth. Used wherever a receiver must take each
/// batch once: stage inputs, the dead-letter sink, the lineage recorder.
class seq_marks {
public:
  bool has(uint64_t seq) const { return seq <= upto_ || ahead_.count(seq) > 0; }

  /// Marks `seq` done; false when it was already.
  bool mark(uint64_t seq) {
    if (has(seq))
      return false;
    ahead_.insert(seq);
    while (!ahead_.empty() && *ahead_.begin() == upto_ + 1) {
      ++upto_;
      ahead_.erase(ahead_.begin());
    }
    return true;
  }

  /// Every seq up to this one is done.
  uint64_t upto() const { return upto_; }

private:
  uint64_t upto_ = 0;
  std::set<uint64_t> ahead_;
};

} // namespace sluice
