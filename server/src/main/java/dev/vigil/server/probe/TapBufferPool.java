package dev.vigil.server.probe;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One model's reusable tap buffers, so that a probed run makes ONNX Runtime write its taps into memory allocated
 * once instead of into fresh buffers that are then copied out. Until the model's {@link TapShapePattern} is learned
 * (from the first probed run whose taps ORT allocated) there are no buffers. Bounded: at most {@code maxSets} sets
 * exist at once (a set is in a run, waiting for the probe worker, or free), free sets are kept for at most
 * {@value #MAX_SHAPES} recent (B, T), least recently used first to go; when every set is busy, or the
 * {@link TapMemoryBudget} shared by all models has no room even after closing free sets, {@link #acquire} waits a
 * bounded time for a set to come back, then returns null rather than allocating more. Thread-safe.
 */
final class TapBufferPool implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TapBufferPool.class);
    static final int MAX_SHAPES = 4;
    /** Shape mismatches after which the model's taps are no longer pinned (its shapes do not follow B and T). */
    static final int MAX_MISMATCHES = 3;

    private final String model;
    private final OrtEnvironment env;
    private final int maxSets;
    private final TapMemoryBudget budget;
    /** Free sets per (B, T) key, in access order (least recently used first). */
    private final LinkedHashMap<Long, ArrayDeque<TapBufferSet>> free = new LinkedHashMap<>(8, 0.75f, true);
    private TapShapePattern pattern;
    private int mismatches;
    private int live;
    /** Bumped when the shapes are forgotten: busy sets of an older generation are closed when they come back. */
    private int generation;
    private boolean closed;

    /**
     * @param model   the model's name, for log lines
     * @param maxSets the most buffer sets that may exist at once (probe queue + runs in flight)
     * @param budget  the memory shared with the other models' pools; this pool registers itself
     */
    TapBufferPool(String model, OrtEnvironment env, int maxSets, TapMemoryBudget budget) {
        if (maxSets < 1) {
            throw new IllegalArgumentException("tap buffer sets must be positive, got " + maxSets);
        }
        this.model = model;
        this.env = env;
        this.maxSets = maxSets;
        this.budget = budget;
        budget.register(this);
    }

    /** Whether runs write their taps into this pool's buffers: the shapes are known. */
    synchronized boolean pinning() {
        return pattern != null && !closed;
    }

    /**
     * Learns the tap shapes from a run of {@code batch} x {@code tokens} whose taps ORT allocated, unless they are
     * known or pinning was given up.
     */
    synchronized void learn(Map<String, long[]> shapes, int batch, int tokens) {
        if (pattern != null || mismatches >= MAX_MISMATCHES || closed) {
            return;
        }
        pattern = TapShapePattern.learn(shapes, batch, tokens);
        if (pattern != null) {
            LOG.debug("Model '{}': tap buffers reused from now on; tap shapes {}", model, pattern);
        }
    }

    /**
     * A free set of buffers for a run of {@code batch} x {@code tokens}, allocated when none is free. When every one
     * of the {@code maxSets} sets is busy, or the memory for one is held by busy sets, waits up to {@code waitNanos}
     * for a set to come back (any model's: memory is shared). Null when the shapes are not known yet, the set can
     * never fit the memory budget, allocating it failed, or none came free in time.
     */
    TapBufferSet acquire(int batch, int tokens, long waitNanos) {
        long deadline = System.nanoTime() + waitNanos;
        while (true) {
            long releases = budget.releases();
            Attempt attempt = tryAcquire(batch, tokens);
            if (attempt.set() != null || attempt.hopeless()) {
                return attempt.set();
            }
            long left = deadline - System.nanoTime();
            try {
                if (left <= 0 || !budget.awaitRelease(releases, left)) {
                    LOG.debug("Model '{}': no tap buffer set for batch {} x {} tokens came free in time; this "
                            + "request is not probed", model, batch, tokens);
                    return null;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
    }

    /** A set, or null and whether waiting could help. */
    private record Attempt(TapBufferSet set, boolean hopeless) {
        static final Attempt BUSY = new Attempt(null, false);
        static final Attempt NEVER = new Attempt(null, true);
    }

    private Attempt tryAcquire(int batch, int tokens) {
        TapShapePattern shapes;
        int gen;
        synchronized (this) {
            if (pattern == null || closed) {
                return Attempt.NEVER;
            }
            ArrayDeque<TapBufferSet> sets = free.get(TapBufferSet.key(batch, tokens));
            if (sets != null && !sets.isEmpty()) {
                return new Attempt(sets.pop(), false);
            }
            if (live >= maxSets && !closeOneFree()) {
                return Attempt.BUSY;
            }
            live++;
            shapes = pattern;
            gen = generation;
        }
        // Outside this pool's lock: the budget may ask any pool, this one included, to close a free set.
        long bytes = TapBufferSet.bytes(shapes, batch, tokens);
        if (!budget.fits(bytes)) {
            unreserveSlot();
            LOG.warn("Model '{}': no tap buffers for batch {} x {} tokens: {} bytes exceed the tap buffer memory "
                    + "(--probe-buffer-mb); this request is not probed", model, batch, tokens, bytes);
            return Attempt.NEVER;
        }
        if (!budget.reserve(bytes)) {
            unreserveSlot();
            return Attempt.BUSY;
        }
        try {
            return new Attempt(TapBufferSet.allocate(env, shapes, batch, tokens, gen, budget, bytes), false);
        } catch (OrtException | OutOfMemoryError e) {
            budget.release(bytes);
            unreserveSlot();
            LOG.warn("Model '{}': no tap buffers for batch {} x {} tokens: {}", model, batch, tokens, e.toString());
            return Attempt.NEVER;
        }
    }

    private synchronized void unreserveSlot() {
        live--;
    }

    /** Returns a set after its request was observed (or not probed after all). */
    synchronized void release(TapBufferSet set) {
        if (closed || set.generation() != generation) {
            set.close();
            live--;
            return;
        }
        free.computeIfAbsent(set.key(), k -> new ArrayDeque<>()).push(set);
        while (free.size() > MAX_SHAPES) {
            Iterator<ArrayDeque<TapBufferSet>> eldest = free.values().iterator();
            live -= closeAll(eldest.next());
            eldest.remove();
        }
        budget.signalRelease();
    }

    /**
     * A run failed with {@code set} (already given back) and succeeded with ORT-allocated taps: the learned shapes
     * were wrong (a constant dim that equalled B or T). They are forgotten, with every free set, and learned again
     * from the run ORT allocated.
     */
    synchronized void mismatch(TapBufferSet set, OrtException failure) {
        if (set.generation() != generation) {
            return; // another request already reported these shapes
        }
        for (ArrayDeque<TapBufferSet> sets : free.values()) {
            live -= closeAll(sets);
        }
        free.clear();
        pattern = null;
        generation++;
        mismatches++;
        LOG.warn("Model '{}': a run with reused tap buffers failed ({}); {}", model, failure.getMessage(),
                mismatches >= MAX_MISMATCHES ? "taps are no longer pinned" : "tap shapes will be learned again");
    }

    /** Sets that exist now (busy or free). */
    synchronized int live() {
        return live;
    }

    /** Closes one free set, least recently used shape first; false when none is free. */
    synchronized boolean closeOneFree() {
        for (Iterator<ArrayDeque<TapBufferSet>> it = free.values().iterator(); it.hasNext(); ) {
            ArrayDeque<TapBufferSet> sets = it.next();
            if (!sets.isEmpty()) {
                sets.pop().close();
                live--;
                if (sets.isEmpty()) {
                    it.remove();
                }
                return true;
            }
        }
        return false;
    }

    private static int closeAll(ArrayDeque<TapBufferSet> sets) {
        int n = sets.size();
        sets.forEach(TapBufferSet::close);
        sets.clear();
        return n;
    }

    /** Frees every free set now; busy ones are freed as they come back. */
    @Override
    public synchronized void close() {
        closed = true;
        budget.unregister(this);
        for (ArrayDeque<TapBufferSet> sets : free.values()) {
            live -= closeAll(sets);
        }
        free.clear();
    }
}
