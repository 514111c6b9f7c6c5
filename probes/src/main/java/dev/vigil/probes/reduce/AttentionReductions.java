package dev.vigil.probes.reduce;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.vigil.probes.stats.ReducedOutputs;

import java.util.List;

/**
 * The reductions of one {@code attention} site appended to a graph, as {@link ReducedOutputs} lays them out: the
 * probabilities viewed as {@code [B,H,Tq,Tk]}, queries and keys masked like the host statistics mask them.
 */
final class AttentionReductions {
    private AttentionReductions() {
    }

    static void append(GraphWriter g, RequestMask mask, String tensor) {
        String shape = g.op("Shape", tensor);
        g.output(shape, ReducedOutputs.name(tensor, ReducedOutputs.SHAPE), DataType.INT64);
        String tq = g.slice(shape, -2, -1, 0);
        String tk = g.slice(shape, -1, Long.MAX_VALUE, 0);
        String one = g.longs(1);
        String x = g.op("Reshape", tensor, concat(g, mask.batch, g.longs(-1), tq, tk));
        String queries = g.op("Reshape", mask.axis(tq), concat(g, mask.batch, one, tq, one));
        String keyMask = mask.axis(tk);
        String keys = g.op("Reshape", keyMask, concat(g, mask.batch, one, one, tk));

        String keyIndex = g.cast(g.range(tk), DataType.FLOAT);
        String firstKey = g.cast(g.firstIndex(keyMask, keyIndex, 1, true), DataType.INT64);
        String index = g.op("Expand", g.op("Reshape", firstKey, g.longs(-1, 1, 1, 1)),
                concat(g, g.slice(g.op("Shape", x), 0, 3, 0), one));
        g.output(g.op("GatherElements", List.of(x, index), GraphWriter.attr("axis", 3)),
                ReducedOutputs.name(tensor, ReducedOutputs.SINK), DataType.FLOAT);

        g.output(g.reduce("ReduceSum", g.op("Where", queries, x, g.scalar(0f)), false, 2),
                ReducedOutputs.name(tensor, ReducedOutputs.KEY_MASS), DataType.FLOAT);

        String positive = g.op("And", g.op("Greater", x, g.scalar(0f)), keys);
        String plogp = g.op("Where", positive, g.op("Mul", x, g.op("Log", x)), g.scalar(0f));
        g.output(g.reduce("ReduceSum", plogp, false, 3), ReducedOutputs.name(tensor, ReducedOutputs.PLOGP),
                DataType.FLOAT);

        String nonzero = g.op("And", g.op("Not", g.op("Equal", x, g.scalar(0f))), keys);
        String positions = g.op("Add", keyIndex, g.scalar(1f));
        String last = g.reduce("ReduceMax", g.op("Where", nonzero, positions, g.scalar(0f)), false, 3);
        g.output(last, ReducedOutputs.name(tensor, ReducedOutputs.LAST_KEY), DataType.FLOAT);
    }

    private static String concat(GraphWriter g, String... parts) {
        return g.op("Concat", List.of(parts), GraphWriter.attr("axis", 0));
    }
}
