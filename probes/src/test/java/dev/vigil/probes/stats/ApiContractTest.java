package dev.vigil.probes.stats;

import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteKind;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Site selection, bad input, request summaries and window bookkeeping of the public API. */
class ApiContractTest {
    private static final ProbeSite RES = new ProbeSite(SiteKind.RESIDUAL, 0, "h0", List.of(), "LayerNormalization");
    private static final ProbeSite MLP = new ProbeSite(SiteKind.MLP, 0, "a0", List.of(), "Gelu");
    private static final ProbeSite MM = new ProbeSite(SiteKind.MATMUL_INPUT, 0, "a0", List.of(), "MatMul");
    private static final ProbeSite ATT = new ProbeSite(SiteKind.ATTENTION, 0, "p0", List.of(), "Softmax->MatMul");

    private static TapTensor tensor(long[] shape, float... v) {
        return new TapTensor(FloatBuffer.wrap(v), shape);
    }

    @Test
    void includeAndExcludeTakeTensorNamesAndKinds() {
        List<ProbeSite> all = List.of(RES, MLP, MM, ATT);
        ProbeSettings d = ProbeSettings.defaults();
        assertEquals(all, d.select(all));
        ProbeSettings onlyA0 = new ProbeSettings(true, 1, 10, "m", List.of("a0"), List.of(), 1, 1, 1, 1, 1);
        assertEquals(List.of(MLP, MM), onlyA0.select(all));
        ProbeSettings noMm = new ProbeSettings(true, 1, 10, "m", List.of("a0", "attention"), List.of("matmul_input"),
                1, 1, 1, 1, 1);
        assertEquals(List.of(MLP, ATT), noMm.select(all));
    }

    @Test
    void defaultsAreTheSpecs() {
        ProbeSettings d = ProbeSettings.defaults();
        assertEquals(16384, d.windowTokens());
        assertEquals(100.0, d.massiveAbsThreshold());
        assertEquals(1000.0, d.massiveMedianRatio());
        assertEquals(0.3, d.sinkEpsilon());
        assertEquals(0.025, d.dormantTau());
        assertEquals(6.0, d.outlierThreshold());
        assertThrows(IllegalArgumentException.class,
                () -> new ProbeSettings(true, 1.5, 10, "m", List.of(), List.of(), 1, 1, 1, 1, 1));
    }

    @Test
    void badShapeIsAClearErrorAndChangesNothing() {
        ModelProbe probe = new ModelProbe(List.of(RES, ATT), ProbeSettings.defaults());
        ProbedBatch good = new ProbedBatch(1, 2, null, Map.of("h0", tensor(new long[] {1, 2, 2}, 1, 2, 3, 4)));
        probe.observe(good);
        ProbedBatch bad = new ProbedBatch(1, 2, null, Map.of("h0", tensor(new long[] {1, 2, 2}, 1, 2, 3, 4),
                "p0", tensor(new long[] {2, 2}, 1, 0, 0, 1)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> probe.observe(bad));
        assertTrue(e.getMessage().contains("p0"), e.getMessage());
        assertEquals(4, probe.snapshot().sites().get(0).quant().count());
        assertEquals(2, probe.openWindowTokens());
        IllegalArgumentException rows = assertThrows(IllegalArgumentException.class, () -> probe.observe(
                new ProbedBatch(1, 2, null, Map.of("h0", tensor(new long[] {3, 2}, 1, 2, 3, 4, 5, 6)))));
        assertTrue(rows.getMessage().contains("h0"), rows.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ProbedBatch(2, 2, new byte[3], Map.of()));
    }

    @Test
    void oneTensorTwoSitesSharesItsQuantStatistics() {
        ModelProbe probe = new ModelProbe(List.of(MLP, MM), ProbeSettings.defaults());
        probe.observe(new ProbedBatch(1, 2, null, Map.of("a0", tensor(new long[] {1, 2, 2}, 1, -2, 3, 0))));
        List<SiteSnapshot> sites = probe.snapshot().sites();
        assertEquals(4, sites.get(0).quant().count());
        assertEquals(sites.get(0).quant(), sites.get(1).quant());
        assertEquals(0.5, sites.get(0).dead().deadRatio());
        assertEquals(Map.of("a0", sites.get(0).quant()), probe.snapshot().quantByTensor());
        assertEquals(null, sites.get(1).dead());
    }

    @Test
    void summaryCoversTheRequestAloneAndLeavesTheWindow() {
        ModelProbe probe = new ModelProbe(List.of(RES), ProbeSettings.defaults().withWindowTokens(3));
        ProbedBatch first = new ProbedBatch(1, 2, null, Map.of("h0", tensor(new long[] {1, 2, 2}, 1, 2, 3, 4)));
        ProbedBatch second = new ProbedBatch(1, 2, new byte[] {0, 1},
                Map.of("h0", tensor(new long[] {1, 2, 2}, 100, 100, -7, 5)));
        probe.observe(first);
        RequestSummary s = probe.summarize(second);
        assertEquals(1, s.unmaskedTokens());
        assertEquals(7.0, s.sites().get(0).quant().absMax());
        assertEquals(2, probe.openWindowTokens());
        assertTrue(!probe.snapshot().window().closed());
        probe.observe(second);
        ProbeSnapshot snap = probe.snapshot();
        assertTrue(snap.window().closed());
        assertEquals(3, snap.window().tokens());
        assertEquals(2, snap.window().requests());
        assertEquals(0, snap.openWindowTokens());
        assertEquals(7.0, snap.sites().get(0).quant().absMax());
        assertEquals(6, snap.sites().get(0).quant().count());
    }
}
