package dev.vigil.server.probe;

/**
 * How much probing work may wait, and for how long, before a sampled request is dropped from the statistics.
 *
 * @param queue   probed requests that may wait for a worker
 * @param workers threads that add probed requests to the statistics (each takes one model at a time)
 * @param waitMs  how long a sampled request may wait for a tap buffer set before its run, and for room in the queue
 *                after it; 0 drops at once
 * @param copyBytes the heap that copies of taps ONNX Runtime allocated may take at once, over every model, until the
 *                statistics have read them; a request whose copies do not fit is dropped
 */
public record ProbeCapacity(int queue, int workers, long waitMs, long copyBytes) {
    public ProbeCapacity {
        if (queue < 1 || workers < 1 || waitMs < 0 || copyBytes < 1) {
            throw new IllegalArgumentException("probe queue, workers and copy bytes must be positive and the wait not "
                    + "negative, got queue " + queue + ", workers " + workers + ", wait " + waitMs + " ms, copy bytes "
                    + copyBytes);
        }
    }

    /** With the default room for tap copies ({@code --probe-copy-mb}'s default). */
    public ProbeCapacity(int queue, int workers, long waitMs) {
        this(queue, workers, waitMs, TapMemoryBudget.DEFAULT_COPY_BYTES);
    }

    /** The wait in nanoseconds. */
    long waitNanos() {
        return waitMs * 1_000_000L;
    }
}
