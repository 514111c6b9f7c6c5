package dev.vigil.server.probe;

import dev.vigil.probes.stats.ProbedBatch;
import dev.vigil.probes.stats.ReducedBatch;
import io.prometheus.metrics.core.metrics.Histogram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The one thread that feeds probed requests to their models' statistics ({@code ModelProbe.observe} is
 * single-threaded), from a bounded queue so that a request never waits for statistics: a full queue drops the
 * request from the statistics and counts it in {@code vigil_probe_dropped_total}.
 */
final class ProbeWorker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProbeWorker.class);

    /** A probed request: its tapped tensors ({@code batch}) or its in-graph reductions ({@code reduced}). */
    private record Job(ProbedModel model, ProbedBatch batch, ReducedBatch reduced, Runnable done) {
    }

    private final BlockingQueue<Job> queue;
    private final Histogram duration;
    private final Thread thread;
    private volatile boolean running = true;

    /**
     * @param capacity probed requests that may wait for the worker
     * @param duration {@code vigil_probe_duration_seconds}, labelled by model
     */
    ProbeWorker(int capacity, Histogram duration) {
        if (capacity < 1) {
            throw new IllegalArgumentException("probe queue capacity must be positive, got " + capacity);
        }
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.duration = duration;
        this.thread = new Thread(this::loop, "vigil-probe-worker");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Queues a probed request; false (and counted as dropped) when the queue is full.
     *
     * @param done run once the request was observed (gives its tap buffers back); not run when not queued
     */
    boolean submit(ProbedModel model, ProbedBatch batch, Runnable done) {
        if (queue.offer(new Job(model, batch, null, done))) {
            return true;
        }
        model.drop();
        return false;
    }

    /** Queues a request reduced in the graph; false (and counted as dropped) when the queue is full. */
    boolean submit(ProbedModel model, ReducedBatch reduced) {
        if (queue.offer(new Job(model, null, reduced, () -> { }))) {
            return true;
        }
        model.drop();
        return false;
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
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Job job = queue.poll(); job != null; job = queue.poll()) {
            job.done().run();
        }
    }
}
