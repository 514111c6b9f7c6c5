package dev.vigil.probes.stats;

import java.util.Map;

/**
 * One probed request whose statistics were reduced inside the model's graph: what leaves the run is a few small
 * vectors per site ({@link ReducedOutputs}) instead of the site tensors. {@link ModelProbe#observeReduced} merges them
 * into the same window accumulators that {@link ModelProbe#observe} feeds.
 *
 * @param batch   B, the number of sequences
 * @param tokens  T, the sequence length of the request (padded)
 * @param mask    the attention mask, length B·T, nonzero = real token; null when the request has none (all real)
 * @param outputs the reduction outputs by output name; sites whose outputs are absent are not updated
 */
public record ReducedBatch(int batch, int tokens, byte[] mask, Map<String, ReducedTensor> outputs) {
    public ReducedBatch {
        if (batch < 1 || tokens < 1) {
            throw new IllegalArgumentException("reduced batch needs batch >= 1 and tokens >= 1, got batch=" + batch
                    + " tokens=" + tokens);
        }
        if (mask != null && mask.length != (long) batch * tokens) {
            throw new IllegalArgumentException("attention mask has " + mask.length + " entries, expected batch*tokens="
                    + (long) batch * tokens);
        }
        if (outputs == null) {
            throw new IllegalArgumentException("reduced batch needs a map of output name to tensor");
        }
        outputs = Map.copyOf(outputs);
    }

    /** Unmasked tokens of the request: nonzero mask entries, or B·T without a mask. */
    public long unmaskedTokens() {
        if (mask == null) {
            return (long) batch * tokens;
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
    boolean real(int b, int t) {
        return mask == null || mask[b * tokens + t] != 0;
    }
}
