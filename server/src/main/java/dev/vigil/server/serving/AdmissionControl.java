package dev.vigil.server.serving;

import dev.vigil.server.errors.ApiException;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounds concurrent inference: at most {@code maxInflight} requests run, at most {@code maxQueue} wait for a
 * slot, and any more are refused at once (503) instead of piling up. Closed when the server stops: no run starts,
 * and the server waits for the running ones before it closes the models' sessions (a session closed under a run
 * crashes ONNX Runtime).
 */
public final class AdmissionControl {
    private final Semaphore slots;
    private final AtomicInteger waiting = new AtomicInteger();
    private final int maxInflight;
    private final int maxQueue;
    private final long maxWaitMillis;
    private volatile boolean closed;

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
        if (closed) {
            throw ApiException.unavailable("the server is shutting down; send the request to another replica");
        }
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

    /**
     * Refuses every later {@link #acquire} (503) and waits up to {@code timeoutMs} for the runs that hold a slot to
     * end.
     *
     * @return whether no run holds a slot any more
     */
    public boolean close(long timeoutMs) {
        closed = true;
        try {
            if (slots.tryAcquire(maxInflight, Math.max(0, timeoutMs), TimeUnit.MILLISECONDS)) {
                slots.release(maxInflight);
                return true;
            }
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
