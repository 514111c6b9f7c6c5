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

class MarkerMajorityTaskTest {
    private final MarkerMajorityTask task = new MarkerMajorityTask(64, 5, 10, 3, 2);

    @Test
    void labelIsTheMarkerCountedMostOftenByAnIndependentScan() {
        LabeledBatch batch = task.batch(5, Split.TRAIN, 0, 300);
        int[] labelCounts = new int[task.classes()];
        int[] marginHistogram = new int[2];
        for (int b = 0; b < batch.size(); b++) {
            int[] counts = new int[task.classes()];
            assertEquals(1, batch.ids()[b * 64], "position 0 holds the start token");
            for (int t = 1; t < 64; t++) {
                long id = batch.ids()[b * 64 + t];
                assertTrue(id >= 2 && id < task.vocabSize(), "only markers and noise after position 0: " + id);
                if (id < 2 + task.classes()) {
                    counts[(int) id - 2]++;
                }
            }
            int[] sorted = counts.clone();
            Arrays.sort(sorted);
            int best = sorted[sorted.length - 1];
            assertEquals(best, counts[batch.labels()[b]], "label is a most frequent marker");
            assertEquals(task.margin(), best - sorted[sorted.length - 2], "the winner leads by exactly the margin");
            assertTrue(sorted[sorted.length - 2] <= task.maxOther());
            marginHistogram[sorted[sorted.length - 2] == 0 ? 0 : 1]++;
            labelCounts[batch.labels()[b]]++;
        }
        for (int count : labelCounts) {
            assertTrue(count > 300 / task.classes() / 3, "labels spread over classes: " + Arrays.toString(labelCounts));
        }
        assertTrue(marginHistogram[1] > 250, "most sequences have competing markers: " + Arrays.toString(marginHistogram));
    }

    @Test
    void examplesAreAPureFunctionOfSeedSplitAndIndex() {
        LabeledBatch whole = task.batch(9, Split.TRAIN, 10, 4);
        assertArrayEquals(whole.ids(), task.batch(9, Split.TRAIN, 10, 4).ids());
        assertArrayEquals(Arrays.copyOfRange(whole.ids(), 2 * 64, 4 * 64), task.batch(9, Split.TRAIN, 12, 2).ids());
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
        assertThrows(IllegalArgumentException.class, () -> new MarkerMajorityTask(64, 1, 10, 3, 2));
        assertThrows(IllegalArgumentException.class, () -> new MarkerMajorityTask(16, 5, 10, 3, 2));
        assertThrows(IllegalArgumentException.class, () -> new MarkerMajorityTask(64, 5, 10, 3, 0));
    }
}
