package dev.vigil.probes.stats;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A quant statistic that takes a residual site's rows as its massive-activation statistic reads them gives the same
 * window and cumulative values, bit for bit, as one reading the tap itself: padded batches, row counts that are not
 * multiples of the 32-row blocks, widths that split the median's copy blocks mid-way, and a window closed between
 * requests.
 */
class StreamedQuantTest {
    @Test
    void streamedRowsGiveTheSameStatisticsAsReadingTheTap() {
        RandomTaps taps = new RandomTaps(23);
        for (int width : new int[] {384, 37}) {
            QuantRangeStat alone = new QuantRangeStat(6.0);
            QuantRangeStat streamed = new QuantRangeStat(6.0);
            assertTrue(streamed.stream());
            assertFalse(streamed.stream(), "one site streams");
            MassiveActivationStat massive = new MassiveActivationStat(100, 1000);
            for (int request = 0; request < 8; request++) {
                int batch = 1 + taps.random().nextInt(4);
                int tokens = 1 + taps.random().nextInt(90);
                byte[] mask = taps.mask(batch, tokens);
                TapTensor t = new TapTensor(taps.buffer(taps.activations(batch * tokens, width)),
                        new long[] {batch, tokens, width});
                RowLayout layout = RowLayout.of("act", t, new ProbedBatch(batch, tokens, mask, Map.of("act", t)));
                alone.observe(t, layout);
                massive.observe(t, layout, null, streamed);
                if (request == 4) {
                    alone.closeWindow();
                    streamed.closeWindow();
                }
                String at = "width " + width + " request " + request;
                assertEquals(alone.snapshot(), streamed.snapshot(), at);
                QuantCounters a = alone.counters();
                QuantCounters b = streamed.counters();
                assertEquals(withoutBuckets(a), withoutBuckets(b), at);
                assertEquals(a.absValues().zeroCount(), b.absValues().zeroCount(), at);
                assertEquals(a.absValues().size(), b.absValues().size(), at);
                for (int i = 0; i < a.absValues().size(); i++) {
                    assertEquals(a.absValues().index(i), b.absValues().index(i), at);
                    assertEquals(a.absValues().count(i), b.absValues().count(i), at);
                }
            }
        }
    }

    private static QuantCounters withoutBuckets(QuantCounters c) {
        return new QuantCounters(c.values(), c.nonFinite(), c.positiveSum(), c.negativeSum(), c.sumSquares(),
                c.positiveCubes(), c.negativeCubes(), c.fourthPowers(), null);
    }
}
