package dev.vigil.server.memory;

import dev.vigil.server.errors.ApiException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The memory one request holds: bytes reserved from the shared {@link MemoryBudget} before they are taken, and the
 * direct buffers allocated for its decoded tensors. Closing it frees every buffer at once and returns every byte
 * to the budget: nothing may use the buffers afterwards, so nothing may keep a request's tensors past its end
 * (where something might, {@link #leaveBuffersToCollector()} first).
 */
public final class RequestMemory implements AutoCloseable {
    private final MemoryBudget budget;
    private final List<ByteBuffer> buffers = new ArrayList<>();
    private long held;
    private boolean closed;
    private boolean collectorFrees;

    public RequestMemory(MemoryBudget budget) {
        this.budget = budget;
    }

    /** Memory outside any budget, for callers without one; its buffers are freed on close all the same. */
    public static RequestMemory unbounded() {
        return new RequestMemory(new MemoryBudget(Long.MAX_VALUE));
    }

    /**
     * Reserves bytes for this request.
     *
     * @throws ApiException 413 when this request alone would need more than the whole budget, 503 when the budget
     *                      is taken by other requests now
     */
    public synchronized void reserve(long bytes) {
        if (closed) {
            throw new IllegalStateException("request memory is closed");
        }
        if (bytes > budget.limit() - held) {
            throw new ApiException(413, "the request needs " + (held + bytes) + " bytes for its body and decoded "
                    + "tensors, more than the whole request memory budget of " + budget.limit()
                    + " bytes (--body-budget-mb)");
        }
        if (!budget.tryReserve(bytes)) {
            throw ApiException.overloaded("server overloaded: requests in progress hold " + budget.used() + " of the "
                    + budget.limit() + " bytes of the request memory budget (--body-budget-mb); retry later");
        }
        held += bytes;
    }

    /**
     * A direct little-endian buffer of exactly {@code bytes}, reserved from the budget first.
     *
     * @throws ApiException 413 or 503 as {@link #reserve} does
     */
    public synchronized ByteBuffer allocateDirect(int bytes) {
        reserve(bytes);
        ByteBuffer b;
        try {
            b = ByteBuffer.allocateDirect(bytes);
        } catch (OutOfMemoryError e) {
            unreserve(bytes);
            throw ApiException.overloaded("server overloaded: no direct memory for " + bytes + " bytes "
                    + "(-XX:MaxDirectMemorySize)");
        }
        buffers.add(b);
        return b.order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Frees a buffer from {@link #allocateDirect} before the request ends (one outgrown, say). */
    public synchronized void free(ByteBuffer buffer) {
        for (int i = buffers.size() - 1; i >= 0; i--) {
            if (buffers.get(i) == buffer) {
                buffers.remove(i);
                DirectBuffers.free(buffer);
                unreserve(buffer.capacity());
                return;
            }
        }
        throw new IllegalArgumentException("not a buffer of this request");
    }

    /**
     * Leaves the buffers to the garbage collector instead of freeing them on close, for a request whose tensors
     * may still be referenced after it ends (one that gave up waiting in a queue). The budget is still released.
     */
    public synchronized void leaveBuffersToCollector() {
        collectorFrees = true;
    }

    /** The bytes this request holds now. */
    public synchronized long held() {
        return held;
    }

    private void unreserve(long bytes) {
        held -= bytes;
        budget.release(bytes);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!collectorFrees) {
            for (ByteBuffer b : buffers) {
                DirectBuffers.free(b);
            }
        }
        buffers.clear();
        budget.release(held);
        held = 0;
    }
}
