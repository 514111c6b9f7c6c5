package dev.vigil.probes.stats;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A dead-neuron statistic fed the rows its tensor's quant statistic copies keeps the same sums, bit for bit, as one
 * reading the tap itself: over padded batches, row counts that are not multiples of the float blocks, and a window
 * reset between requests.
 */
class DeadNeuronFeedTest {
    @Test
    void fedRowsGiveTheSameSumsAsReadingTheTap() {
        RandomTaps taps = new RandomTaps(11);
        for (int width : new int[] {1536, 37}) {
            DeadNeuronStat alone = new DeadNeuronStat(0.1);
            DeadNeuronStat fed = new DeadNeuronStat(0.1);
            QuantRangeStat quant = new QuantRangeStat(6.0);
            assertTrue(quant.feed(fed));
            assertFalse(quant.feed(new DeadNeuronStat(0.1)), "one statistic is fed");
            for (int request = 0; request < 6; request++) {
                int batch = 1 + taps.random().nextInt(4);
                int tokens = 1 + taps.random().nextInt(70);
                byte[] mask = taps.mask(batch, tokens);
                TapTensor t = new TapTensor(taps.buffer(taps.activations(batch * tokens, width)),
                        new long[] {batch, tokens, width});
                RowLayout layout = RowLayout.of("act", t, new ProbedBatch(batch, tokens, mask, Map.of("act", t)));
                alone.observe(t, layout);
                quant.observe(t, layout);
                if (request == 3) {
                    alone.reset();
                    fed.reset();
                }
                for (int j = 0; j < width; j++) {
                    assertEquals(Double.doubleToRawLongBits(alone.sumAbs(j)), Double.doubleToRawLongBits(fed.sumAbs(j)),
                            "width " + width + " request " + request + " channel " + j);
                }
                assertEquals(alone.snapshot(), fed.snapshot());
            }
        }
    }
}
