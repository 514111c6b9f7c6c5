package dev.vigil.exporter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The throughput bench on a tiny model: real ORT sessions, sane rows, the ORT vs DJL check, bad input. */
class InferenceThroughputBenchTest {
    private static final ModelOptions SHAPE = new ModelOptions(Architecture.PRENORM, 20, 2, 16, 2, 2, 24, 5,
            MlpActivation.GELU, Pooling.FIRST);

    @Test
    void measuresBothArchitecturesAtTheRequestedShape() throws Exception {
        ThroughputRow row = new InferenceThroughputBench(SHAPE, 1, 3, 5).measure(32, 2);
        assertEquals(32, row.seqLen());
        assertEquals(2, row.batch());
        assertEquals(3, row.rounds());
        // by hand: the EFT replaces 4 (16x16 + 16) attention tensors by two filters of (32/2+1) x 16 per
        // layer; embeddings, norms, MLP, final norm and head are shared
        long shared = 20 * 16 + 32 * 16 + 2 * (2 * 32 + 16 * 24 + 24 + 24 * 16 + 16) + 2 * 16 + 16 * 5 + 5;
        assertEquals(shared + 2 * 4 * (16 * 16 + 16), row.standardParams());
        assertEquals(shared + 2 * 2 * 17 * 16, row.eftParams());
        assertTrue(row.standardMs() > 0 && row.eftMs() > 0, row.toString());
        assertEquals(2 * 1000.0 / row.eftMs(), row.eftSequencesPerSecond(), 1e-9);
        assertTrue(row.eftSpeedup() > 0 && Double.isFinite(row.eftSpeedup()), row.toString());
    }

    @Test
    void exportCheckFindsOrtEqualToDjlWithSpreadLogits() throws Exception {
        InferenceThroughputBench bench = new InferenceThroughputBench(SHAPE, 1, 1, 1);
        for (Architecture architecture : new Architecture[] {Architecture.PRENORM, Architecture.EFT}) {
            double[] e = bench.exportError(architecture, 64, 2);
            assertTrue(e[1] > 0.1, architecture + ": logits too uniform, spread " + e[1]);
            assertTrue(e[0] < 1e-4, architecture + ": max |ORT - DJL| " + e[0]);
        }
    }

    @Test
    void rejectsBadSettings() {
        assertThrows(IllegalArgumentException.class, () -> new InferenceThroughputBench(SHAPE, 0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new InferenceThroughputBench(SHAPE, 1, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new InferenceThroughputBench(SHAPE, 1, 1, 0));
        assertThrows(IllegalArgumentException.class,
                () -> new InferenceThroughputBench(SHAPE, 1, 1, 1).measure(16, 0));
    }
}
