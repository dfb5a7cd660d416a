/* state.c: storage for the process-wide state declared in state.h. */
#include "state.h"

_Atomic int ag_phase = AG_UNINIT;
ag_config_t ag_config;
uint64_t ag_start_ns;
pid_t ag_pid;
pid_t ag_ppid;
__thread ag_hook_t ag_hook __attribute__((tls_model("initial-exec")));
__thread int ag_unsafe __attribute__((tls_model("initial-exec")));
