package dev.vigil.server.shadow;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.probes.OnnxModels;
import dev.vigil.probes.stats.ProbeSnapshot;
import dev.vigil.probes.stats.TapTensor;
import dev.vigil.server.serving.SessionFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * Runs the shadow models on one low-priority thread with a queue of one, never on a request's thread: a sampled
 * request that finds the machine busy (the shadow thread occupied with a run waiting, or requests waiting for an
 * inference slot) is skipped and counted. Before a run, the model's shadow model is (re)built when it has none, or when
 * a newer window has closed and {@code rebuild_seconds} have passed since the last build.
 */
public final class ShadowRunner implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ShadowRunner.class);
    /** Shadow runs waiting beside the one running; more are skipped. */
    public static final int QUEUE = 1;
    /** The most shadow jobs held at once (running and waiting): each holds a tap buffer set of its model. */
    public static final int HELD = QUEUE + 1;

    private final ThreadPoolExecutor executor;
    private volatile SessionFactory sessions;
    private volatile Function<String, Path> modelFiles;
    private volatile BooleanSupplier serverBusy = () -> false;

    public ShadowRunner() {
        this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(QUEUE), r -> {
            Thread t = new Thread(r, "vigil-shadow");
            t.setDaemon(true);
            t.setPriority(Thread.MIN_PRIORITY);
            return t;
        }, new ThreadPoolExecutor.AbortPolicy());
    }

    /**
     * Starts shadowing: until this is called no request is shadowed.
     *
     * @param sessions   makes the shadow sessions (on the server's device)
     * @param modelFiles a model's name → its model.onnx (the source of each export)
     * @param busy       whether requests are waiting for an inference slot
     */
    public void start(SessionFactory sessions, Function<String, Path> modelFiles, BooleanSupplier busy) {
        this.modelFiles = modelFiles;
        this.serverBusy = busy;
        this.sessions = sessions;
    }

    /**
     * Whether a probed request of {@code model} is shadowed: sampled at the model's shadow rate once a window has
     * closed, a shadow model exists or can be built, and the machine is not busy. A sampled request refused here is
     * counted as skipped. Called on the request's thread: cheap, no lock.
     */
    public boolean wants(ShadowedModel model) {
        if (sessions == null) {
            return false;
        }
        double rate = model.settings().sampleRate();
        boolean sampled = rate >= 1.0 || (rate > 0.0 && ThreadLocalRandom.current().nextDouble() < rate);
        if (!sampled || model.probe().closedWindows() == 0) {
            return false;
        }
        // sampled but not shadowed: counted, so that shadowed + skipped is every sampled request
        if (!model.runnable() || busy()) {
            model.countSkipped();
            return false;
        }
        return true;
    }

    private boolean busy() {
        return executor.getQueue().remainingCapacity() == 0 || serverBusy.getAsBoolean();
    }

    /** Queues a shadow run; when the queue is full the request is counted as skipped and its buffers given back. */
    public void submit(ShadowJob job) {
        try {
            executor.execute(() -> run(job));
        } catch (RejectedExecutionException e) {
            job.model().countSkipped();
            job.release().run();
        }
    }

    private void run(ShadowJob job) {
        ShadowedModel model = job.model();
        try {
            ShadowModel shadow = current(model);
            if (shadow == null) {
                model.countSkipped();
                return;
            }
            compare(job, shadow);
            model.countShadowed();
        } catch (OrtException | RuntimeException e) {
            model.countSkipped();
            LOG.warn("Model '{}': shadow run failed: {}", model.name(), e.getMessage());
        } finally {
            job.release().run();
        }
    }

    /** Runs the shadow model on the job's inputs and adds the comparison to the model's measurements. */
    private static void compare(ShadowJob job, ShadowModel shadow) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            for (Map.Entry<String, ShadowJob.Input> e : job.inputs().entrySet()) {
                ShadowJob.Input in = e.getValue();
                feeds.put(e.getKey(), OnnxTensor.createTensor(env, in.data(), in.shape(), in.type()));
            }
            Set<String> wanted = new LinkedHashSet<>(job.model().stats().outputs());
            wanted.addAll(shadow.dequantized().values());
            try (OrtSession.Result result = shadow.session().run(feeds, wanted)) {
                Map<String, TapTensor> sites = new HashMap<>();
                for (Map.Entry<String, String> e : shadow.dequantized().entrySet()) {
                    OnnxValue v = result.get(e.getValue()).orElseThrow();
                    OnnxTensor t = (OnnxTensor) v;
                    sites.put(e.getKey(), new TapTensor(t.getFloatBuffer(), t.getInfo().getShape()));
                }
                Map<String, TapTensor> outputs = ShadowJob.floats(result, job.model().stats().outputs());
                job.model().stats().add(job.batch(), sites, job.outputs(), outputs);
            }
        } finally {
            for (OnnxTensor t : feeds.values()) {
                t.close();
            }
        }
    }

    /**
     * The model's shadow model, built first when it has none or when a newer window has closed and
     * {@code rebuild_seconds} have passed since the last build; null when none could be built. Shadow thread only.
     */
    private ShadowModel current(ShadowedModel model) throws OrtException {
        ShadowModel current = model.current();
        if (current != null && System.nanoTime() - current.builtAtNanos()
                < TimeUnit.SECONDS.toNanos(model.settings().rebuildSeconds())) {
            return current;
        }
        long latest = model.probe().closedWindows() - 1;
        if (latest < 0 || latest <= model.triedWindow() || (current != null && latest <= current.window())) {
            return current;
        }
        ProbeSnapshot snapshot = model.probe().snapshot();
        if (!snapshot.window().closed()) {
            return current;
        }
        model.tried(snapshot.window().index());
        ModelProto source;
        try {
            source = OnnxModels.read(modelFiles.apply(model.name()));
        } catch (java.io.UncheckedIOException | IllegalArgumentException e) {
            LOG.warn("Model '{}': shadow model not built: the model file can no longer be read", model.name());
            return current;
        }
        ShadowModel next;
        try {
            next = ShadowModel.build(model.name(), source, snapshot, model.settings(), sessions);
        } catch (IllegalArgumentException | OrtException e) {
            LOG.warn("Model '{}': shadow model not built from window {}: {}", model.name(),
                    snapshot.window().index(), e.getMessage());
            return current;
        }
        model.replace(next);
        LOG.info("Model '{}': shadow int8 model built from window {} ({} sites quantized)", model.name(),
                next.window(), next.quantizedSites().size());
        return next;
    }

    @Override
    public void close() {
        stop();
    }

    /**
     * Stops the shadow thread, waiting up to 10 s for a shadow run in progress.
     *
     * @return whether the thread has stopped: only then may the shadow models' sessions be closed
     */
    public boolean stop() {
        executor.shutdownNow();
        try {
            return executor.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
