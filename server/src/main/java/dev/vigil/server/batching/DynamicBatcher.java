package dev.vigil.server.batching;

import dev.vigil.server.errors.ApiException;
import dev.vigil.server.protocol.InferResponse;
import dev.vigil.server.serving.AdmissionControl;
import dev.vigil.server.serving.InferenceService;
import dev.vigil.server.serving.PreparedRequest;
import dev.vigil.server.serving.ServedModel;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One model's dynamic batcher (Triton's semantics): requests wait in a bounded queue; one thread takes the oldest
 * and the compatible requests behind it, up to {@code max_batch_size} rows, and runs them as one batch as soon as
 * the batch reaches {@code max_batch_size} or a preferred size, or when the oldest request has waited
 * {@code max_queue_delay_us}. One batch at a time; the next batch gathers meanwhile. On a CPU a batch of padded
 * token requests runs as several runs of similar length, side by side, when that computes fewer padding tokens
 * than it costs in extra runs, and in runs of at most {@link CpuRuns#maxRunTokens()} padded tokens
 * ({@link LengthGroups}); a padded request of at least {@link CpuRuns#aloneFromTokens()} tokens skips the queue and
 * runs alone at once, on its own thread, as it would unbatched.
 */
public final class DynamicBatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DynamicBatcher.class);
    /** How long a request thread waits for its batch before giving up (a run never takes this long here). */
    private static final long MAX_WAIT_SECONDS = 300;

    private final ServedModel model;
    private final InferenceService inference;
    private final AdmissionControl admission;
    private final DynamicBatching settings;
    private final BatchAssembler assembler;
    private final DistributionDataPoint queueDelay;
    private final long delayNanos;
    private final CpuRuns cpu;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    private final Thread thread;
    /** Runs the runs of a batch after its first, beside it; idle threads end after a minute. */
    private final ExecutorService runners;
    private boolean closed;

    /** A queued request; {@code length} is its token length when its key is padded, else 0. */
    private record Pending(PreparedRequest request, Object key, int length, long enqueued,
                           CompletableFuture<InferResponse> result) {
    }

    /**
     * @param splitByLength whether a padded batch may run as several runs of similar length (on a CPU, where a run
     *                      costs about its padded tokens; on a GPU it costs about the same at any batch size)
     * @throws IllegalArgumentException when the model's tensors cannot be split by rows (then it is not batched)
     */
    DynamicBatcher(ServedModel model, InferenceService inference, AdmissionControl admission,
                   DistributionDataPoint queueDelay, boolean splitByLength) {
        this.model = model;
        this.inference = inference;
        this.admission = admission;
        this.settings = model.config().dynamicBatching();
        this.assembler = new BatchAssembler(model);
        this.queueDelay = queueDelay;
        this.delayNanos = TimeUnit.MICROSECONDS.toNanos(settings.maxQueueDelayUs());
        this.cpu = splitByLength ? settings.cpu() : null;
        this.runners = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "vigil-batch-run-" + model.name());
            t.setDaemon(true);
            return t;
        });
        this.thread = new Thread(this::loop, "vigil-batcher-" + model.name());
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Runs a request in the next batch it fits and waits for its response.
     *
     * @throws ApiException 503 when the queue is full or the server is stopping; the run's own errors
     */
    public InferResponse infer(PreparedRequest request) {
        Object key = assembler.key(request);
        int length = BatchAssembler.padded(key) ? assembler.length(request) : 0;
        if (cpu != null && cpu.alone(length)) {
            // merging sequences this long saves no CPU: run it now, beside the batches, as it would run unbatched
            queueDelay.observe(0);
            try (AdmissionControl.Permit ignored = admission.acquire()) {
                return inference.run(model, request);
            }
        }
        Pending p = new Pending(request, key, length, System.nanoTime(), new CompletableFuture<>());
        lock.lock();
        try {
            if (closed) {
                throw ApiException.unavailable("model '" + model.name() + "' is shutting down");
            }
            if (queue.size() >= settings.maxQueueSize()) {
                throw ApiException.overloaded("server overloaded: model '" + model.name() + "' has "
                        + queue.size() + " requests waiting for a batch (dynamic_batching.max_queue_size)");
            }
            queue.addLast(p);
            changed.signal();
        } finally {
            lock.unlock();
        }
        try {
            return p.result().get(MAX_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ApiException api) {
                throw api;
            }
            throw new ApiException(500, "model '" + model.name() + "' batch failed: " + e.getCause());
        } catch (TimeoutException e) {
            throw ApiException.overloaded("model '" + model.name() + "' did not run the request within "
                    + MAX_WAIT_SECONDS + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.overloaded("interrupted while waiting for a batch");
        }
    }

    private void loop() {
        while (true) {
            List<Pending> batch;
            try {
                batch = nextBatch();
            } catch (InterruptedException e) {
                return;
            }
            if (batch == null) {
                return;
            }
            List<List<Pending>> runs = runs(batch);
            // the runs of one batch go side by side (each takes its own admission slot), and the next batch waits
            // for all of them: run after run, the cores idled between runs and the batch got one run's share of a
            // busy machine
            List<CompletableFuture<Void>> others = new ArrayList<>(runs.size() - 1);
            for (int i = 1; i < runs.size(); i++) {
                List<Pending> run = runs.get(i);
                others.add(CompletableFuture.runAsync(() -> runTogether(run), runners));
            }
            runTogether(runs.get(0));
            for (CompletableFuture<Void> other : others) {
                other.join();
            }
        }
    }

    /** Waits until a batch is due and takes it out of the queue; null once closed and drained. */
    private List<Pending> nextBatch() throws InterruptedException {
        lock.lock();
        try {
            while (queue.isEmpty() && !closed) {
                changed.await();
            }
            if (queue.isEmpty()) {
                return null;
            }
            while (true) {
                Pending first = queue.peekFirst();
                Gathered g = gather(first);
                long wait = first.enqueued() + delayNanos - System.nanoTime();
                if (first.key() == BatchAssembler.ALONE || g.full()
                        || settings.preferredBatchSizes().contains(g.rows()) || wait <= 0 || closed) {
                    queue.removeAll(g.batch());
                    return g.batch();
                }
                // not due yet: wait for more requests or for the oldest one's delay
                changed.awaitNanos(wait);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * A batch as it stands.
     *
     * @param full whether it cannot grow: max_batch_size reached, or the next compatible request does not fit
     */
    private record Gathered(List<Pending> batch, int rows, boolean full) {
    }

    /** The oldest request and the compatible ones behind it, in arrival order, as long as their rows fit. */
    private Gathered gather(Pending first) {
        List<Pending> batch = new ArrayList<>();
        batch.add(first);
        int rows = first.request().rows();
        if (first.key() == BatchAssembler.ALONE) {
            return new Gathered(batch, rows, true);
        }
        for (Pending p : queue) {
            if (p == first || !Objects.equals(p.key(), first.key())) {
                continue;
            }
            if (rows + p.request().rows() > model.maxBatchSize()) {
                return new Gathered(batch, rows, true);
            }
            rows += p.request().rows();
            batch.add(p);
        }
        return new Gathered(batch, rows, rows >= model.maxBatchSize());
    }

    /** The runs of a batch taken from the queue: the batch itself, or on a CPU runs of similar length. */
    private List<List<Pending>> runs(List<Pending> batch) {
        if (cpu == null || batch.size() < 2 || !BatchAssembler.padded(batch.get(0).key())) {
            return List.of(batch);
        }
        int[] lengths = new int[batch.size()];
        int[] rows = new int[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            lengths[i] = batch.get(i).length();
            rows[i] = batch.get(i).request().rows();
        }
        List<List<Pending>> runs = new ArrayList<>();
        for (int[] group : LengthGroups.split(lengths, rows, cpu.runCostTokens(), cpu.maxRunTokens())) {
            List<Pending> part = new ArrayList<>(group.length);
            for (int i : group) {
                part.add(batch.get(i));
            }
            runs.add(part);
        }
        return runs;
    }

    private void runTogether(List<Pending> batch) {
        long start = System.nanoTime();
        for (Pending p : batch) {
            queueDelay.observe((start - p.enqueued()) / 1e9);
        }
        try (AdmissionControl.Permit ignored = admission.acquire()) {
            List<InferResponse> responses;
            if (batch.size() == 1) {
                responses = List.of(inference.run(model, batch.get(0).request()));
            } else {
                List<PreparedRequest> requests = new ArrayList<>(batch.size());
                for (Pending p : batch) {
                    requests.add(p.request());
                }
                responses = assembler.run(inference, requests);
            }
            for (int i = 0; i < batch.size(); i++) {
                batch.get(i).result().complete(responses.get(i));
            }
        } catch (RuntimeException | Error e) {
            if (!(e instanceof ApiException)) {
                LOG.error("Model '{}': a batch of {} requests failed", model.name(), batch.size(), e);
            }
            for (Pending p : batch) {
                p.result().completeExceptionally(e);
            }
        }
    }

    /** Stops taking requests, runs those already queued, and ends the thread. */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        runners.shutdown();
        try {
            // the models' sessions are closed after this: no batch may still be running in them
            runners.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
