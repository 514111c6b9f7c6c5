package dev.vigil.server.serving;

import java.util.concurrent.TimeUnit;

/**
 * The inference requests in progress, from their headers to their response's last byte, so that a server being
 * stopped lets them finish: once {@link #drain} begins, no request enters, and the ones in progress get until the
 * deadline. Thread-safe.
 */
public final class InflightRequests {
    private int inProgress;
    private boolean draining;

    /** Counts a request in; false (nothing counted) once the server is draining. */
    public synchronized boolean enter() {
        if (draining) {
            return false;
        }
        inProgress++;
        return true;
    }

    /** Counts a request out: it has ended, however it ended. */
    public synchronized void exit() {
        inProgress--;
        if (inProgress == 0) {
            notifyAll();
        }
    }

    /** Whether the server is draining: new requests are refused. */
    public synchronized boolean draining() {
        return draining;
    }

    /**
     * Refuses new requests from now on and waits up to {@code timeoutMs} for the ones in progress to end.
     *
     * @return the requests still in progress when it returned (0: drained)
     */
    public synchronized int drain(long timeoutMs) {
        draining = true;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        try {
            while (inProgress > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return inProgress;
    }
}
