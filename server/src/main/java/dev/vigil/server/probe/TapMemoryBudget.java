package dev.vigil.server.probe;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The direct memory that all models' tap buffers may hold together. Without it, each model keeps the free buffer
 * sets of its recent batch shapes, and a model that saw a burst of long sequences hoards memory that another model
 * then cannot get (every request of the other model would go unprobed). When a reservation does not fit, free
 * sets of any model are closed, least recently used shape first, before the reservation is refused. Thread-safe;
 * lock-free itself, and it never holds a lock while it asks a pool to free a set.
 */
final class TapMemoryBudget {
    private final long limitBytes;
    private final AtomicLong usedBytes = new AtomicLong();
    private final List<TapBufferPool> pools = new CopyOnWriteArrayList<>();

    /** @param limitBytes the most bytes of tap buffers that may exist at once, over every model */
    TapMemoryBudget(long limitBytes) {
        if (limitBytes <= 0) {
            throw new IllegalArgumentException("tap buffer memory must be positive, got " + limitBytes);
        }
        this.limitBytes = limitBytes;
    }

    void register(TapBufferPool pool) {
        pools.add(pool);
    }

    void unregister(TapBufferPool pool) {
        pools.remove(pool);
    }

    /**
     * Reserves {@code bytes}, freeing other sets that are not in use when needed. Must not be called while holding
     * a pool's lock.
     *
     * @return false when even with every free set closed the reservation does not fit
     */
    boolean reserve(long bytes) {
        while (true) {
            long used = usedBytes.get();
            if (used + bytes <= limitBytes) {
                if (usedBytes.compareAndSet(used, used + bytes)) {
                    return true;
                }
                continue;
            }
            if (!freeOne()) {
                return false;
            }
        }
    }

    void release(long bytes) {
        usedBytes.addAndGet(-bytes);
    }

    long usedBytes() {
        return usedBytes.get();
    }

    private boolean freeOne() {
        for (TapBufferPool pool : pools) {
            if (pool.closeOneFree()) {
                return true;
            }
        }
        return false;
    }
}
