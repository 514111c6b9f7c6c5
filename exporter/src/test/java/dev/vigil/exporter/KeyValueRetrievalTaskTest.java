package dev.vigil.exporter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KeyValueRetrievalTaskTest {
    private final KeyValueRetrievalTask task = new KeyValueRetrievalTask(64, 8, 5, 10, 3);

    @Test
    void labelIsTheValueAfterTheQueryKeyAndDistractorsHaveOtherKeys() {
        LabeledBatch batch = task.batch(5, Split.TRAIN, 0, 200);
        int[] labelCounts = new int[task.classes()];
        for (int b = 0; b < batch.size(); b++) {
            long[] seq = Arrays.copyOfRange(batch.ids(), b * 64, (b + 1) * 64);
            long query = seq[0];
            assertTrue(query >= 1 && query <= task.keys(), "position 0 holds a key token");
            int keyTokens = 0;
            int queryHits = 0;
            for (int t = 1; t < 64; t++) {
                if (seq[t] >= 1 && seq[t] <= task.keys()) {
                    keyTokens++;
                    long next = seq[t + 1];
                    assertTrue(next > task.keys() && next <= task.keys() + task.classes(), "a value follows every key");
                    if (seq[t] == query) {
                        queryHits++;
                        assertEquals(batch.labels()[b], next - 1 - task.keys(), "label = value after the query key");
                    }
                }
            }
            assertEquals(task.pairs(), keyTokens, "one key token per pair");
            assertEquals(1, queryHits, "the query key occurs once after position 0");
            labelCounts[batch.labels()[b]]++;
        }
        for (int count : labelCounts) {
            assertTrue(count > 200 / task.classes() / 3, "labels are spread over classes: " + Arrays.toString(labelCounts));
        }
    }

    @Test
    void examplesAreAPureFunctionOfSeedSplitAndIndex() {
        LabeledBatch whole = task.batch(9, Split.TRAIN, 10, 4);
        LabeledBatch again = task.batch(9, Split.TRAIN, 10, 4);
        LabeledBatch shifted = task.batch(9, Split.TRAIN, 12, 2);
        assertArrayEquals(whole.ids(), again.ids());
        assertArrayEquals(Arrays.copyOfRange(whole.ids(), 2 * 64, 4 * 64), shifted.ids());
        assertFalse(Arrays.equals(whole.ids(), task.batch(10, Split.TRAIN, 10, 4).ids()));
    }

    @Test
    void validationSequencesNeverAppearInTraining() {
        Set<String> train = new HashSet<>();
        LabeledBatch t = task.batch(1, Split.TRAIN, 0, 2000);
        for (int b = 0; b < t.size(); b++) {
            train.add(Arrays.toString(Arrays.copyOfRange(t.ids(), b * 64, (b + 1) * 64)));
        }
        LabeledBatch v = task.batch(1, Split.VALIDATION, 0, 500);
        for (int b = 0; b < v.size(); b++) {
            assertFalse(train.contains(Arrays.toString(Arrays.copyOfRange(v.ids(), b * 64, (b + 1) * 64))));
        }
    }

    @Test
    void rejectsImpossibleConfigurations() {
        assertThrows(IllegalArgumentException.class, () -> new KeyValueRetrievalTask(64, 2, 5, 10, 3));
        assertThrows(IllegalArgumentException.class, () -> new KeyValueRetrievalTask(6, 8, 5, 10, 3));
    }
}
