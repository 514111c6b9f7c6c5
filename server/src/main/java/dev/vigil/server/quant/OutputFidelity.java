package dev.vigil.server.quant;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How close a quantized model's outputs come to the float model's on the same runs: per float output, the cosine
 * similarity of each row of the two outputs, pooled over every run added. A row is an unmasked token of an output
 * {@code [B, T, ...]} whose first two axes match the attention mask, else one index of the first axis (a sequence of
 * {@code [B, D]}), else the whole output. A row that rounding wiped to zero agrees with nothing (cosine 0); two zero
 * rows agree (1). Not thread-safe: one sweep fills it.
 */
final class OutputFidelity {
    private final Map<String, double[]> byOutput = new LinkedHashMap<>();

    /**
     * The summary of one candidate: {@code cosineMean} is the lowest of the outputs' mean row cosines (what a
     * target applies to), {@code cosineWorst} the lowest row cosine of any output.
     *
     * @param outputs per output: {mean, worst, rows}
     */
    record Summary(double cosineMean, double cosineWorst, Map<String, double[]> outputs) {
    }

    /**
     * Adds one run's output.
     *
     * @param mask the run's attention mask {@code [B, T]} as 0/1 per position, or null
     */
    void add(String output, float[] reference, float[] candidate, long[] shape, byte[] mask, long batch,
             long tokens) {
        double[] acc = byOutput.computeIfAbsent(output, k -> new double[] {0, Double.POSITIVE_INFINITY, 0});
        boolean tokenRows = mask != null && shape.length >= 3 && shape[0] == batch && shape[1] == tokens;
        int rows;
        if (tokenRows) {
            rows = (int) (batch * tokens);
        } else {
            rows = shape.length >= 2 ? (int) shape[0] : 1;
        }
        int d = rows == 0 ? 0 : reference.length / rows;
        for (int r = 0; r < rows; r++) {
            if (tokenRows && mask[r] == 0) {
                continue;
            }
            double ab = 0;
            double aa = 0;
            double bb = 0;
            int base = r * d;
            for (int j = 0; j < d; j++) {
                double a = reference[base + j];
                double b = candidate[base + j];
                ab += a * b;
                aa += a * a;
                bb += b * b;
            }
            double cos = aa == 0 && bb == 0 ? 1 : aa == 0 || bb == 0 ? 0 : ab / Math.sqrt(aa * bb);
            acc[0] += cos;
            acc[1] = Math.min(acc[1], cos);
            acc[2]++;
        }
    }

    /** The summary so far; NaN means when no row was added. */
    Summary summary() {
        double mean = Double.NaN;
        double worst = Double.NaN;
        Map<String, double[]> outputs = new LinkedHashMap<>();
        for (Map.Entry<String, double[]> e : byOutput.entrySet()) {
            double[] acc = e.getValue();
            if (acc[2] == 0) {
                continue;
            }
            double m = acc[0] / acc[2];
            outputs.put(e.getKey(), new double[] {m, acc[1], acc[2]});
            mean = Double.isNaN(mean) ? m : Math.min(mean, m);
            worst = Double.isNaN(worst) ? acc[1] : Math.min(worst, acc[1]);
        }
        return new Summary(mean, worst, outputs);
    }
}
