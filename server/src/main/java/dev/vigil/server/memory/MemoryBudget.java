package dev.vigil.server.memory;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A byte budget shared by every request in progress: the bodies being read and the tensors decoded from them. Bytes
 * are reserved before the memory is taken and released when the request ends, so the total stays under the limit
 * by construction.
 */
public final class MemoryBudget {
    private final long limit;
    private final AtomicLong used = new AtomicLong();

    /** @param limit the bytes all requests may hold together */
    public MemoryBudget(long limit) {
        if (limit <= 0) {
            throw new IllegalArgumentException("memory budget must be positive");
        }
        this.limit = limit;
    }

    /** The bytes all requests may hold together. */
    public long limit() {
        return limit;
    }

    /** The bytes reserved now. */
    public long used() {
        return used.get();
    }

    /** Reserves the bytes when they fit under the limit; false (and nothing reserved) when they do not. */
    boolean tryReserve(long bytes) {
        while (true) {
            long now = used.get();
            if (bytes > limit - now) {
                return false;
            }
            if (used.compareAndSet(now, now + bytes)) {
                return true;
            }
        }
    }

    void release(long bytes) {
        used.addAndGet(-bytes);
    }
}
