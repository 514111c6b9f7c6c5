package dev.vigil.probes.stats;

import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteKind;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The in-graph {@code |x|} histogram buckets exactly like the host's (exponent and 7 mantissa bits, taken from the
 * float's bits on the host and from {@code log2} plus a correction in the graph): values on and next to every power
 * of two of its range, zeros, and random magnitudes give the same window and fleet statistics either way; non-finite
 * values are counted apart in both.
 */
class InGraphHistogramTest {
    private static final ProbeSite SITE = new ProbeSite(SiteKind.MATMUL_INPUT, 0, "x", List.of(), "MatMul");
    private static final int W = 8;

    @Test
    void bucketsAgreeWithTheHostOnBoundaries() {
        List<Float> values = new ArrayList<>();
        // up to 2^20: above, the host's float sums of x⁴ overflow (the graph's do not), and the kurtosis differs
        for (int e = ReducedOutputs.MIN_EXPONENT; e < 20; e++) {
            float p = (float) Math.scalb(1.0, e);
            for (float v : new float[] {p, Math.nextUp(p), Math.nextDown(2 * p), -p * 1.5f, p * (1 + 1f / 128),
                    Math.nextDown(p * (1 + 1f / 128))}) {
                values.add(v);
            }
        }
        values.add(0f);
        values.add(-0f);
        Random rnd = new Random(5);
        while (values.size() % W != 0 || values.size() < 2000) {
            values.add((float) (rnd.nextGaussian() * Math.exp(Math.min(10, rnd.nextGaussian() * 4))));
        }
        assertAgree(values);
    }

    @Test
    void nonFiniteValuesAreCountedApartInBoth() {
        List<Float> values = new ArrayList<>();
        Random rnd = new Random(6);
        for (int i = 0; i < 64 * W; i++) {
            values.add((float) rnd.nextGaussian());
        }
        values.set(3, Float.NaN);
        values.set(17, Float.POSITIVE_INFINITY);
        values.set(40, Float.NEGATIVE_INFINITY);
        ProbeSnapshot graph = assertCounters(values);
        assertEquals(3, graph.sites().get(0).counters().quant().nonFinite());
    }

    private static void assertAgree(List<Float> values) {
        ProbeSnapshot[] both = run(values);
        SnapshotAgreement.assertAgree(both[0], both[1], 1e-6);
    }

    private static ProbeSnapshot assertCounters(List<Float> values) {
        ProbeSnapshot[] both = run(values);
        QuantCounters h = both[0].sites().get(0).counters().quant();
        QuantCounters g = both[1].sites().get(0).counters().quant();
        assertEquals(h.values(), g.values());
        assertEquals(h.nonFinite(), g.nonFinite());
        SnapshotAgreement.close(h.sumSquares(), g.sumSquares(), 1e-6, "sum of squares of finite values");
        assertEquals(h.absValues().total(), g.absValues().total(), "finite values in the native histogram");
        return both[1];
    }

    private static ProbeSnapshot[] run(List<Float> values) {
        float[] data = new float[values.size()];
        for (int i = 0; i < data.length; i++) {
            data[i] = values.get(i);
        }
        int rows = data.length / W;
        ProbedBatch batch = new ProbedBatch(1, rows, null,
                Map.of("x", new TapTensor(FloatBuffer.wrap(data), new long[] {1, rows, W})));
        ProbeSettings settings = ProbeSettings.defaults();
        ModelProbe host = new ModelProbe(List.of(SITE), settings);
        ModelProbe graph = new ModelProbe(List.of(SITE), settings);
        host.observe(batch);
        try (GraphReducer reducer = new GraphReducer(graph.sites(), settings)) {
            graph.observeReduced(reducer.reduce(batch));
        }
        return new ProbeSnapshot[] {host.snapshot(), graph.snapshot()};
    }
}
