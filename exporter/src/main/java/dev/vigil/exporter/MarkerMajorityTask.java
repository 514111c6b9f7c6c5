package dev.vigil.exporter;

import java.util.SplittableRandom;

/**
 * A deterministic, seeded long-range counting task: which of {@code classes} marker tokens occurs
 * most often? Position 0 holds a fixed start token; the rest is noise tokens among which every marker
 * appears a random number of times (0 .. {@code maxOther}) at random positions, except the winner,
 * which appears exactly {@code margin} times more than the most frequent other marker. The answer depends on every
 * marker occurrence, wherever it is, and not on their order or positions, so a global sum over tokens
 * (attention to the markers, or one spectral filter's zero-frequency bin) can express it.
 *
 * <p>Vocabulary: 0 unused (padding), 1 the start token, then {@code classes} marker tokens, then
 * {@code noise} noise tokens. Splits draw from disjoint random streams, as in {@link KeyValueRetrievalTask}.
 *
 * @param seqLen   tokens per sequence
 * @param classes  number of marker tokens (= classes)
 * @param noise    number of noise tokens
 * @param maxOther most occurrences of a marker that does not win
 * @param margin   how many more times the winner occurs than the runner-up
 */
public record MarkerMajorityTask(int seqLen, int classes, int noise, int maxOther, int margin) implements SequenceTask {

    /** Name of this task in exporter.json and on the command line. */
    public static final String KIND = "majority";

    public MarkerMajorityTask {
        if (classes < 2 || noise < 1 || maxOther < 0 || margin < 1) {
            throw new IllegalArgumentException("need classes >= 2, noise >= 1, maxOther >= 0, margin >= 1");
        }
        if (classes * maxOther + margin > seqLen - 1) {
            throw new IllegalArgumentException("seqLen " + seqLen + " too short for " + classes
                    + " markers of up to " + maxOther + " occurrences (+" + margin + " for the winner)");
        }
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public int vocabSize() {
        return 2 + classes + noise;
    }

    public int startToken() {
        return 1;
    }

    public int markerToken(int marker) {
        return 2 + marker;
    }

    public int noiseToken(int index) {
        return 2 + classes + index;
    }

    @Override
    public LabeledBatch batch(long seed, Split split, long first, int size) {
        long[] ids = new long[size * seqLen];
        int[] labels = new int[size];
        int[] counts = new int[classes];
        int[] slots = new int[seqLen - 1];
        for (int b = 0; b < size; b++) {
            SplittableRandom random = new SplittableRandom(split.exampleSeed(seed, first + b));
            int offset = b * seqLen;
            ids[offset] = startToken();
            for (int t = 1; t < seqLen; t++) {
                ids[offset + t] = noiseToken(random.nextInt(noise));
            }
            int winner = random.nextInt(classes);
            int most = 0;
            for (int m = 0; m < classes; m++) {
                counts[m] = m == winner ? 0 : random.nextInt(maxOther + 1);
                most = Math.max(most, counts[m]);
            }
            counts[winner] = most + margin;
            // distinct positions 1..seqLen-1: a partial Fisher-Yates shuffle
            for (int i = 0; i < slots.length; i++) {
                slots[i] = i + 1;
            }
            int used = 0;
            for (int m = 0; m < classes; m++) {
                for (int c = 0; c < counts[m]; c++, used++) {
                    int j = used + random.nextInt(slots.length - used);
                    int position = slots[j];
                    slots[j] = slots[used];
                    slots[used] = position;
                    ids[offset + position] = markerToken(m);
                }
            }
            labels[b] = winner;
        }
        return new LabeledBatch(ids, labels, size, seqLen);
    }
}
