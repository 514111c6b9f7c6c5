package dev.vigil.probes.stats;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Asserts that two snapshots of the same requests agree: one whose statistics were computed on the host, one whose
 * requests were reduced inside the graph. Counts, extrema, medians, histograms and what follows from them must be
 * equal; sums the graph keeps in float over a request agree to {@code floatTolerance} (relative, absolute below 1).
 */
final class SnapshotAgreement {
    private SnapshotAgreement() {
    }

    static void assertAgree(ProbeSnapshot host, ProbeSnapshot graph, double floatTolerance) {
        assertEquals(host.window(), graph.window());
        assertEquals(host.probedTokens(), graph.probedTokens());
        assertEquals(host.sites().size(), graph.sites().size());
        for (int i = 0; i < host.sites().size(); i++) {
            SiteSnapshot h = host.sites().get(i);
            SiteSnapshot g = graph.sites().get(i);
            String where = h.site().tensor() + "/" + h.site().kind().label();
            assertEquals(h.site(), g.site());
            assertEquals(h.observedShape(), g.observedShape(), where + " shape");
            if (h.dead() != null) {
                assertEquals(h.dead().neurons(), g.dead().neurons(), where);
                assertEquals(h.dead().rows(), g.dead().rows(), where + " rows");
                assertEquals(h.dead().deadCount(), g.dead().deadCount(), where + " dead");
                assertEquals(h.dead().dormantCount(), g.dead().dormantCount(), where + " dormant");
            }
            if (h.massive() != null) {
                assertEquals(h.massive().windowCount(), g.massive().windowCount(), where + " massive count");
                close(h.massive().ratio(), g.massive().ratio(), 0, where + " massive ratio (exact medians)");
                close(h.massive().firstTokenFraction(), g.massive().firstTokenFraction(), 0, where + " first token");
                assertEquals(h.massive().total(), g.massive().total(), where + " massive total");
                assertEquals(List.copyOf(h.massive().channelHits().entrySet()),
                        List.copyOf(g.massive().channelHits().entrySet()), where + " channel hits in order");
            }
            if (h.cosine() != null) {
                assertEquals(h.cosine().sequences(), g.cosine().sequences(), where + " cosine sequences");
                close(h.cosine().cosineSimilarity(), g.cosine().cosineSimilarity(), floatTolerance, where + " cosine");
            }
            if (h.attention() != null) {
                AttentionSnapshot a = h.attention();
                AttentionSnapshot b = g.attention();
                assertEquals(a.heads(), b.heads(), where);
                assertEquals(a.queries(), b.queries(), where + " queries");
                for (int head = 0; head < a.heads(); head++) {
                    close(a.sinkScore().get(head), b.sinkScore().get(head), 1e-9, where + " sink " + head);
                    close(a.entropy().get(head), b.entropy().get(head), 1e-4, where + " entropy " + head);
                }
                close(a.sinkHeadsRatio(), b.sinkHeadsRatio(), 0, where + " sink heads");
                close(a.maxKeyMass(), b.maxKeyMass(), floatTolerance, where + " max key mass");
                assertEquals(a.maxKeyPosition(), b.maxKeyPosition(), where + " max key position");
                assertEquals(a.maxKeyHead(), b.maxKeyHead(), where + " max key head");
                AttentionCounters ca = h.counters().attention();
                AttentionCounters cb = g.counters().attention();
                assertEquals(ca.queries(), cb.queries(), where + " query counters");
                assertEquals(ca.entropyQueries(), cb.entropyQueries(), where + " entropy query counters");
                assertEquals(ca.nonFiniteQueries(), cb.nonFiniteQueries(), where + " non-finite queries");
            }
            if (h.quant() != null) {
                QuantSnapshot a = h.quant();
                QuantSnapshot b = g.quant();
                assertEquals(a.count(), b.count(), where + " count");
                assertEquals(a.channels(), b.channels(), where + " channels");
                close(a.min(), b.min(), 0, where + " min");
                close(a.max(), b.max(), 0, where + " max");
                close(a.absMax(), b.absMax(), 0, where + " abs max");
                close(a.absP999(), b.absP999(), 0, where + " p999 (same buckets)");
                close(a.absP9999(), b.absP9999(), 0, where + " p9999");
                close(a.absP99999(), b.absP99999(), 0, where + " p99999");
                close(a.kurtosis(), b.kurtosis(), 10 * floatTolerance, where + " kurtosis");
                close(a.sqnrAbsMaxDb(), b.sqnrAbsMaxDb(), floatTolerance, where + " sqnr absmax");
                close(a.sqnrPercentileDb(), b.sqnrPercentileDb(), floatTolerance, where + " sqnr percentile");
                assertEquals(a.outlierChannels(), b.outlierChannels(), where + " outliers");
                QuantCounters qa = h.counters().quant();
                QuantCounters qb = g.counters().quant();
                assertEquals(qa.values(), qb.values(), where + " values counter");
                assertEquals(qa.nonFinite(), qb.nonFinite(), where + " non-finite counter");
                // the host derives these from its shifted moments (cancellation near 1e-4 relative on MiniLM's
                // residuals); the graph's are checked against double sums where the tensors are at hand
                close(qa.sumSquares(), qb.sumSquares(), 1e-3, where + " sum of squares");
                close(qa.fourthPowers(), qb.fourthPowers(), 1e-3, where + " fourth powers");
                close(qa.positiveSum(), qb.positiveSum(), 1e-3, where + " positive sum");
                close(qa.negativeCubes(), qb.negativeCubes(), 1e-3, where + " negative cubes");
                AbsValueBuckets ha = qa.absValues();
                AbsValueBuckets hb = qb.absValues();
                assertEquals(ha.zeroCount(), hb.zeroCount(), where + " zero bucket");
                assertEquals(ha.size(), hb.size(), where + " native buckets");
                for (int k = 0; k < ha.size(); k++) {
                    assertEquals(ha.index(k), hb.index(k), where + " native bucket index");
                    assertEquals(ha.count(k), hb.count(k), where + " native bucket " + ha.index(k));
                }
            }
        }
    }

    /** Relative tolerance (absolute below 1); NaN must match NaN. */
    static void close(double expected, double actual, double tol, String what) {
        if (Double.isNaN(expected) || Double.isInfinite(expected)) {
            assertEquals(expected, actual, what);
            return;
        }
        assertEquals(expected, actual, tol * Math.max(1.0, Math.abs(expected)), what);
    }
}
