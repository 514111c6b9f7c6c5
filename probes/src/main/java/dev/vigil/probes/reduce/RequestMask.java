package dev.vigil.probes.reduce;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;

/**
 * The request's attention mask inside the graph: B and T from its {@code [B,T]} shape, and the mask of an axis of
 * length L as {@link dev.vigil.probes.stats.ModelProbe} reads it: the mask when {@code L == T}, every position real
 * otherwise (a tensor with no token axis, or queries of a KV-cached step).
 */
final class RequestMask {
    final String batch;
    final String tokens;
    private final String maskFloat;
    private final GraphWriter g;

    RequestMask(GraphWriter g, String maskInput) {
        this.g = g;
        String shape = g.op("Shape", maskInput);
        batch = g.slice(shape, 0, 1, 0);
        tokens = g.slice(shape, 1, 2, 0);
        maskFloat = g.cast(maskInput, DataType.FLOAT);
    }

    /** Bool {@code [B, L]} for an axis of length {@code length} (a 1-element int64 tensor). */
    String axis(String length) {
        String head = g.op("Slice", maskFloat, g.longs(0), length, g.longs(1));
        String headLength = g.slice(g.op("Shape", head), 1, 2, 0);
        String pads = g.op("Concat", java.util.List.of(g.longs(0, 0, 0), g.op("Sub", length, headLength)),
                GraphWriter.attr("axis", 0));
        String padded = g.op("Pad", head, pads, g.scalar(1f));
        String chosen = g.op("Where", g.op("Equal", length, tokens), padded, g.scalar(1f));
        return g.cast(chosen, DataType.BOOL);
    }
}
