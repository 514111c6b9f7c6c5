package dev.vigil.server.serving;

import dev.vigil.server.errors.ApiException;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounds concurrent inference: at most {@code maxInflight} requests run, at most {@code maxQueue} wait for a
 * slot, and any more are refused at once (503) instead of piling up.
 */
public final class AdmissionControl {
    private final Semaphore slots;
    private final AtomicInteger waiting = new AtomicInteger();
    private final int maxInflight;
    private final int maxQueue;
    private final long maxWaitMillis;

    public AdmissionControl(int maxInflight, int maxQueue, long maxWaitMillis) {
        this.slots = new Semaphore(maxInflight, true);
        this.maxInflight = maxInflight;
        this.maxQueue = maxQueue;
        this.maxWaitMillis = maxWaitMillis;
    }

    /** Requests waiting for a slot now. */
    public int queued() {
        return waiting.get();
    }

    /** A held slot; closing it frees the slot. */
    public interface Permit extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Takes a slot, waiting in the bounded queue when all are busy.
     *
     * @throws ApiException 503 when the queue is full or the wait times out
     */
    public Permit acquire() {
        if (!slots.tryAcquire()) {
            if (waiting.incrementAndGet() > maxQueue) {
                waiting.decrementAndGet();
                throw ApiException.overloaded("server overloaded: " + maxInflight + " requests in flight and "
                        + maxQueue + " waiting (max_inflight / max_queue)");
            }
            try {
                if (!slots.tryAcquire(maxWaitMillis, TimeUnit.MILLISECONDS)) {
                    throw ApiException.overloaded("server overloaded: no inference slot free within "
                            + maxWaitMillis + " ms");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ApiException.overloaded("interrupted while waiting for an inference slot");
            } finally {
                waiting.decrementAndGet();
            }
        }
        return slots::release;
    }
}
