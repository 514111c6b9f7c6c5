package dev.vigil.server.probe;

import dev.vigil.probes.stats.ProbedBatch;
import dev.vigil.probes.stats.ReducedBatch;
import io.prometheus.metrics.core.metrics.Histogram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The threads that feed probed requests to their models' statistics. A model's statistics take one request at a
 * time ({@code ModelProbe.observe} is single-threaded), so a worker that picks up a request of a model another
 * worker is observing leaves it to that worker (which takes it next) and moves on: several workers observe
 * different models at once, and one model's requests never hold up another's.
 *
 * <p>Bounded: at most {@code capacity} requests wait for a worker. A request that finds no room waits for it at most
 * {@code wait} (back-pressure when the workers are only momentarily behind: the request's response is delayed by at
 * most that much); after that it is dropped from the statistics and counted in {@code vigil_probe_dropped_total}.
 */
final class ProbeWorker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProbeWorker.class);

    /** A probed request: its tapped tensors ({@code batch}) or its in-graph reductions ({@code reduced}). */
    private record Job(ProbedModel model, ProbedBatch batch, ReducedBatch reduced, Runnable done) {
    }

    /** One permit per request that may wait for a worker. */
    private final Semaphore room;
    private final long waitNanos;
    /** Requests whose model no worker held when they were queued. */
    private final LinkedBlockingQueue<Job> queue = new LinkedBlockingQueue<>();
    /** Per model being observed, its requests that came in meanwhile, taken next by the same worker. */
    private final Map<ProbedModel, ArrayDeque<Job>> observing = new IdentityHashMap<>();
    private final Histogram duration;
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean running = true;

    /**
     * @param capacity probed requests that may wait for a worker
     * @param workers  worker threads
     * @param waitMs   how long a request may wait for room before it is dropped; 0 drops at once
     * @param duration {@code vigil_probe_duration_seconds}, labelled by model
     */
    ProbeWorker(int capacity, int workers, long waitMs, Histogram duration) {
        if (capacity < 1) {
            throw new IllegalArgumentException("probe queue capacity must be positive, got " + capacity);
        }
        if (workers < 1) {
            throw new IllegalArgumentException("probe workers must be positive, got " + workers);
        }
        if (waitMs < 0) {
            throw new IllegalArgumentException("probe wait must not be negative, got " + waitMs);
        }
        this.room = new Semaphore(capacity);
        this.waitNanos = TimeUnit.MILLISECONDS.toNanos(waitMs);
        this.duration = duration;
        for (int i = 0; i < workers; i++) {
            Thread thread = new Thread(this::loop, "vigil-probe-worker-" + i);
            thread.setDaemon(true);
            threads.add(thread);
            thread.start();
        }
    }

    /**
     * Queues a probed request, waiting up to the configured time for room; false (and counted as dropped) when there
     * is none by then.
     *
     * @param done run once the request was observed (gives its tap buffers back); not run when not queued
     */
    boolean submit(ProbedModel model, ProbedBatch batch, Runnable done) {
        return submit(new Job(model, batch, null, done));
    }

    /** Queues a request reduced in the graph, as {@link #submit(ProbedModel, ProbedBatch, Runnable)} does. */
    boolean submit(ProbedModel model, ReducedBatch reduced) {
        return submit(new Job(model, null, reduced, () -> { }));
    }

    private boolean submit(Job job) {
        boolean admitted = room.tryAcquire();
        if (!admitted && waitNanos > 0 && running) {
            try {
                admitted = room.tryAcquire(waitNanos, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (!admitted) {
            job.model().drop();
            return false;
        }
        queue.add(job);
        return true;
    }

    private void loop() {
        while (running) {
            Job job;
            try {
                job = queue.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (job == null) {
                continue;
            }
            synchronized (observing) {
                ArrayDeque<Job> waiting = observing.get(job.model());
                if (waiting != null) {
                    waiting.add(job);
                    continue;
                }
                observing.put(job.model(), new ArrayDeque<>());
            }
            ProbedModel model = job.model();
            while (job != null) {
                room.release();
                observe(job);
                synchronized (observing) {
                    job = observing.get(model).poll();
                    if (job == null) {
                        observing.remove(model);
                    }
                }
            }
        }
    }

    private void observe(Job job) {
        long t0 = System.nanoTime();
        try {
            if (job.reduced() != null) {
                job.model().probe().observeReduced(job.reduced());
            } else {
                job.model().probe().observe(job.batch());
            }
        } catch (RuntimeException e) {
            LOG.warn("Model '{}': probed request not added to the statistics: {}", job.model().name(),
                    e.getMessage());
        } finally {
            job.done().run();
        }
        duration.labelValues(job.model().name()).observe((System.nanoTime() - t0) / 1e9);
    }

    @Override
    public void close() {
        running = false;
        for (Thread thread : threads) {
            thread.interrupt();
        }
        for (Thread thread : threads) {
            try {
                thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (Job job = queue.poll(); job != null; job = queue.poll()) {
            job.done().run();
        }
        synchronized (observing) {
            for (ArrayDeque<Job> waiting : observing.values()) {
                waiting.forEach(j -> j.done().run());
            }
            observing.clear();
        }
    }
}
