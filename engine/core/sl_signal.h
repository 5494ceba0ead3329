/* sl_signal.h — cooperative interruption: SIGINT/SIGTERM set a flag that long loops poll, so
 * work stops at a safe point (rows flushed, files closed, checkpoint written) instead of dying
 * mid-write. */
#ifndef SL_SIGNAL_H
#define SL_SIGNAL_H

/* Installs the handlers (idempotent).  A second SIGINT while one is pending restores the default
 * action and re-raises, so an unresponsive program can still be stopped. */
void sl_signal_install(void);
void sl_signal_uninstall(void);
/* 0 when no signal arrived, else the signal number (SIGINT=2, SIGTERM=15). */
int  sl_signal_pending(void);
void sl_signal_clear(void);

#endif
