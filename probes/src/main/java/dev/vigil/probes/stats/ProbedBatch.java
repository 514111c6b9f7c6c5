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
public record ProbedBatch(int batch, int tokens, byte[] mask, Map<String, TapTensor> tensors) implements MaskedRequest {
    public ProbedBatch {
        MaskedRequest.check("probed batch", batch, tokens, mask);
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
}
