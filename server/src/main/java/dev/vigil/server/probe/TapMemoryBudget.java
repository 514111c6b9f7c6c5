package dev.vigil.server.probe;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The memory that all models' taps may hold together: the direct memory of the reused tap buffer sets, and, with a
 * limit of its own, the heap that copies of taps ONNX Runtime allocated take until the statistics have read them
 * ({@link #reserveCopies}). Without the first, each model keeps the free buffer sets of its recent batch shapes,
 * and a model that saw a burst of long sequences hoards memory that another model then cannot get (every request of
 * the other model would go unprobed). When a reservation does not fit, free
 * sets of any model are closed, least recently used shape first, before the reservation is refused. It is also
 * where requests wait for a set to come back ({@link #awaitRelease}). Thread-safe; it never holds a lock while it
 * asks a pool to free a set.
 */
final class TapMemoryBudget {
    /** The copy limit of {@link #TapMemoryBudget(long)}: {@code --probe-copy-mb}'s default. */
    static final long DEFAULT_COPY_BYTES = 256L << 20;

    private final long limitBytes;
    private final AtomicLong usedBytes = new AtomicLong();
    private final long copyLimitBytes;
    private final AtomicLong copyBytes = new AtomicLong();
    private final List<TapBufferPool> pools = new CopyOnWriteArrayList<>();
    /** Monitor of {@link #releases}, for requests waiting for a tap buffer set. */
    private final Object released = new Object();
    private long releases;

    /** @param limitBytes the most bytes of tap buffers that may exist at once, over every model */
    TapMemoryBudget(long limitBytes) {
        this(limitBytes, DEFAULT_COPY_BYTES);
    }

    /**
     * @param limitBytes     the most bytes of tap buffers that may exist at once, over every model
     * @param copyLimitBytes the most bytes of tap copies that may exist at once, over every model
     */
    TapMemoryBudget(long limitBytes, long copyLimitBytes) {
        if (limitBytes <= 0 || copyLimitBytes <= 0) {
            throw new IllegalArgumentException("tap buffer and tap copy memory must be positive, got " + limitBytes
                    + " and " + copyLimitBytes);
        }
        this.limitBytes = limitBytes;
        this.copyLimitBytes = copyLimitBytes;
    }

    /** Reserves {@code bytes} of tap copies; false (nothing reserved) when they do not fit beside the others. */
    boolean reserveCopies(long bytes) {
        while (true) {
            long used = copyBytes.get();
            if (used + bytes > copyLimitBytes) {
                return false;
            }
            if (copyBytes.compareAndSet(used, used + bytes)) {
                return true;
            }
        }
    }

    void releaseCopies(long bytes) {
        copyBytes.addAndGet(-bytes);
    }

    long copyBytes() {
        return copyBytes.get();
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
        signalRelease();
    }

    /** Whether {@code bytes} could fit at all, with every other set closed. */
    boolean fits(long bytes) {
        return bytes <= limitBytes;
    }

    /** Tells waiting {@link #awaitRelease} callers that a set came back to its pool or memory was freed. */
    void signalRelease() {
        synchronized (released) {
            releases++;
            released.notifyAll();
        }
    }

    /** The number of {@link #signalRelease} calls so far: read it before an attempt, then wait for it to change. */
    long releases() {
        synchronized (released) {
            return releases;
        }
    }

    /**
     * Waits until a set comes back or memory is freed after the attempt that read {@code seen} from {@link #releases},
     * at most {@code nanos}; false when none did in time. Must not be called while holding a pool's lock.
     */
    boolean awaitRelease(long seen, long nanos) throws InterruptedException {
        long deadline = System.nanoTime() + nanos;
        synchronized (released) {
            while (releases == seen) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(released, left);
            }
            return true;
        }
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
