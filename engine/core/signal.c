/* signal.c — SIGINT/SIGTERM → a flag polled by long-running loops (generate, train).
 * The handler only stores to a sig_atomic_t, which is async-signal-safe. */
#include "sl_signal.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t pending;
static int installed;
static struct sigaction old_int, old_term;

static void on_signal(int sig) {
  if (pending) {                       /* second request: give up on a graceful stop */
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  pending = sig;
}

void sl_signal_install(void) {
  if (installed) return;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  installed = 1;
}

void sl_signal_uninstall(void) {
  if (!installed) return;
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  installed = 0;
}

int  sl_signal_pending(void) { return pending; }
void sl_signal_clear(void) { pending = 0; }
