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
public record ReducedBatch(int batch, int tokens, byte[] mask, Map<String, ReducedTensor> outputs) implements MaskedRequest {
    public ReducedBatch {
        MaskedRequest.check("reduced batch", batch, tokens, mask);
        if (outputs == null) {
            throw new IllegalArgumentException("reduced batch needs a map of output name to tensor");
        }
        outputs = Map.copyOf(outputs);
    }
}
