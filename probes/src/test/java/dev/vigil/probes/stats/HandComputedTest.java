package dev.vigil.probes.stats;

import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteKind;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Small tensors whose statistics are worked out on paper (in the comments), through the public API. */
class HandComputedTest {
    private static final ProbeSettings SETTINGS = new ProbeSettings(true, 1.0, 1_000_000, "attention_mask",
            List.of(), List.of(), 100.0, 100.0, 0.3, 0.25, 6.0);

    private static SiteSnapshot one(SiteKind kind, ProbedBatch batch) {
        ModelProbe probe = new ModelProbe(List.of(new ProbeSite(kind, 0, "x", List.of(), "hand")), SETTINGS);
        probe.observe(batch);
        return probe.snapshot().sites().get(0);
    }

    private static TapTensor tensor(long[] shape, float... values) {
        return new TapTensor(FloatBuffer.wrap(values), shape);
    }

    @Test
    void deadAndDormantNeurons() {
        // rows [1,-1,0.5] and [2,-2,0]; a third, masked row would make channel 1 alive.
        // channel 1 is never > 0: dead 1/3. mean|a| = 1.5, 1.5, 0.25; their mean 3.25/3; s_2 = 0.25·3/3.25 = 0.23
        // <= τ 0.25, s_0 = s_1 = 1.38: dormant 1/3.
        ProbedBatch batch = new ProbedBatch(1, 3, new byte[] {1, 1, 0},
                Map.of("x", tensor(new long[] {1, 3, 3}, 1, -1, 0.5f, 2, -2, 0, 0, 5, 0)));
        DeadNeuronSnapshot d = one(SiteKind.MLP, batch).dead();
        assertEquals(3, d.neurons());
        assertEquals(2, d.rows());
        assertEquals(1.0 / 3, d.deadRatio(), 1e-15);
        assertEquals(1.0 / 3, d.dormantRatio(), 1e-15);
    }

    @Test
    void massiveActivationsWithLeftPadding() {
        // the padded row [999,0,0] is left out; |h| = 1,2,300,1,1,2: median (1+2)/2 = 1.5; limit max(100, 150):
        // only 300 is massive, at the first real position, channel 2; ratio 300/1.5 = 200.
        ProbedBatch batch = new ProbedBatch(1, 3, new byte[] {0, 1, 1},
                Map.of("x", tensor(new long[] {1, 3, 3}, 999, 0, 0, 1, 2, 300, -1, 1, 2)));
        MassiveSnapshot m = one(SiteKind.RESIDUAL, batch).massive();
        assertEquals(1, m.windowCount());
        assertEquals(1, m.total());
        assertEquals(200.0, m.ratio(), 1e-12);
        assertEquals(1.0, m.firstTokenFraction());
        assertEquals(Map.of("2", 1L), m.channelHits());
    }

    @Test
    void noMassiveElementLeavesTheFractionUndefined() {
        ProbedBatch batch = new ProbedBatch(1, 2, null, Map.of("x", tensor(new long[] {1, 2, 3}, 1, 2, 3, 4, 5, 6)));
        MassiveSnapshot m = one(SiteKind.RESIDUAL, batch).massive();
        assertEquals(0, m.total());
        assertTrue(Double.isNaN(m.firstTokenFraction()));
        assertEquals(6.0 / 3.5, m.ratio(), 1e-12);
    }

    @Test
    void tokenCosineSimilarity() {
        // sequence 0: [1,0,0],[0,1,0],[1,1,0]: pair cosines 0, 1/√2, 1/√2: mean √2/3.
        // sequence 1: [1,0,0],[2,0,0] and a padded row: cosine 1. Mean over sequences (√2/3 + 1)/2.
        ProbedBatch batch = new ProbedBatch(2, 3, new byte[] {1, 1, 1, 1, 1, 0}, Map.of("x", tensor(
                new long[] {2, 3, 3}, 1, 0, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 2, 0, 0, 0, 7, 7)));
        CosineSnapshot c = one(SiteKind.RESIDUAL, batch).cosine();
        assertEquals(2, c.sequences());
        assertEquals((Math.sqrt(2) / 3 + 1) / 2, c.cosineSimilarity(), 1e-12);
    }

    @Test
    void quantizationRanges() {
        // x = -1, 2, 0.5, 4, -8, 0: |x| sorted 0, 0.5, 1, 2, 4, 8; p999 at rank 4.995 = 4 + 0.995·4 = 7.98,
        // p9999 = 7.998, p99999 = 7.9998. μ = -5/12; E[(x-μ)^4] / E[(x-μ)^2]^2 = 3.14977... ; channel abs max
        // 4, 8, 0.5: one channel > 6.
        ProbedBatch batch = new ProbedBatch(1, 2, null,
                Map.of("x", tensor(new long[] {2, 3}, -1, 2, 0.5f, 4, -8, 0)));
        QuantSnapshot q = one(SiteKind.MATMUL_INPUT, batch).quant();
        assertEquals(6, q.count());
        assertEquals(-8.0, q.min());
        assertEquals(4.0, q.max());
        assertEquals(8.0, q.absMax());
        assertEquals(7.98, q.absP999(), 0.01 * 7.98);
        assertEquals(7.998, q.absP9999(), 0.01 * 7.998);
        assertEquals(7.9998, q.absP99999(), 0.01 * 7.9998);
        assertEquals(3.1497737389277987, q.kurtosis(), 1e-12);
        assertEquals(1, q.outlierChannels());
    }

    @Test
    void int8Sqnr() {
        // c = 127, scale 1: squared errors 0 (127), 0.25 (-0.5), 0.0625 (0.25), 0.09 (10.3), 0 (0), 0.04 (-2.2);
        // noise 0.4425, signal 16240.2425: 10·log10(36701.1) = 45.65 dB.
        ProbedBatch batch = new ProbedBatch(1, 2, null,
                Map.of("x", tensor(new long[] {1, 2, 3}, 127, -0.5f, 0.25f, 10.3f, 0, -2.2f)));
        QuantSnapshot q = one(SiteKind.MATMUL_INPUT, batch).quant();
        assertEquals(45.65, q.sqnrAbsMaxDb(), 1.0);
    }

    @Test
    void causalAttentionWithLeftPadding() {
        // real rows (query 1..3, key 0 padded): [1,0,0], [.5,.5,0], [.7,.2,.1] over keys 1..3.
        // sink (1 + .5 + .7)/3; entropy: row 1 sees one key (skipped), row 2: 1.0, row 3:
        // -(.7 ln .7 + .2 ln .2 + .1 ln .1)/ln 3 = 0.72985; mean 0.864923. Key masses: 2.2/3, 0.7/3, 0.1/3.
        float j = 0.25f;
        ProbedBatch batch = new ProbedBatch(1, 4, new byte[] {0, 1, 1, 1}, Map.of("x", tensor(
                new long[] {1, 1, 4, 4}, j, j, j, j, 0, 1, 0, 0, 0, .5f, .5f, 0, 0, .7f, .2f, .1f)));
        AttentionSnapshot a = one(SiteKind.ATTENTION, batch).attention();
        assertEquals(3, a.queries());
        assertEquals(2.2 / 3, a.sinkScore().get(0), 1e-7);
        assertEquals((1.0 + 0.7298466991620974) / 2, a.entropy().get(0), 1e-4);
        assertEquals(2.2 / 3, a.maxKeyMass(), 1e-7);
        assertEquals(0, a.maxKeyPosition());
        assertEquals(1.0, a.sinkHeadsRatio());
    }

    @Test
    void perSequenceRowsHaveNoMask() {
        // [B,K] = [2,3]: one row per sequence; the mask (of B·T = 4 entries) does not apply.
        ProbedBatch batch = new ProbedBatch(2, 2, new byte[] {0, 0, 1, 1},
                Map.of("x", tensor(new long[] {2, 3}, 1, 2, 3, -4, 5, 6)));
        QuantSnapshot q = one(SiteKind.MATMUL_INPUT, batch).quant();
        assertEquals(6, q.count());
        assertEquals(-4.0, q.min());
    }
}
