// watchdog.h — no silent hangs, and a clean stop on SIGTERM.
// The watchdog is a thread that ends the process when the main loop has not called
// fx_watchdog_beat() for longer than its timeout, after logging which rank and role stalled and
// in what. Under mpirun a rank that exits without MPI_Finalize makes mpirun end the whole job, so
// a stall anywhere becomes a job failure with a message instead of a hang.
// SIGTERM and SIGINT (what Slurm sends ahead of a time limit or preemption, and Ctrl-C) only set
// a flag: loops poll fx_stop_requested() at safe points, write a checkpoint, and exit. SIGUSR1
// asks for an export of the model being trained (fx_export_requested()).
#ifndef FLUXRL_WATCHDOG_H
#define FLUXRL_WATCHDOG_H

#include <stdbool.h>

// Starts the watchdog (timeout_s <= 0: none). `what` names the work in the message.
void fx_watchdog_start(double timeout_s, const char *what);
// The main loop is alive; `what` (may be NULL: unchanged) names what it does next.
void fx_watchdog_beat(const char *what);
void fx_watchdog_stop(void);

void fx_signals_install(void);
bool fx_stop_requested(void);
int fx_stop_signal(void); // the signal that asked, 0 when none
// A stop requested by other means than a signal to this process (another rank received it): as if
// `sig` had arrived here, unless a stop is already requested.
void fx_stop_raise(int sig);
// Forgets a stop request that has been handled (a test that stops a loop and then resumes it).
void fx_stop_clear(void);
// SIGUSR1 asks a training loop to export its model (as a Hugging Face folder) at the next safe
// point; true once per request.
bool fx_export_requested(void);

#endif
