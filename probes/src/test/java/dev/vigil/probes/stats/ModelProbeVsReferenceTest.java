package dev.vigil.probes.stats;

import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteKind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random requests (random masks with left/right padding and all-masked sequences, one-token sequences, [B,T,D],
 * [B*T,D] and [B,K] rows, [B,H,T,T] and [B*H,T,T] attention, causal rows) through a {@link ModelProbe} with a small
 * window; after every request the published snapshot is compared with {@link Reference} over the right window. Run
 * once with the statistics computed on the host and once reduced inside the graph ({@link GraphReducer}, ONNX
 * Runtime's CPU execution provider): the in-graph sums run in float over a whole request, so the sums that the host
 * keeps in double (key mass, cosine, kurtosis) get float tolerances there.
 */
class ModelProbeVsReferenceTest {
    private static final ProbeSite RES = new ProbeSite(SiteKind.RESIDUAL, 0, "res", List.of(), "LayerNormalization");
    private static final ProbeSite ROWS = new ProbeSite(SiteKind.RESIDUAL, 1, "res_flat", List.of(), "RMSNorm");
    private static final ProbeSite ACT = new ProbeSite(SiteKind.MLP, 0, "act", List.of(), "Erf-GELU");
    private static final ProbeSite ACT_IN = new ProbeSite(SiteKind.MATMUL_INPUT, 0, "act", List.of(), "MatMul");
    private static final ProbeSite POOL = new ProbeSite(SiteKind.MATMUL_INPUT, 1, "pool", List.of(), "Gemm");
    private static final ProbeSite ATT4 = new ProbeSite(SiteKind.ATTENTION, 0, "att4", List.of(), "Softmax->MatMul");
    private static final ProbeSite ATT3 = new ProbeSite(SiteKind.ATTENTION, 1, "att3", List.of(), "Softmax->MatMul");
    private static final List<ProbeSite> SITES = List.of(RES, ROWS, ACT, ACT_IN, POOL, ATT4, ATT3);

    private static final int D = 24;
    private static final int F = 40;
    private static final int H = 3;

    private final ProbeSettings settings = new ProbeSettings(true, 1.0, 50, "attention_mask", List.of(), List.of(),
            6.0, 4.0, 0.3, 0.025, 6.0);
    private int sqnrChecks;

    /** How requests reach the statistics. */
    enum Strategy { HOST, GRAPH }

    private Strategy strategy;

    @ParameterizedTest
    @EnumSource(Strategy.class)
    void windowsMatchTheBruteForceReference(Strategy strategy) {
        this.strategy = strategy;
        RandomTaps taps = new RandomTaps(7);
        ModelProbe probe = new ModelProbe(SITES, settings);
        try (GraphReducer reducer = strategy == Strategy.GRAPH ? new GraphReducer(probe.sites(), settings) : null) {
            run(taps, probe, reducer);
        }
    }

    private void run(RandomTaps taps, ModelProbe probe, GraphReducer reducer) {
        List<ProbedBatch> all = new ArrayList<>();
        List<ProbedBatch> open = new ArrayList<>();
        List<ProbedBatch> lastClosed = null;
        long openTokens = 0;
        long windows = 0;
        for (int n = 0; n < 60; n++) {
            ProbedBatch req = request(taps, n);
            if (reducer == null) {
                probe.observe(req);
            } else {
                probe.observeReduced(reducer.reduce(req));
            }
            all.add(req);
            open.add(req);
            openTokens += req.unmaskedTokens();
            if (openTokens >= settings.windowTokens()) {
                lastClosed = open;
                open = new ArrayList<>();
                openTokens = 0;
                windows++;
            }
            ProbeSnapshot snap = probe.snapshot();
            List<ProbedBatch> window = lastClosed == null ? open : lastClosed;
            assertEquals(openTokens, probe.openWindowTokens());
            assertEquals(openTokens, snap.openWindowTokens());
            assertEquals(lastClosed != null, snap.window().closed());
            assertEquals(lastClosed == null ? 0 : windows - 1, snap.window().index());
            assertEquals(window.stream().mapToLong(ProbedBatch::unmaskedTokens).sum(), snap.window().tokens());
            assertEquals(n + 1, snap.probedRequests());
            compare(snap, window, all, "after request " + n);
        }
        assertTrue(windows >= 5, "the test should close several windows, closed " + windows);
        assertTrue(sqnrChecks > 0, "some windows should be large enough for the SQNR check");
        MassiveSnapshot last = probe.snapshot().sites().get(0).massive();
        assertEquals(17, last.channelHits().size(), "16 named channels and other: " + last.channelHits());
    }

    private ProbedBatch request(RandomTaps taps, int n) {
        var rnd = taps.random();
        int b = 1 + rnd.nextInt(4);
        int t = n % 7 == 3 ? 1 : 1 + rnd.nextInt(12);
        byte[] mask = n % 5 == 0 ? null : taps.mask(b, t);
        Map<String, TapTensor> tensors = new HashMap<>();
        tensors.put("res", new TapTensor(taps.buffer(taps.activations(b * t, D)), new long[] {b, t, D}));
        tensors.put("res_flat", new TapTensor(taps.buffer(taps.activations(b * t, D)), new long[] {(long) b * t, D}));
        tensors.put("act", new TapTensor(taps.buffer(taps.activations(b * t, F)), new long[] {b, t, F}));
        tensors.put("pool", new TapTensor(taps.buffer(taps.activations(b, D)), new long[] {b, D}));
        tensors.put("att4", new TapTensor(taps.buffer(taps.attention(b, H, t, mask)), new long[] {b, H, t, t}));
        tensors.put("att3", new TapTensor(taps.buffer(taps.attention(b, H, t, mask)), new long[] {(long) b * H, t, t}));
        return new ProbedBatch(b, t, mask, tensors);
    }

    private void compare(ProbeSnapshot snap, List<ProbedBatch> window, List<ProbedBatch> all, String when) {
        assertEquals(SITES, snap.sites().stream().map(SiteSnapshot::site).toList());
        for (SiteSnapshot s : snap.sites()) {
            String where = when + ", site " + s.site().tensor() + "/" + s.site().kind().label();
            List<Reference.Sequence> seqs = Reference.windowSequences(window, s.site().tensor());
            switch (s.site().kind()) {
                case MLP -> {
                    Reference.Dead d = Reference.dead(seqs, settings.dormantTau());
                    assertEquals(F, s.dead().neurons(), where);
                    close(d.deadRatio(), s.dead().deadRatio(), 1e-12, where + " dead ratio");
                    close(d.dormantRatio(), s.dead().dormantRatio(), 1e-12, where + " dormant ratio");
                    quant(seqs, s.quant(), where);
                }
                case RESIDUAL -> {
                    Reference.Massive m = Reference.massive(seqs, settings.massiveAbsThreshold(),
                            settings.massiveMedianRatio());
                    assertEquals(m.count(), s.massive().windowCount(), where + " massive count");
                    close(m.ratio(), s.massive().ratio(), 1e-9, where + " massive ratio");
                    close(m.count() == 0 ? Double.NaN : (double) m.firstToken() / m.count(),
                            s.massive().firstTokenFraction(), 1e-12, where + " first token fraction");
                    Reference.Massive cumulative = Reference.massive(Reference.windowSequences(all, s.site().tensor()),
                            settings.massiveAbsThreshold(), settings.massiveMedianRatio());
                    assertEquals(cumulative.count(), s.massive().total(), where + " massive total");
                    assertEquals(expectedHits(cumulative), s.massive().channelHits(), where + " channel hits");
                    assertEquals(new ArrayList<>(expectedHits(cumulative).keySet()),
                            new ArrayList<>(s.massive().channelHits().keySet()), where + " channel order");
                    close(Reference.cosine(seqs), s.cosine().cosineSimilarity(), tolerance(1e-9, 1e-5), where + " cosine");
                    quant(seqs, s.quant(), where);
                }
                case MATMUL_INPUT -> quant(seqs, s.quant(), where);
                case ATTENTION -> {
                    Reference.Attention a = Reference.attention(window, s.site().tensor());
                    assertEquals(a.queries(), s.attention().queries(), where + " queries");
                    int sinkHeads = 0;
                    for (int h = 0; h < H; h++) {
                        close(a.sink()[h], s.attention().sinkScore().get(h), 1e-9, where + " sink head " + h);
                        close(a.entropy()[h], s.attention().entropy().get(h), 0.01, where + " entropy head " + h);
                        sinkHeads += a.sink()[h] > settings.sinkEpsilon() ? 1 : 0;
                    }
                    close((double) sinkHeads / H, s.attention().sinkHeadsRatio(), 1e-12, where + " sink heads");
                    // the host sums key masses in float over at most 64 rows, then in double: relative error < 64·2^-24
                    close(a.maxKeyMass(), s.attention().maxKeyMass(), tolerance(4e-6, 1e-6), where + " max key mass");
                }
                default -> throw new AssertionError(s.site().kind());
            }
        }
    }

    private static Map<String, Long> expectedHits(Reference.Massive m) {
        Map<String, Long> hits = new LinkedHashMap<>();
        long named = 0;
        for (int i = 0; i < Math.min(16, m.firstHitOrder().size()); i++) {
            int ch = m.firstHitOrder().get(i);
            hits.put(Integer.toString(ch), m.channelHits().get(ch));
            named += m.channelHits().get(ch);
        }
        if (m.count() > named) {
            hits.put("other", m.count() - named);
        }
        return hits;
    }

    private void quant(List<Reference.Sequence> seqs, QuantSnapshot q, String where) {
        if (seqs.stream().allMatch(s -> s.rows().isEmpty())) {
            assertEquals(0, q.count(), where);
            return;
        }
        Reference.Quant r = Reference.quant(seqs, settings.outlierThreshold());
        assertEquals(r.count(), q.count(), where + " count");
        close(r.min(), q.min(), 0, where + " min");
        close(r.max(), q.max(), 0, where + " max");
        close(r.absMax(), q.absMax(), 0, where + " abs max");
        close(r.p999(), q.absP999(), 0.01, where + " p999");
        close(r.p9999(), q.absP9999(), 0.01, where + " p9999");
        close(r.p99999(), q.absP99999(), 0.01, where + " p99999");
        close(r.kurtosis(), q.kurtosis(), tolerance(1e-6, 1e-4), where + " kurtosis (float sums per channel over 16 rows)");
        assertEquals(r.outliers(), q.outlierChannels(), where + " outliers");
        if (r.count() >= 1500) {
            sqnrChecks++;
            assertEquals(r.sqnrAbsMax(), q.sqnrAbsMaxDb(), 1.0, where + " sqnr absmax");
            assertEquals(r.sqnrPercentile(), q.sqnrPercentileDb(), 1.0, where + " sqnr percentile");
        }
    }

    /** The host's tolerance, or the in-graph one for a sum the graph keeps in float. */
    private double tolerance(double host, double graph) {
        return strategy == Strategy.HOST ? host : graph;
    }

    /** Relative tolerance (absolute below 1); NaN must match NaN, infinities must match. */
    static void close(double expected, double actual, double tol, String what) {
        if (Double.isNaN(expected) || Double.isInfinite(expected)) {
            assertEquals(expected, actual, what);
            return;
        }
        assertEquals(expected, actual, tol * Math.max(1.0, Math.abs(expected)), what);
    }
}
