package dev.vigil.exporter;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Parameter counts summed over the real initialized tensors, against the seeds' table (docs/EFT.md)
 * and against a closed form written out by hand.
 */
class ParameterCountTest {

    /** The configurations docs/EFT.md derives from the table's four numbers. */
    @ParameterizedTest
    @CsvSource({
        "PRENORM, 9999, 8, 2, 512, 438114",
        "PRENORM, 9999, 8, 2, 1024, 454498",
        "EFT, 10511, 16, 10, 512, 751978",
        "EFT, 10511, 16, 10, 1024, 1030506",
    })
    void reproducesTheSeedsTable(Architecture architecture, int vocab, int layers, int classes, int seqLen, long expected) {
        ModelOptions options = new ModelOptions(architecture, vocab, seqLen, 32, layers, 4, 128, classes,
                MlpActivation.GELU, Pooling.MEAN);
        try (NDManager manager = NDManager.newBaseManager()) {
            assertEquals(expected, SequenceClassifier.create(options, manager).parameterCount());
        }
    }

    @Test
    void matchesTheClosedFormForEveryArchitecture() {
        int v = 37;
        int t = 24;
        int d = 12;
        int l = 3;
        int f = 20;
        int c = 5;
        long embeddings = (long) v * d + (long) t * d;
        long norms = 2L * (2 * d);
        long mlp = (long) d * f + f + (long) f * d + d;
        long attention = 4L * (d * d + d);
        long filter = 2L * (t / 2 + 1) * d;
        long head = (long) d * c + c;
        long finalNorm = 2L * d;
        try (NDManager manager = NDManager.newBaseManager()) {
            assertEquals(embeddings + l * (norms + attention + mlp) + finalNorm + head, count(Architecture.PRENORM, manager));
            assertEquals(embeddings + l * (norms + attention + mlp) + head, count(Architecture.POSTNORM, manager));
            assertEquals(embeddings + l * (norms + filter + mlp) + finalNorm + head, count(Architecture.EFT, manager));
        }
    }

    private static long count(Architecture architecture, NDManager manager) {
        return SequenceClassifier.create(new ModelOptions(architecture, 37, 24, 12, 3, 3, 20, 5,
                MlpActivation.RELU, Pooling.FIRST), manager).parameterCount();
    }
}
