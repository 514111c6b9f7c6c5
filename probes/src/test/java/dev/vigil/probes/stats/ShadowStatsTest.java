package dev.vigil.probes.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteKind;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@link ShadowStats} on a request small enough to work out by hand: masking, zero rows, argmax, non-finite rows. */
class ShadowStatsTest {
    private static final ProbeSite X = new ProbeSite(SiteKind.MATMUL_INPUT, 0, "x", List.of("B", "T", "2"), "MatMul");
    /** B = 2, T = 2; position 1 of sequence 1 is padding. */
    private static final byte[] MASK = {1, 1, 1, 0};

    @Test
    void sumsMatchTheHandComputedRequest() {
        ShadowStats stats = new ShadowStats(List.of(X), List.of("logits", "router"), Set.of("logits", "absent"));
        ProbedBatch request = request();
        stats.add(request, Map.of("x", tap(new long[] {2, 2, 2}, 1.5f, 2, 3, 4, 5, 5, 0, 0)), floatOutputs(),
                quantizedOutputs());
        ShadowSnapshot s = stats.snapshot();
        // x: Σx² over the three real rows = 1+4+9+16+25+36 = 91; Σe² = 0.5² + 1² = 1.25 (the padded row's 7, 8 vs 0
        // would add 113)
        ShadowSnapshot.Site x = s.sites().get(0);
        assertEquals(91, x.signal(), 1e-12);
        assertEquals(1.25, x.error(), 1e-12);
        assertEquals(10 * Math.log10(91 / 1.25), x.sqnrDb(), 1e-12);
        assertEquals(91, x.signalTotal(), 1e-12);
        // logits [2, 3]: row 0 scaled (cosine 1, argmax agrees), row 1 reversed (10/14, argmax 0 vs 2)
        ShadowSnapshot.Output logits = s.outputs().get(0);
        assertEquals(2, logits.rows());
        assertEquals((1 + 10.0 / 14) / 2, logits.cosine(), 1e-12);
        assertEquals(0.5, logits.top1Agreement(), 1e-12);
        assertEquals(2 - (1 + 10.0 / 14), logits.distanceTotal(), 1e-12);
        // router [2, 2, 2]: two zero rows agree (1), a zero row against [1, 0] does not (0), the NaN row is left out
        // and counted, the padded row is not looked at; not a class output
        ShadowSnapshot.Output router = s.outputs().get(1);
        assertEquals(2, router.rows());
        assertEquals(0.5, router.cosine(), 1e-12);
        assertTrue(Double.isNaN(router.top1Agreement()));
        assertEquals(1, s.nonFinite());
    }

    @Test
    void restartClearsTheSumsSinceBuildButNotTheCounters() {
        ShadowStats stats = new ShadowStats(List.of(X), List.of("logits", "router"), Set.of("logits"));
        Map<String, TapTensor> xq = Map.of("x", tap(new long[] {2, 2, 2}, 1.5f, 2, 3, 4, 5, 5, 0, 0));
        stats.add(request(), xq, floatOutputs(), quantizedOutputs());
        stats.restart();
        ShadowSnapshot empty = stats.snapshot();
        assertTrue(Double.isNaN(empty.sites().get(0).sqnrDb()));
        assertTrue(Double.isNaN(empty.outputs().get(0).cosine()));
        assertEquals(91, empty.sites().get(0).signalTotal(), 1e-12);
        assertEquals(2, empty.outputs().get(0).rowsTotal());
        stats.add(request(), xq, floatOutputs(), quantizedOutputs());
        ShadowSnapshot s = stats.snapshot();
        assertEquals(91, s.sites().get(0).signal(), 1e-12);
        assertEquals(182, s.sites().get(0).signalTotal(), 1e-12);
        assertEquals(2.5, s.sites().get(0).errorTotal(), 1e-12);
        assertEquals(4, s.outputs().get(1).rowsTotal());
    }

    @Test
    void exactQuantizedValuesGiveInfiniteSqnrAndAShapeMismatchChangesNothing() {
        ShadowStats stats = new ShadowStats(List.of(X), List.of("logits"), Set.of());
        ProbedBatch request = request();
        TapTensor same = request.tensors().get("x");
        Map<String, TapTensor> wrong = Map.of("logits", tap(new long[] {3, 2}, 1, 2, 3, 4, 5, 6));
        assertThrows(IllegalArgumentException.class, () -> stats.add(request, Map.of("x", same), floatOutputs(), wrong));
        assertEquals(0, stats.snapshot().sites().get(0).signalTotal());
        stats.add(request, Map.of("x", same), Map.of(), Map.of());
        assertEquals(Double.POSITIVE_INFINITY, stats.snapshot().sites().get(0).sqnrDb());
        assertEquals(0, stats.snapshot().outputs().get(0).rowsTotal(), "an output missing from a run is not compared");
    }

    private static ProbedBatch request() {
        return new ProbedBatch(2, 2, MASK, Map.of("x", tap(new long[] {2, 2, 2}, 1, 2, 3, 4, 5, 6, 7, 8)));
    }

    private static Map<String, TapTensor> floatOutputs() {
        return Map.of("logits", tap(new long[] {2, 3}, 1, 2, 3, 3, 2, 1),
                "router", tap(new long[] {2, 2, 2}, 0, 0, 1, 0, 1, 1, 9, 9));
    }

    private static Map<String, TapTensor> quantizedOutputs() {
        return Map.of("logits", tap(new long[] {2, 3}, 2, 4, 6, 1, 2, 3),
                "router", tap(new long[] {2, 2, 2}, 0, 0, 0, 0, Float.NaN, 1, 0, 0));
    }

    private static TapTensor tap(long[] shape, float... values) {
        return new TapTensor(FloatBuffer.wrap(values), shape);
    }
}
