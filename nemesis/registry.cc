// Every fault faultline can inject, listed once. Adding a fault is its folder (nemesis/<fault>/:
// a Fault and a function making its FaultKind) plus its line here.
#include "nemesis/fault.h"

namespace faultline::nemesis {

// Made in their folders.
FaultKind PartitionFaultKind();  // nemesis/partition/partition.cc
FaultKind KillFaultKind();       // nemesis/process/process.cc
FaultKind PauseFaultKind();      // nemesis/process/process.cc
FaultKind AmnesiaFaultKind();    // nemesis/process/process.cc
FaultKind PacketFaultKind();     // nemesis/packet/packet.cc

const std::vector<FaultKind>& FaultKinds() {
  static const std::vector<FaultKind> kinds = {PartitionFaultKind(), KillFaultKind(),
                                               PauseFaultKind(), AmnesiaFaultKind(),
                                               PacketFaultKind()};
  return kinds;
}

const FaultKind* FindFaultKind(const std::string& name) {
  for (const FaultKind& kind : FaultKinds()) {
    if (kind.name == name) return &kind;
  }
  return nullptr;
}

}  // namespace faultline::nemesis
