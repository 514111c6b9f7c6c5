package dev.vigil.server.probe;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.probes.stats.ModelProbe;
import dev.vigil.probes.stats.ProbeSnapshot;
import dev.vigil.probes.stats.ProbedBatch;
import dev.vigil.server.protocol.TensorSpec;
import dev.vigil.server.serving.ServedModel;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Runs a probed model's statistics on a synthetic request before the server takes requests. Until the JIT has
 * compiled them, the statistics run interpreted (the SIMD kernels with an object per vector operation): the first
 * probed requests would then hold the probe workers for seconds each, the probe queue would fill and requests would
 * be dropped from the statistics. So at load the model runs once on {@value #BATCH} synthetic sequences of up to
 * {@value #MAX_TOKENS} tokens (the second one padded) with every tap, and its taps go through statistics of their own
 * (the model's are not touched), with windows closing every two runs and a snapshot after each, until the CPU time
 * per group of runs has settled or the time allowed is up.
 */
final class ProbeWarmUp {
    static final int BATCH = 2;
    static final int MAX_TOKENS = 128;
    /** Runs of the statistics before the time per run is looked at. */
    static final int MIN_RUNS = 30;
    /**
     * Runs timed together: windows close every second run, so single runs alternate between cheap ones and ones that
     * build a snapshot, and would never look alike.
     */
    static final int GROUP_RUNS = 4;
    /** Consecutive groups within {@link #SETTLED_RATIO} of the fastest group that count as settled. */
    static final int SETTLED_GROUPS = 3;
    private static final double SETTLED_RATIO = 1.5;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /**
     * What a warm-up did.
     *
     * @param runs    times the statistics took the synthetic request
     * @param batch   its sequences
     * @param tokens  its token axis
     * @param settled whether the time per run settled before the time allowed was up
     * @param nanos   the warm-up's time, the model run included
     * @param scratch what the warm-up's own statistics saw
     */
    record Result(int runs, int batch, int tokens, boolean settled, long nanos, ProbeSnapshot scratch) {
    }

    private ProbeWarmUp() {
    }

    /**
     * Warms {@code probed}'s statistics on a run of {@code model}.
     *
     * @param maxNanos the time allowed; the statistics run at least once
     * @throws OrtException             when the model does not run on the synthetic request
     * @throws IllegalArgumentException when an input's type has no synthetic values, or the taps do not fit the sites
     */
    static Result run(ProbedModel probed, ServedModel model, OrtEnvironment env, long maxNanos) throws OrtException {
        long start = System.nanoTime();
        int tokens = Math.min(model.maxSequenceLength(), MAX_TOKENS);
        int batch = Math.min(model.maxBatchSize(), BATCH);
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try {
            for (TensorSpec input : model.session().inputs()) {
                feeds.put(input.name(), synthetic(env, input, batch, tokens,
                        input.name().equals(probed.settings().attentionMaskInput())));
            }
            int[] bt = TapReader.batchAndTokens(probed, feeds);
            try (OrtSession.Result result = model.session().run(feeds, model.session().outputNames(),
                    probed.reducesInGraph() ? probed.reductions() : probed.taps())) {
                ModelProbe scratch;
                Runnable observe;
                if (probed.reducesInGraph()) {
                    var reduced = new ReducedRun(probed, bt[0], bt[1]).read(feeds, result);
                    scratch = scratch(probed, reduced.unmaskedTokens());
                    observe = () -> scratch.observeReduced(reduced);
                } else {
                    // the run teaches the buffer pool the tap shapes: the first served requests write in place
                    probed.buffers().learn(TapReader.allocatedShapes(probed.pinnableTaps(), result),
                            model.session()::declaredShape, bt[0], bt[1]);
                    ProbedBatch taps = TapReader.read(new ProbeTaps(probed, bt[0], bt[1], null), feeds, result);
                    scratch = scratch(probed, taps.unmaskedTokens());
                    observe = () -> scratch.observe(taps);
                }
                long deadline = start + maxNanos;
                long fastest = Long.MAX_VALUE;
                int runs = 0;
                int settledGroups = 0;
                long groupStart = cpuNanos();
                while (true) {
                    observe.run();
                    scratch.snapshot();
                    runs++;
                    if (runs % GROUP_RUNS == 0) {
                        long now = cpuNanos();
                        long took = now - groupStart;
                        groupStart = now;
                        fastest = Math.min(fastest, took);
                        settledGroups = took <= fastest * SETTLED_RATIO ? settledGroups + 1 : 0;
                    }
                    boolean settled = runs >= MIN_RUNS && settledGroups >= SETTLED_GROUPS;
                    if (settled || System.nanoTime() - deadline >= 0) {
                        return new Result(runs, bt[0], bt[1], settled, System.nanoTime() - start,
                                scratch.snapshot());
                    }
                }
            }
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    /**
     * This thread's CPU time, else the wall clock: JIT compilation runs on other threads, and other processes'
     * load does not stretch it, so it drops once the statistics are compiled.
     */
    private static long cpuNanos() {
        return THREADS.isCurrentThreadCpuTimeSupported() ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
    }

    /** Statistics of the model's sites that close a window every two runs of {@code tokens}. */
    private static ModelProbe scratch(ProbedModel probed, long tokens) {
        return new ModelProbe(probed.discovered(), probed.settings().withWindowTokens(Math.max(1, 2 * tokens)));
    }

    /**
     * An input of the synthetic request: its dynamic axes {@code batch} (the first) and {@code tokens} (the others);
     * a mask of ones with the last quarter of the last sequence padded; other integers alternate 0 and 1 (valid token
     * ids and type ids of any vocabulary); floats are uniform in [-1, 1).
     */
    private static OnnxTensor synthetic(OrtEnvironment env, TensorSpec input, int batch, int tokens, boolean mask)
            throws OrtException {
        long[] shape = input.shape();
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) {
                shape[i] = i == 0 ? batch : tokens;
            }
        }
        int n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, Math.toIntExact(d));
        }
        int rowLength = shape.length > 1 ? Math.toIntExact(shape[shape.length - 1]) : n;
        int[] values = new int[n];
        for (int i = 0; i < n; i++) {
            int position = i % Math.max(1, rowLength);
            boolean lastRow = i >= n - rowLength;
            values[i] = mask ? (lastRow && position >= rowLength - rowLength / 4 ? 0 : 1) : i % 2;
        }
        switch (input.datatype()) {
            case INT64 -> {
                LongBuffer b = LongBuffer.allocate(n);
                for (int v : values) {
                    b.put(v);
                }
                return OnnxTensor.createTensor(env, b.flip(), shape);
            }
            case INT32 -> {
                return OnnxTensor.createTensor(env, IntBuffer.wrap(values), shape);
            }
            case FP32 -> {
                SplittableRandom random = new SplittableRandom(42);
                FloatBuffer b = FloatBuffer.allocate(n);
                for (int i = 0; i < n; i++) {
                    b.put(mask ? values[i] : (float) (2 * random.nextDouble() - 1));
                }
                return OnnxTensor.createTensor(env, b.flip(), shape);
            }
            default -> throw new IllegalArgumentException("input '" + input.name() + "' is " + input.datatype()
                    + ", for which the warm-up has no synthetic values");
        }
    }
}
