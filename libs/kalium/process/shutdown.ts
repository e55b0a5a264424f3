import type { Logger } from '../log/logger.ts';

export interface ExitOnSignalsOptions {
  /**
   * Exit with code 1 if closing has not finished this long after the first signal (a close stuck
   * on an unreachable Redis, say). A function: the deadline starts once its promise resolves (a
   * worker's running job takes as long as it takes; what comes after it does not). Undefined: wait as
   * long as closing takes.
   */
  forceExitAfterMs?: number | (() => Promise<number>);
}

/**
 * SIGTERM or SIGINT closes gracefully (`close`), then exits 0; a second signal exits at once with 130.
 * A process supervised over IPC leaves SIGINT to its parent and closes when the parent goes.
 */
export function exitOnSignals(logger: Logger, close: () => Promise<void>, options: ExitOnSignalsOptions = {}): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = options.forceExitAfterMs;
    if (deadline !== undefined) {
      void (typeof deadline === 'number' ? Promise.resolve(deadline) : deadline()).then((ms) => {
        setTimeout(() => {
          logger.error({ ms }, 'shutdown did not finish in time: exiting now');
          process.exit(1);
        }, ms).unref();
      });
    }
    close().then(
      () => {
        logger.info('shut down');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  if (process.connected) {
    // A child of `kalium dev` or of a `--devices` worker (they talk over an IPC channel). Ctrl-C
    // sends SIGINT to the terminal's whole process group; the parent turns it into one SIGTERM for
    // each child, so a second signal here would cut the running job short. The parent gone (even by
    // kill -9) closes the channel: shut down as on SIGTERM.
    process.on('SIGINT', () => logger.debug('SIGINT ignored: the supervising kalium process sends SIGTERM'));
    process.removeAllListeners('disconnect'); // the CLI's exit-while-starting one
    process.on('disconnect', () => onSignal('SIGHUP'));
  } else {
    process.on('SIGINT', onSignal);
  }
}

/** Prints a start-up failure for humans (no stack for configuration mistakes) and exits 1. */
export function exitOnStartupError(error: unknown): never {
  const name = (error as Error | undefined)?.name;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`kalium: ${name === 'ConfigError' ? '' : 'start-up failed: '}${message}\n`);
  if (name !== 'ConfigError' && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exit(1);
}
