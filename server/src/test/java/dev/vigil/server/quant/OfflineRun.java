package dev.vigil.server.quant;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The independent side of the quantization tests: a model (float or exported) run in ONNX Runtime here, and the
 * row cosines between two runs' outputs.
 */
final class OfflineRun {
    private OfflineRun() {
    }

    /** A float output of a run. */
    record Output(long[] shape, float[] data) {
    }

    /** One run of {@code model} on INT64 [B, T] inputs; every float output copied out, in the model's order. */
    static Map<String, Output> run(byte[] model, Map<String, long[][]> inputs) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> feeds = new HashMap<>();
        Map<String, Output> out = new LinkedHashMap<>();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            for (Map.Entry<String, long[][]> e : inputs.entrySet()) {
                long[][] v = e.getValue();
                LongBuffer b = LongBuffer.allocate(v.length * v[0].length);
                for (long[] row : v) {
                    b.put(row);
                }
                b.flip();
                feeds.put(e.getKey(), OnnxTensor.createTensor(env, b, new long[] {v.length, v[0].length}));
            }
            try (OrtSession s = env.createSession(model, opts); OrtSession.Result r = s.run(feeds)) {
                r.forEach(e -> {
                    if (e.getValue() instanceof OnnxTensor t && t.getInfo().toString().contains("FLOAT")) {
                        FloatBuffer fb = t.getFloatBuffer();
                        float[] a = new float[fb.remaining()];
                        fb.get(a);
                        out.put(e.getKey(), new Output(t.getInfo().getShape(), a));
                    }
                });
            }
        } finally {
            for (OnnxTensor t : feeds.values()) {
                t.close();
            }
        }
        return out;
    }

    /** A run on {@code input_ids} with an {@code attention_mask} of ones (the planted-outliers model's inputs). */
    static Map<String, Output> runUnmasked(byte[] model, long[][] ids) throws Exception {
        long[][] mask = new long[ids.length][ids[0].length];
        for (long[] row : mask) {
            Arrays.fill(row, 1);
        }
        return run(model, Map.of("input_ids", ids, "attention_mask", mask));
    }

    /** The cosine similarity of each row of {@code d} values of a and b (0 for one zero row, 1 for two). */
    static double[] rowCosines(float[] a, float[] b, int d) {
        double[] out = new double[a.length / d];
        for (int r = 0; r < out.length; r++) {
            double ab = 0;
            double aa = 0;
            double bb = 0;
            for (int j = 0; j < d; j++) {
                double x = a[r * d + j];
                double y = b[r * d + j];
                ab += x * y;
                aa += x * x;
                bb += y * y;
            }
            // a row wiped to zero by rounding agrees with nothing (cosine 0); two zero rows agree
            out[r] = aa == 0 && bb == 0 ? 1 : aa == 0 || bb == 0 ? 0 : ab / Math.sqrt(aa * bb);
        }
        return out;
    }

    /** The mean over rows of {@link #rowCosines}. */
    static double meanRowCosine(float[] a, float[] b, int d) {
        double sum = 0;
        double[] rows = rowCosines(a, b, d);
        for (double c : rows) {
            sum += c;
        }
        return sum / rows.length;
    }
}
