package dev.vigil.probes.stats;

/**
 * A probed request's shape and attention mask, whichever way its statistics arrive ({@link ProbedBatch} with the
 * site tensors, {@link ReducedBatch} with their in-graph reductions): what every statistic's token masking reads.
 */
public interface MaskedRequest {
    /** B, the number of sequences. */
    int batch();

    /** T, the sequence length of the request (padded). */
    int tokens();

    /** The attention mask, length B·T, nonzero = real token; null when the request has none (all real). */
    byte[] mask();

    /** Unmasked tokens of the request: nonzero mask entries, or B·T without a mask. */
    default long unmaskedTokens() {
        byte[] mask = mask();
        if (mask == null) {
            return (long) batch() * tokens();
        }
        long n = 0;
        for (byte m : mask) {
            if (m != 0) {
                n++;
            }
        }
        return n;
    }

    /** Whether position {@code t} of sequence {@code b} is a real token. */
    default boolean real(int b, int t) {
        byte[] mask = mask();
        return mask == null || mask[b * tokens() + t] != 0;
    }

    /** IllegalArgumentException naming {@code what} unless the shape is positive and the mask, if any, is B·T long. */
    static void check(String what, int batch, int tokens, byte[] mask) {
        if (batch < 1 || tokens < 1) {
            throw new IllegalArgumentException(what + " needs batch >= 1 and tokens >= 1, got batch=" + batch
                    + " tokens=" + tokens);
        }
        if (mask != null && mask.length != (long) batch * tokens) {
            throw new IllegalArgumentException("attention mask has " + mask.length + " entries, expected batch*tokens="
                    + (long) batch * tokens);
        }
    }
}
