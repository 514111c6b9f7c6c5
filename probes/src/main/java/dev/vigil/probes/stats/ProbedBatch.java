package dev.vigil.probes.stats;

import java.util.Map;

/**
 * One probed request.
 *
 * @param batch   B, the number of sequences
 * @param tokens  T, the sequence length of the request (padded)
 * @param mask    the attention mask, length B·T, nonzero = real token; null when the request has none (all real)
 * @param tensors the tapped tensors by ONNX tensor name; sites whose tensor is absent are not updated
 */
public record ProbedBatch(int batch, int tokens, byte[] mask, Map<String, TapTensor> tensors) {
    public ProbedBatch {
        if (batch < 1 || tokens < 1) {
            throw new IllegalArgumentException("probed batch needs batch >= 1 and tokens >= 1, got batch=" + batch
                    + " tokens=" + tokens);
        }
        if (mask != null && mask.length != (long) batch * tokens) {
            throw new IllegalArgumentException("attention mask has " + mask.length + " entries, expected batch*tokens="
                    + (long) batch * tokens);
        }
        if (tensors == null) {
            throw new IllegalArgumentException("probed batch needs a map of tensor name to tensor");
        }
        for (Map.Entry<String, TapTensor> e : tensors.entrySet()) {
            if (e.getKey() == null || e.getValue() == null) {
                throw new IllegalArgumentException("probed batch has a null tensor name or tensor: " + e.getKey());
            }
        }
        tensors = Map.copyOf(tensors);
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
