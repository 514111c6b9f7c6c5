package dev.vigil.exporter;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A deterministic, seeded long-range retrieval task. Position 0 holds a query key; somewhere in the
 * rest of the sequence, among noise tokens, {@code pairs} distinct keys each appear once immediately
 * followed by a value token. The label is the value that follows the query key. The answer therefore
 * depends on two tokens that can be up to {@code seqLen-1} positions apart, and the other pairs are
 * distractors that only a content-based lookup tells apart.
 *
 * <p>Vocabulary: 0 is unused (reserved for padding), then {@code keys} key tokens, {@code classes}
 * value tokens, {@code noise} noise tokens. Examples are a pure function of (seed, split, index):
 * the training and validation splits draw from disjoint random streams, so validation measures
 * generalization to sequences the model has never seen.
 *
 * @param seqLen  tokens per sequence
 * @param keys    number of distinct key tokens
 * @param classes number of value tokens (= classes)
 * @param noise   number of noise tokens
 * @param pairs   key/value pairs per sequence, the queried one included
 */
public record KeyValueRetrievalTask(int seqLen, int keys, int classes, int noise, int pairs) implements SequenceTask {

    /** Name of this task in exporter.json and on the command line. */
    public static final String KIND = "kv";

    public KeyValueRetrievalTask {
        if (keys < 1 || classes < 2 || noise < 1 || pairs < 1) {
            throw new IllegalArgumentException("need keys >= 1, classes >= 2, noise >= 1, pairs >= 1");
        }
        if (pairs > keys) {
            throw new IllegalArgumentException("pairs (" + pairs + ") cannot exceed distinct keys (" + keys + ")");
        }
        if (2 * pairs > seqLen - 1) {
            throw new IllegalArgumentException("seqLen " + seqLen + " too short for " + pairs + " pairs");
        }
    }

    /** A task sized for a model of the given sequence length and class count. */
    public static KeyValueRetrievalTask standard(int seqLen, int classes) {
        return new KeyValueRetrievalTask(seqLen, 8, classes, 16, 3);
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public int vocabSize() {
        return 1 + keys + classes + noise;
    }

    public int keyToken(int key) {
        return 1 + key;
    }

    public int valueToken(int value) {
        return 1 + keys + value;
    }

    public int noiseToken(int index) {
        return 1 + keys + classes + index;
    }

    /**
     * Examples {@code first .. first+size-1} of a split of the stream named by {@code seed}.
     */
    @Override
    public LabeledBatch batch(long seed, Split split, long first, int size) {
        long[] ids = new long[size * seqLen];
        int[] labels = new int[size];
        int[] chosenKeys = new int[pairs];
        boolean[] occupied = new boolean[seqLen];
        for (int b = 0; b < size; b++) {
            SplittableRandom random = new SplittableRandom(split.exampleSeed(seed, first + b));
            int offset = b * seqLen;
            for (int t = 1; t < seqLen; t++) {
                ids[offset + t] = noiseToken(random.nextInt(noise));
            }
            Arrays.fill(occupied, false);
            occupied[0] = true;
            for (int p = 0; p < pairs; p++) {
                chosenKeys[p] = distinctKey(random, chosenKeys, p);
                int position = freePairStart(random, occupied);
                occupied[position] = true;
                occupied[position + 1] = true;
                int value = random.nextInt(classes);
                ids[offset + position] = keyToken(chosenKeys[p]);
                ids[offset + position + 1] = valueToken(value);
                if (p == 0) {
                    labels[b] = value;
                }
            }
            ids[offset] = keyToken(chosenKeys[0]);
        }
        return new LabeledBatch(ids, labels, size, seqLen);
    }

    private int distinctKey(SplittableRandom random, int[] chosen, int count) {
        while (true) {
            int key = random.nextInt(keys);
            boolean used = false;
            for (int i = 0; i < count; i++) {
                used |= chosen[i] == key;
            }
            if (!used) {
                return key;
            }
        }
    }

    private int freePairStart(SplittableRandom random, boolean[] occupied) {
        while (true) {
            int position = 1 + random.nextInt(seqLen - 2);
            if (!occupied[position] && !occupied[position + 1]) {
                return position;
            }
        }
    }
}
