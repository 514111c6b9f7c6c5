package dev.vigil.server.probe;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

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
    /**
     * Shape mismatches whose retry showed no tap of another shape, after which the model's taps are no longer pinned.
     */
    static final int MAX_MISMATCHES = 3;
    /**
     * Times a tap's learned shape may turn out wrong before it is left to ORT: once may be a dim that only happened to
     * equal B or T; twice, from runs of different shapes, means it does not follow B and T ({@code B * heads}).
     */
    static final int MAX_TAP_MISMATCHES = 2;

    private final String model;
    private final OrtEnvironment env;
    private final int maxSets;
    private final TapMemoryBudget budget;
    /**
     * The one run at a time whose taps ORT allocates in full (no set: shapes not learned yet, pinning given up, or an
     * inspected request that found every set busy). How much such a run takes is not known before it runs, so more
     * than one at a time would be bounded only by the runs in flight.
     */
    private final Semaphore unpinnedRun = new Semaphore(1);
    /** Free sets per (B, T) key, in access order (least recently used first). */
    private final LinkedHashMap<Long, ArrayDeque<TapBufferSet>> free = new LinkedHashMap<>(8, 0.75f, true);
    private TapShapePattern pattern;
    /** Per tap, runs in which its learned shape was wrong. */
    private final Map<String, Integer> tapMismatches = new HashMap<>();
    /** Taps whose shapes do not follow B and T: ORT allocates them in every run. */
    private final Set<String> unpinnable = new HashSet<>();
    /** Mismatches whose retry showed no tap of another shape. */
    private int unexplained;
    private int retried;
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

    /**
     * Takes the model's one permit for a run without a buffer set, waiting up to {@code waitNanos}; false when another
     * such run holds it that long. Given back with {@link #endUnpinnedRun}.
     */
    boolean beginUnpinnedRun(long waitNanos) {
        try {
            return unpinnedRun.tryAcquire(waitNanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    void endUnpinnedRun() {
        unpinnedRun.release();
    }

    /**
     * Reserves room, shared by all models, for copies of taps that ORT allocated (copied out of the run's result to
     * the heap, so that the statistics can read them after the request); false when they do not fit.
     */
    boolean reserveCopies(long bytes) {
        return bytes == 0 || budget.reserveCopies(bytes);
    }

    void releaseCopies(long bytes) {
        if (bytes > 0) {
            budget.releaseCopies(bytes);
        }
    }

    /** Whether runs write their taps into this pool's buffers: the shapes are known. */
    synchronized boolean pinning() {
        return pattern != null && !closed;
    }

    /**
     * Learns the tap shapes from a run of {@code batch} x {@code tokens} whose taps ORT allocated, unless they are
     * known or pinning was given up. Taps found not to follow B and T are left out.
     *
     * @param shapes   the pinnable float taps of the run, with their shapes
     * @param declared a tap's shape as the graph declares it (negative dims open), or null
     */
    synchronized void learn(Map<String, long[]> shapes, Function<String, long[]> declared, int batch, int tokens) {
        if (pattern != null || unexplained >= MAX_MISMATCHES || closed) {
            return;
        }
        Map<String, long[]> pinnable = new LinkedHashMap<>(shapes);
        pinnable.keySet().removeAll(unpinnable);
        pattern = TapShapePattern.learn(pinnable, declared, batch, tokens);
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
     * were wrong. They are forgotten, with every free set, and learned again from the run ORT allocated; a tap whose
     * shape was wrong {@value #MAX_TAP_MISMATCHES} times is no longer pinned.
     *
     * @param actual the shapes of the taps in the retry (same B and T), to tell which tap's learned shape was wrong
     */
    synchronized void mismatch(TapBufferSet set, OrtException failure, Map<String, long[]> actual) {
        if (set.generation() != generation) {
            return; // another request already reported these shapes
        }
        for (ArrayDeque<TapBufferSet> sets : free.values()) {
            live -= closeAll(sets);
        }
        free.clear();
        pattern = null;
        generation++;
        List<String> wrong = new ArrayList<>();
        for (String tap : set.tensors().keySet()) {
            long[] shape = actual.get(tap);
            if (shape != null && !Arrays.equals(shape, set.shape(tap))) {
                wrong.add(tap);
                if (tapMismatches.merge(tap, 1, Integer::sum) >= MAX_TAP_MISMATCHES) {
                    unpinnable.add(tap);
                }
            }
        }
        retried++;
        if (wrong.isEmpty()) {
            unexplained++;
        }
        LOG.info("Model '{}': a run with reused tap buffers failed and was retried ({}); {}", model,
                wrong.isEmpty() ? failure.getMessage() : "learned shapes wrong for " + wrong,
                unexplained >= MAX_MISMATCHES ? "taps are no longer pinned" : "tap shapes will be learned again"
                        + (unpinnable.isEmpty() ? "" : ", taps left to ONNX Runtime: " + unpinnable));
    }

    /** Runs that failed with reused tap buffers and were retried with ORT-allocated taps. */
    synchronized int mismatches() {
        return retried;
    }

    /** Taps left to ORT because their shapes do not follow B and T. */
    synchronized Set<String> unpinnable() {
        return Set.copyOf(unpinnable);
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
