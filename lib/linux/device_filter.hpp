// The cgroup v2 device controller is an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE)
// attached to the cgroup. This builds that program from the runtime-spec's
// ordered device rules with v1 semantics: the last rule that matches decides,
// nothing matched means deny.
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "core/fd.hpp"
#include "oci/runtime_spec.hpp"

namespace ctk::linux::cgroup {

std::vector<bpf_insn> device_filter_program(const std::vector<oci::DeviceCgroup>& rules);
// bpf(BPF_PROG_LOAD); the verifier's log is in the error when it refuses.
UniqueFd load_device_filter(const std::vector<bpf_insn>& program);
// bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) on a cgroup2 directory fd.
void attach_device_filter(int cgroup_fd, int program_fd);

} // namespace ctk::linux::cgroup
