package dev.vigil.exporter;

/** Which stream of a {@link SequenceTask} an example comes from; the streams never share an example. */
public enum Split {
    TRAIN, VALIDATION;

    /**
     * Seed of example {@code index} of this split under {@code seed}: a SplitMix64-style hash of
     * (seed, split, index), so every example has its own independent random stream.
     */
    long exampleSeed(long seed, long index) {
        long z = seed * 0x9E3779B97F4A7C15L + ordinal() * 0xBF58476D1CE4E5B9L + index * 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
