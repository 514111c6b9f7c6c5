package dev.vigil.exporter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Inference throughput of an initialized pre-norm attention model and an EFT model of the same shape,
 * both exported to ONNX and run in ONNX Runtime on the CPU. The two sessions are timed in alternating
 * rounds (the order flips every round) so that load from other processes hits both alike; the ratio is
 * taken within each round and the median over rounds is reported.
 */
public final class InferenceThroughputBench {
    private final ModelOptions shape;
    private final int threads;
    private final int rounds;
    private final double roundMillis;

    /**
     * @param shape       model shape; its architecture and seqLen are replaced per measurement
     * @param threads     ONNX Runtime intra-op threads
     * @param rounds      interleaved rounds per length
     * @param roundMillis target time per model per round (at least one batch is always run)
     */
    public InferenceThroughputBench(ModelOptions shape, int threads, int rounds, double roundMillis) {
        if (threads < 1 || rounds < 1 || !(roundMillis > 0)) {
            throw new IllegalArgumentException("threads and rounds must be >= 1 and roundMillis > 0, got "
                    + threads + ", " + rounds + ", " + roundMillis);
        }
        this.shape = shape;
        this.threads = threads;
        this.rounds = rounds;
        this.roundMillis = roundMillis;
    }

    /** Measures both architectures at one length and batch size. */
    public ThroughputRow measure(int seqLen, int batch) throws OrtException {
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (NDManager manager = NDManager.newBaseManager();
             OrtSession.SessionOptions sessionOptions = new OrtSession.SessionOptions()) {
            sessionOptions.setIntraOpNumThreads(threads);
            sessionOptions.setInterOpNumThreads(1);
            SequenceClassifier standard = SequenceClassifier.create(options(Architecture.PRENORM, seqLen), manager);
            SequenceClassifier eft = SequenceClassifier.create(options(Architecture.EFT, seqLen), manager);
            long[] ids = randomIds(batch, seqLen, seqLen);
            try (OrtSession standardSession = env.createSession(
                         OnnxExporter.export(standard, "bench-standard").toByteArray(), sessionOptions);
                 OrtSession eftSession = env.createSession(
                         OnnxExporter.export(eft, "bench-eft").toByteArray(), sessionOptions);
                 OnnxTensor input = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {batch, seqLen})) {
                // two warm-up calls each; the second estimates the per-batch time that sizes a round
                runOnce(standardSession, input);
                runOnce(eftSession, input);
                int standardIters = iterations(timeBatches(standardSession, input, 1));
                int eftIters = iterations(timeBatches(eftSession, input, 1));
                double[] standardMs = new double[rounds];
                double[] eftMs = new double[rounds];
                double[] speedup = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    if (r % 2 == 0) {
                        standardMs[r] = timeBatches(standardSession, input, standardIters);
                        eftMs[r] = timeBatches(eftSession, input, eftIters);
                    } else {
                        eftMs[r] = timeBatches(eftSession, input, eftIters);
                        standardMs[r] = timeBatches(standardSession, input, standardIters);
                    }
                    speedup[r] = standardMs[r] / eftMs[r];
                }
                return new ThroughputRow(seqLen, batch, standard.parameterCount(), eft.parameterCount(),
                        median(standardMs), median(eftMs), median(speedup), rounds);
            }
        }
    }

    /**
     * Largest absolute difference between the ONNX Runtime logits and the DJL forward pass for one
     * architecture at one length, with every weight redrawn from N(0, 0.3) (LayerNorm gains around 1)
     * so that every path moves the logits. Returns {maxAbsDiff, logit spread}.
     */
    public double[] exportError(Architecture architecture, int seqLen, int batch) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (NDManager manager = NDManager.newBaseManager();
             OrtSession.SessionOptions sessionOptions = new OrtSession.SessionOptions()) {
            sessionOptions.setIntraOpNumThreads(threads);
            SequenceClassifier model = SequenceClassifier.create(options(architecture, seqLen), manager);
            SplittableRandom random = new SplittableRandom(seqLen);
            for (Pair<String, Parameter> p : model.getParameters()) {
                NDArray array = p.getValue().getArray();
                float[] values = new float[(int) array.size()];
                double mean = p.getValue().getType() == Parameter.Type.GAMMA ? 1.0 : 0.0;
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) (mean + 0.3 * gaussian(random));
                }
                array.set(values);
            }
            long[] ids = randomIds(batch, seqLen, seqLen + 1L);
            float[] djl = model.predict(manager.create(ids, new Shape(batch, seqLen))).toFloatArray();
            try (OrtSession session = env.createSession(
                         OnnxExporter.export(model, "bench-check").toByteArray(), sessionOptions);
                 OnnxTensor input = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {batch, seqLen});
                 OrtSession.Result result = session.run(Map.of(OnnxExporter.INPUT, input))) {
                FloatBuffer ort = ((OnnxTensor) result.get(0)).getFloatBuffer();
                double maxDiff = 0;
                double min = Double.POSITIVE_INFINITY;
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < djl.length; i++) {
                    maxDiff = Math.max(maxDiff, Math.abs(djl[i] - ort.get(i)));
                    min = Math.min(min, djl[i]);
                    max = Math.max(max, djl[i]);
                }
                return new double[] {maxDiff, max - min};
            }
        }
    }

    private ModelOptions options(Architecture architecture, int seqLen) {
        return new ModelOptions(architecture, shape.vocabSize(), seqLen, shape.dim(), shape.layers(), shape.heads(),
                shape.mlpDim(), shape.classes(), shape.activation(), shape.pooling());
    }

    private long[] randomIds(int batch, int seqLen, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] ids = new long[batch * seqLen];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 1 + random.nextInt(shape.vocabSize() - 1); // id 0 is padding, never generated
        }
        return ids;
    }

    private int iterations(double msPerBatch) {
        return Math.max(1, (int) Math.round(roundMillis / msPerBatch));
    }

    /** Mean milliseconds per call over {@code iterations} back-to-back calls. */
    private static double timeBatches(OrtSession session, OnnxTensor input, int iterations) throws OrtException {
        long start = System.nanoTime();
        for (int i = 0; i < iterations; i++) {
            runOnce(session, input);
        }
        return (System.nanoTime() - start) / 1e6 / iterations;
    }

    private static void runOnce(OrtSession session, OnnxTensor input) throws OrtException {
        try (OrtSession.Result ignored = session.run(Map.of(OnnxExporter.INPUT, input))) {
            // only the time counts; closing the result frees its output tensor
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** Box-Muller, because SplittableRandom has no nextGaussian on Java 17. */
    private static double gaussian(SplittableRandom random) {
        double u = 1.0 - random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
    }
}
