package dev.vigil.probes.stats;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The token cosine in SIMD lanes and in double, reading the tap itself or taking the rows as the massive statistic
 * reads them, against every pair in double ({@link Reference#cosine}): random rows, rows sharing a direction (a cosine
 * near 1, where {@code ‖Σu‖² − n} cancels most), and rows whose float squares underflow or overflow, at widths around
 * the vector length.
 */
class TokenCosineTest {
    private static final int B = 4;
    private static final int T = 40;

    /** How a request's rows are drawn. */
    private enum Rows { RANDOM, SHARED_DIRECTION, TINY, HUGE }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 15, 16, 17, 24, 33, 48, 100, 384})
    void everyPathMatchesEveryPair(int width) {
        assertTrue(TokenCosineStat.VECTORIZED, "the tests run with jdk.incubator.vector");
        RandomTaps taps = new RandomTaps(width);
        for (Rows kind : Rows.values()) {
            ProbedBatch request = request(taps, kind, width);
            TapTensor t = request.tensors().get("x");
            RowLayout layout = RowLayout.of("x", t, request);
            double expected = Reference.cosine(Reference.sequences(t, request));
            long sequences = Reference.sequences(t, request).stream()
                    .filter(s -> s.rows().stream().filter(r -> norm(r) > 0).count() >= 2).count();
            for (boolean vectorized : new boolean[] {true, false}) {
                for (boolean withMassive : new boolean[] {true, false}) {
                    TokenCosineStat cosine = new TokenCosineStat(vectorized);
                    if (withMassive) {
                        new MassiveActivationStat(100, 1000).observe(t, layout, cosine);
                    } else {
                        cosine.observe(t, layout);
                    }
                    String where = kind + " width " + width + (vectorized ? " SIMD" : " double")
                            + (withMassive ? " with massive" : " alone");
                    CosineSnapshot s = cosine.snapshot();
                    assertEquals(sequences, s.sequences(), where);
                    ModelProbeVsReferenceTest.close(expected, s.cosineSimilarity(), 1e-9, where);
                    assertEquals(sequences, cosine.counters().sequences(), where);
                    ModelProbeVsReferenceTest.close(sequences == 0 ? 0 : (1 + expected) * sequences,
                            cosine.counters().shiftedSum(), 1e-9, where + " counter");
                }
            }
        }
    }

    @Test
    void aNonFiniteValueSpoilsOnlyItsSequence() {
        int w = 40;
        float[] x = new float[2 * 3 * w];
        Random rnd = new Random(3);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
            x[w + 17] = bad;
            TapTensor t = new TapTensor(new RandomTaps(1).buffer(x), new long[] {2, 3, w});
            ProbedBatch request = new ProbedBatch(2, 3, null, Map.of("x", t));
            for (boolean vectorized : new boolean[] {true, false}) {
                TokenCosineStat cosine = new TokenCosineStat(vectorized);
                cosine.observe(t, RowLayout.of("x", t, request));
                assertEquals(2, cosine.snapshot().sequences());
                assertTrue(Double.isNaN(cosine.snapshot().cosineSimilarity()), "window mean with " + bad);
                assertEquals(1, cosine.counters().sequences(), "the finite sequence counts");
                assertEquals(1, cosine.counters().nonFiniteSequences(), "the one with " + bad + " does not");
                double second = Reference.cosine(List.of(Reference.sequences(t, request).get(1)));
                ModelProbeVsReferenceTest.close(1 + second, cosine.counters().shiftedSum(), 1e-9, "counter");
            }
        }
    }

    private static ProbedBatch request(RandomTaps taps, Rows kind, int width) {
        Random rnd = taps.random();
        float[] x = taps.activations(B * T, width);
        float[] direction = new float[width];
        for (int j = 0; j < width; j++) {
            direction[j] = (float) rnd.nextGaussian();
        }
        for (int i = 0; i < x.length; i++) {
            switch (kind) {
                case SHARED_DIRECTION -> x[i] = direction[i % width] * (1 + rnd.nextFloat()) + 0.05f * x[i];
                // squares below float's smallest normal, and above its largest
                case TINY -> x[i] *= 1e-21f;
                case HUGE -> x[i] *= 1e22f;
                default -> {
                }
            }
        }
        // one sequence with a single row (no pair), one with all rows zero
        List<Integer> zeroRows = new ArrayList<>();
        for (int i = 0; i < T; i++) {
            zeroRows.add(2 * T + i);
        }
        for (int row : zeroRows) {
            Arrays.fill(x, row * width, (row + 1) * width, 0f);
        }
        byte[] mask = taps.mask(B, T);
        Arrays.fill(mask, 3 * T, 4 * T, (byte) 0);
        mask[3 * T + 5] = 1;
        return new ProbedBatch(B, T, mask, Map.of("x", new TapTensor(taps.buffer(x), new long[] {B, T, width})));
    }

    private static double norm(double[] r) {
        double s = 0;
        for (double v : r) {
            s += v * v;
        }
        return Math.sqrt(s);
    }
}
