package dev.vigil.exporter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TrainingSetTest {
    private static final int T = 32;
    private final MarkerMajorityTask task = new MarkerMajorityTask(T, 4, 6, 2, 1);

    @Test
    void everyEpochVisitsEachTrainingExampleOnceInANewOrder() {
        TrainingSet set = new TrainingSet(task, 3, 50);
        LabeledBatch reference = task.batch(3, Split.TRAIN, 0, 50);
        Map<String, Integer> expected = new HashMap<>();
        for (int b = 0; b < 50; b++) {
            expected.merge(row(reference.ids(), b) + "|" + reference.labels()[b], 1, Integer::sum);
        }
        assertEquals(4, set.stepsPerEpoch(16), "50 examples in batches of 16: 16+16+16+2");
        int[] first = null;
        for (int epoch = 1; epoch <= 3; epoch++) {
            int[] order = set.order(epoch);
            Map<String, Integer> seen = new HashMap<>();
            int total = 0;
            for (int step = 0; step < set.stepsPerEpoch(16); step++) {
                LabeledBatch batch = set.batch(order, step, 16);
                assertEquals(step == 3 ? 2 : 16, batch.size());
                for (int b = 0; b < batch.size(); b++, total++) {
                    seen.merge(row(batch.ids(), b) + "|" + batch.labels()[b], 1, Integer::sum);
                }
            }
            assertEquals(50, total);
            assertEquals(expected, seen, "epoch " + epoch + " is exactly the training split's examples 0..49");
            if (first == null) {
                first = order;
            } else {
                assertFalse(Arrays.equals(first, order), "the order changes between epochs");
            }
        }
        assertThrows(IllegalArgumentException.class, () -> set.batch(set.order(1), 4, 16));
    }

    @Test
    void deterministicAndDisjointFromValidation() {
        TrainingSet a = new TrainingSet(task, 7, 400);
        TrainingSet b = new TrainingSet(task, 7, 400);
        assertArrayEquals(a.order(2), b.order(2));
        assertArrayEquals(a.batch(a.order(2), 1, 64).ids(), b.batch(b.order(2), 1, 64).ids());

        Set<String> train = new HashSet<>();
        int[] order = a.order(1);
        for (int step = 0; step < a.stepsPerEpoch(64); step++) {
            LabeledBatch batch = a.batch(order, step, 64);
            for (int i = 0; i < batch.size(); i++) {
                train.add(row(batch.ids(), i));
            }
        }
        LabeledBatch validation = task.batch(7, Split.VALIDATION, 0, 400);
        for (int i = 0; i < validation.size(); i++) {
            assertFalse(train.contains(row(validation.ids(), i)), "validation example " + i + " is in the training set");
        }
        assertTrue(train.size() > 390, "the training set holds distinct sequences: " + train.size());
        assertThrows(IllegalArgumentException.class, () -> new TrainingSet(task, 7, 0));
    }

    private static String row(long[] ids, int b) {
        return Arrays.toString(Arrays.copyOfRange(ids, b * T, (b + 1) * T));
    }
}
