package dev.vigil.probes.stats;

import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SPEC §6 counters: against brute-force double sums over every value since start, additive across "replicas"
 * (requests split round-robin over three probes sum to the counters of one probe that saw them all, the |x|
 * histograms bucket by bucket), at 0 before any request, with non-finite values counted apart, and a native-histogram
 * quantile within 1% of the exact one.
 */
class FleetCountersTest {
    private static final ProbeSite RES = new ProbeSite(SiteKind.RESIDUAL, 0, "res", List.of(), "LayerNormalization");
    private static final ProbeSite ACT = new ProbeSite(SiteKind.MLP, 0, "act", List.of(), "Erf-GELU");
    private static final ProbeSite ATT = new ProbeSite(SiteKind.ATTENTION, 0, "att", List.of("batch", "3", "t", "t"),
            "Softmax->MatMul");
    private static final List<ProbeSite> SITES = List.of(RES, ACT, ATT);
    private static final int D = 24;
    private static final int F = 40;
    private static final int H = 3;
    private final ProbeSettings settings = new ProbeSettings(true, 1.0, 50, "attention_mask", List.of(), List.of(),
            6.0, 4.0, 0.3, 0.025, 6.0);

    /** Run with the statistics on the host and reduced in the graph ({@link GraphReducer}, ONNX Runtime CPU). */
    @ParameterizedTest
    @EnumSource(ModelProbeVsReferenceTest.Strategy.class)
    void countersMatchBruteForceAndAddUpAcrossReplicas(ModelProbeVsReferenceTest.Strategy strategy) {
        boolean graph = strategy == ModelProbeVsReferenceTest.Strategy.GRAPH;
        try (GraphReducer reducer = graph ? new GraphReducer(SITES, settings) : null) {
            countersMatch(reducer);
        }
    }

    private void countersMatch(GraphReducer reducer) {
        RandomTaps taps = new RandomTaps(11);
        ModelProbe all = new ModelProbe(SITES, settings);
        ModelProbe[] replicas = {new ModelProbe(SITES, settings), new ModelProbe(SITES, settings),
                new ModelProbe(SITES, settings)};
        assertZeroFromStart(all.snapshot());
        List<ProbedBatch> sent = new ArrayList<>();
        for (int n = 0; n < 45; n++) {
            ProbedBatch req = request(taps, n);
            if (reducer == null) {
                all.observe(req);
                replicas[n % 3].observe(req);
            } else {
                ReducedBatch reduced = reducer.reduce(req);
                all.observeReduced(reduced);
                replicas[n % 3].observeReduced(reduced);
            }
            sent.add(req);
        }
        ProbeSnapshot one = all.snapshot();
        for (int i = 0; i < SITES.size(); i++) {
            SiteCounters c = one.sites().get(i).counters();
            String tensor = SITES.get(i).tensor();
            List<SiteCounters> parts = new ArrayList<>();
            for (ModelProbe r : replicas) {
                parts.add(r.snapshot().sites().get(i).counters());
            }
            if (c.quant() != null) {
                quantAgainstReference(c.quant(), Reference.windowSequences(sent, tensor), tensor);
                quantAddsUp(c.quant(), parts.stream().map(SiteCounters::quant).toList(), tensor);
            }
            if (c.attention() != null) {
                attentionAgainstReference(c.attention(), Reference.attention(sent, tensor));
                attentionAddsUp(c.attention(), parts.stream().map(SiteCounters::attention).toList());
            }
            if (c.cosine() != null) {
                List<Reference.Sequence> seqs = Reference.windowSequences(sent, tensor);
                long sequences = seqs.stream().filter(s -> nonzeroRows(s) >= 2).count();
                assertEquals(sequences, c.cosine().sequences());
                close((1 + Reference.cosine(seqs)) * sequences, c.cosine().shiftedSum(), reducer == null ? 1e-9 : 1e-5,
                        "cosine sum (the graph's unit-row sums are float)");
                close(c.cosine().shiftedSum(), parts.stream().mapToDouble(p -> p.cosine().shiftedSum()).sum(),
                        1e-12, "cosine sum over replicas");
                assertEquals(c.cosine().sequences(), parts.stream().mapToLong(p -> p.cosine().sequences()).sum());
                Reference.Massive m = Reference.massive(seqs, settings.massiveAbsThreshold(),
                        settings.massiveMedianRatio());
                assertEquals(m.firstToken(), c.massiveFirstToken());
                assertTrue(m.firstToken() > 0, "the random taps should have massive first tokens");
                assertEquals(c.massiveFirstToken(), parts.stream().mapToLong(SiteCounters::massiveFirstToken).sum());
            }
        }
    }

    @Test
    void nonFiniteValuesAreCountedApartAndLeftOutOfTheSums() {
        RandomTaps taps = new RandomTaps(3);
        ModelProbe probe = new ModelProbe(List.of(ACT), settings);
        float[] x = taps.activations(2 * 20, F);
        x[5] = Float.NaN;
        x[F * 17 + 3] = Float.POSITIVE_INFINITY;
        x[F * 33] = Float.NEGATIVE_INFINITY;
        Map<String, TapTensor> tensors = Map.of("act", new TapTensor(taps.buffer(x), new long[] {2, 20, F}));
        probe.observe(new ProbedBatch(2, 20, null, tensors));
        QuantCounters q = probe.snapshot().sites().get(0).counters().quant();
        assertEquals(3, q.nonFinite());
        float[] finite = new float[x.length - 3];
        int n = 0;
        for (float v : x) {
            if (Float.isFinite(v)) {
                finite[n++] = v;
            }
        }
        ModelProbe clean = new ModelProbe(List.of(ACT), settings);
        clean.observe(new ProbedBatch(1, 1, null, Map.of("act",
                new TapTensor(FloatBuffer.wrap(finite), new long[] {1, finite.length}))));
        QuantCounters expected = clean.snapshot().sites().get(0).counters().quant();
        assertEquals(expected.values(), q.values());
        close(expected.positiveSum(), q.positiveSum(), 1e-5, "positive sum");
        close(expected.negativeSum(), q.negativeSum(), 1e-5, "negative sum");
        close(expected.fourthPowers(), q.fourthPowers(), 1e-5, "fourth powers");
        assertEquals(q.values(), q.absValues().total(), "the histogram holds the finite values only");
    }

    /**
     * A NaN in the window makes its min and max NaN, as {@code Math.min} and {@code Math.max} would, whichever its
     * sign bit (the row loop orders values by their bits, which place a NaN by its sign); finite requests before and
     * after it do not hide it.
     */
    @Test
    void aNaNOfEitherSignMakesTheWindowMinAndMaxNaN() {
        for (int nanBits : new int[] {0x7fc00000, 0xffc00000}) {
            RandomTaps taps = new RandomTaps(5);
            // one open window over all three requests
            ModelProbe probe = new ModelProbe(List.of(ACT), settings.withWindowTokens(1000));
            float[] x = taps.activations(2 * 20, F);
            probe.observe(new ProbedBatch(2, 20, null, Map.of("act",
                    new TapTensor(taps.buffer(x.clone()), new long[] {2, 20, F}))));
            QuantSnapshot finite = probe.snapshot().sites().get(0).quant();
            assertTrue(Double.isFinite(finite.min()) && Double.isFinite(finite.max()));
            x[F + 2] = Float.intBitsToFloat(nanBits);
            probe.observe(new ProbedBatch(2, 20, null, Map.of("act",
                    new TapTensor(taps.buffer(x.clone()), new long[] {2, 20, F}))));
            x[F + 2] = 1f;
            probe.observe(new ProbedBatch(2, 20, null, Map.of("act",
                    new TapTensor(taps.buffer(x), new long[] {2, 20, F}))));
            QuantSnapshot q = probe.snapshot().sites().get(0).quant();
            String nan = Integer.toHexString(nanBits);
            assertTrue(Double.isNaN(q.min()), "min after NaN " + nan);
            assertTrue(Double.isNaN(q.max()), "max after NaN " + nan);
        }
    }

    /**
     * The sums split by sign keep their precision when one sign dominates: GELU outputs (a small negative side),
     * their negation, and values far from 0 (one side empty), over requests of differing shifts.
     */
    @Test
    void eachSideIsPreciseWhenOneSignDominates() {
        Random rnd = new Random(8);
        for (int kind = 0; kind < 3; kind++) {
            ModelProbe probe = new ModelProbe(List.of(ACT), settings);
            PowerSums expected = new PowerSums();
            for (int n = 0; n < 6; n++) {
                int t = 5 + rnd.nextInt(40);
                float[] x = new float[t * F];
                for (int i = 0; i < x.length; i++) {
                    double g = rnd.nextGaussian() * (1 + i % 7);
                    double gelu = 0.5 * g * (1 + erf(g / Math.sqrt(2)));
                    x[i] = (float) (kind == 0 ? gelu : kind == 1 ? -gelu : 40 + n + rnd.nextGaussian());
                    expected.add(x[i]);
                }
                probe.observe(new ProbedBatch(1, t, null, Map.of("act",
                        new TapTensor(FloatBuffer.wrap(x), new long[] {1, t, F}))));
            }
            // relative to the sum itself, however small: 0 when a side is empty
            expected.assertRelative(probe.snapshot().sites().get(0).counters().quant(), 2e-6, "case " + kind);
        }
    }

    /** erf to 1.5e-7 (Abramowitz and Stegun 7.1.26): a GELU for test data. */
    private static double erf(double z) {
        double t = 1 / (1 + 0.3275911 * Math.abs(z));
        double y = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                + t * 1.061405429)))) * Math.exp(-z * z);
        return Math.copySign(y, z);
    }

    @Test
    void nativeBucketsHoldTheirValuesAndGiveQuantilesWithinOnePercent() {
        Random rnd = new Random(5);
        for (int i = 0; i < 100_000; i++) {
            float v = (float) Math.exp(rnd.nextGaussian() * 8);
            if (!(v >= AbsValueBuckets.ZERO_THRESHOLD) || Float.isInfinite(v)) {
                continue;
            }
            int k = CumulativeAbsHistogram.nativeIndex(AbsHistogram.bucket(v));
            double lo = Math.pow(2, (k - 1) / 128.0);
            double hi = Math.pow(2, k / 128.0);
            assertTrue(v > lo * (1 - 0.004) && v <= hi * (1 + 0.004), v + " vs bucket " + k);
        }
        int n = 200_000;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rnd.nextGaussian() * (rnd.nextInt(1000) == 0 ? 40 : 1));
        }
        ModelProbe probe = new ModelProbe(List.of(ACT), settings.withWindowTokens(1));
        // three windows close: the cumulative histogram folds in closed ones and adds the open one
        for (int part = 0; part < 4; part++) {
            float[] slice = Arrays.copyOfRange(x, part * n / 4, (part + 1) * n / 4);
            probe.observe(new ProbedBatch(1, 1, null, Map.of("act",
                    new TapTensor(FloatBuffer.wrap(slice), new long[] {1, slice.length}))));
        }
        AbsValueBuckets b = probe.snapshot().sites().get(0).counters().quant().absValues();
        assertEquals(n, b.total());
        double[] abs = new double[n];
        for (int i = 0; i < n; i++) {
            abs[i] = Math.abs(x[i]);
        }
        Arrays.sort(abs);
        for (double q : new double[] {0.5, 0.999, 0.9999}) {
            double exact = Reference.percentile(abs, q);
            double estimate = prometheusQuantile(b, q);
            assertEquals(exact, estimate, 0.01 * exact, "quantile " + q);
        }
    }

    /** Prometheus' histogram_quantile of a native histogram: rank q·count, linear inside the bucket. */
    static double prometheusQuantile(AbsValueBuckets b, double q) {
        double rank = q * b.total();
        double seen = b.zeroCount();
        if (rank <= seen) {
            return 0;
        }
        for (int i = 0; i < b.size(); i++) {
            long c = b.count(i);
            if (seen + c >= rank) {
                double lo = Math.pow(2, (b.index(i) - 1) / 128.0);
                double hi = Math.pow(2, b.index(i) / 128.0);
                return lo + (hi - lo) * (rank - seen) / c;
            }
            seen += c;
        }
        return Math.pow(2, b.index(b.size() - 1) / 128.0);
    }

    private static void assertZeroFromStart(ProbeSnapshot snap) {
        for (SiteSnapshot s : snap.sites()) {
            SiteCounters c = s.counters();
            if (c.quant() != null) {
                assertEquals(0, c.quant().values());
                assertEquals(0, c.quant().absValues().total());
                assertEquals(0.0, c.quant().sumSquares());
            }
            if (c.attention() != null) {
                assertEquals(List.of(0L, 0L, 0L), c.attention().queries(), "heads declared by the graph: " + H);
            }
            if (c.cosine() != null) {
                assertEquals(0, c.cosine().sequences());
            }
        }
    }

    private static void quantAgainstReference(QuantCounters q, List<Reference.Sequence> seqs, String where) {
        PowerSums expected = PowerSums.of(seqs);
        assertEquals(expected.values(), q.values(), where);
        assertEquals(0, q.nonFinite(), where);
        expected.assertClose(q, 1e-5, where + " (float sums over 16 rows)");
        assertEquals(expected.values(), q.absValues().total(), where);
    }

    private static void quantAddsUp(QuantCounters one, List<QuantCounters> parts, String where) {
        assertEquals(one.values(), parts.stream().mapToLong(QuantCounters::values).sum(), where);
        close(one.positiveSum(), parts.stream().mapToDouble(QuantCounters::positiveSum).sum(), 1e-12, where);
        close(one.negativeSum(), parts.stream().mapToDouble(QuantCounters::negativeSum).sum(), 1e-12, where);
        close(one.sumSquares(), parts.stream().mapToDouble(QuantCounters::sumSquares).sum(), 1e-12, where);
        close(one.positiveCubes(), parts.stream().mapToDouble(QuantCounters::positiveCubes).sum(), 1e-12, where);
        close(one.negativeCubes(), parts.stream().mapToDouble(QuantCounters::negativeCubes).sum(), 1e-12, where);
        close(one.fourthPowers(), parts.stream().mapToDouble(QuantCounters::fourthPowers).sum(), 1e-12, where);
        Map<Integer, Long> merged = new HashMap<>();
        long zero = 0;
        for (QuantCounters p : parts) {
            zero += p.absValues().zeroCount();
            for (int i = 0; i < p.absValues().size(); i++) {
                merged.merge(p.absValues().index(i), p.absValues().count(i), Long::sum);
            }
        }
        AbsValueBuckets b = one.absValues();
        assertEquals(b.zeroCount(), zero, where);
        assertEquals(b.size(), merged.size(), where);
        for (int i = 0; i < b.size(); i++) {
            assertEquals(b.count(i), merged.get(b.index(i)), where + " bucket " + b.index(i));
        }
    }

    private static void attentionAgainstReference(AttentionCounters a, Reference.Attention r) {
        for (int h = 0; h < H; h++) {
            assertEquals(r.queries(), a.queries().get(h));
            close(r.sink()[h] * r.queries(), a.sinkMass().get(h), 1e-9, "sink mass head " + h);
            close(r.entropy()[h], a.entropySum().get(h) / a.entropyQueries().get(h), 0.01, "entropy head " + h);
        }
        assertEquals(0, a.nonFiniteQueries());
    }

    private static void attentionAddsUp(AttentionCounters one, List<AttentionCounters> parts) {
        for (int h = 0; h < H; h++) {
            int head = h;
            assertEquals(one.queries().get(h), parts.stream().mapToLong(p -> p.queries().get(head)).sum());
            assertEquals(one.entropyQueries().get(h),
                    parts.stream().mapToLong(p -> p.entropyQueries().get(head)).sum());
            close(one.sinkMass().get(h), parts.stream().mapToDouble(p -> p.sinkMass().get(head)).sum(), 1e-12,
                    "sink mass");
            close(one.entropySum().get(h), parts.stream().mapToDouble(p -> p.entropySum().get(head)).sum(), 1e-12,
                    "entropy sum");
        }
    }

    private static long nonzeroRows(Reference.Sequence s) {
        return s.rows().stream().filter(r -> Arrays.stream(r).anyMatch(v -> v != 0)).count();
    }

    private static ProbedBatch request(RandomTaps taps, int n) {
        Random rnd = taps.random();
        int b = 1 + rnd.nextInt(4);
        int t = n % 7 == 3 ? 1 : 1 + rnd.nextInt(12);
        byte[] mask = n % 5 == 0 ? null : taps.mask(b, t);
        Map<String, TapTensor> tensors = new HashMap<>();
        tensors.put("res", new TapTensor(taps.buffer(taps.activations(b * t, D)), new long[] {b, t, D}));
        tensors.put("act", new TapTensor(taps.buffer(taps.activations(b * t, F)), new long[] {b, t, F}));
        tensors.put("att", new TapTensor(taps.buffer(taps.attention(b, H, t, mask)), new long[] {b, H, t, t}));
        return new ProbedBatch(b, t, mask, tensors);
    }

    private static void close(double expected, double actual, double tol, String what) {
        assertEquals(expected, actual, tol * Math.max(1.0, Math.abs(expected)), what);
    }
}
