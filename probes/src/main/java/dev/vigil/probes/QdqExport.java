package dev.vigil.probes;

import static dev.vigil.probes.GraphIndex.in;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a float ONNX model as a static int8 QDQ model (SPEC §2, {@code /quantized}): one
 * {@code QuantizeLinear → DequantizeLinear} pair (int8, zero point 0, scale {@code c/127}) on every float
 * {@code matmul_input} site tensor that has a clip value {@code c}, shared by all the weight MatMul/Gemm nodes
 * that consume it, and each of those nodes' 2-D float weights quantized symmetrically per output channel (int8 in
 * [−127, 127], scale {@code max|w|/127} per channel, a {@code DequantizeLinear} along the channel axis). Sites in
 * {@code keepFp32}, sites without a usable clip value and sites already quantized stay as they are, and so do their
 * MatMuls' weights. Every other node and tensor is unchanged; float weights that no node reads any more are dropped.
 *
 * <p>The activations' integer type is a choice of encoding, not of grid ({@link ActivationType}): int8 with zero
 * point 0, or uint8 with zero point 128, both the values {@code k·scale} for integer {@code k} in [−128, 127].
 */
public final class QdqExport {
    /** Per-axis DequantizeLinear (the per-channel weights) needs opset 13. */
    static final int MIN_OPSET = 13;
    private static final String SUFFIX = "_vigil";
    /** The suffix of a switchable model's per-site graph input (see {@link #switchable}). */
    public static final String SWITCH_SUFFIX = SUFFIX + "_quantize";

    /**
     * The exported model and what it quantized.
     *
     * @param model            the QDQ model
     * @param quantizedSites   the site tensors that got a Q/DQ pair, in site order
     * @param floatSites       the float matmul_input sites left float (kept, no clip value, or no weight MatMul)
     * @param quantizedWeights the weight initializers quantized per channel
     */
    public record Result(ModelProto model, List<String> quantizedSites, List<String> floatSites,
                         List<String> quantizedWeights) {
        public Result {
            quantizedSites = List.copyOf(quantizedSites);
            floatSites = List.copyOf(floatSites);
            quantizedWeights = List.copyOf(quantizedWeights);
        }
    }

    /**
     * How the activations' {@code QuantizeLinear}/{@code DequantizeLinear} pairs encode the same symmetric grid.
     */
    public enum ActivationType {
        /** int8, zero point 0. */
        INT8,
        /**
         * uint8, zero point 128: the int8 grid shifted by 128. ONNX Runtime's x86 CPU provider fuses such a pair
         * with every weight MatMul that reads it into an integer kernel ({@code MatMulIntegerToFloat}); an int8
         * pair shared by several MatMuls it leaves in float (it converts int8 activations to uint8 only where a
         * {@code QuantizeLinear} feeds one {@code DequantizeLinear}, and first gives each MatMul its own one).
         */
        UINT8
    }

    private final GraphIndex g;
    private final Map<String, TensorProto> initializers = new HashMap<>();

    private QdqExport(GraphProto graph) {
        this.g = new GraphIndex(graph);
        for (TensorProto t : graph.getInitializerList()) {
            initializers.put(t.getName(), t);
        }
    }

    /**
     * The name of the {@code DequantizeLinear} output that the MatMuls reading site tensor {@code site} consume in
     * the exported model (the site's value as the quantized model sees it).
     */
    public static String dequantized(String site) {
        return site + SUFFIX + "_dequantized";
    }

    /**
     * Exports {@code model} as static int8 QDQ.
     *
     * @param clip     per site tensor, the clip value {@code c} (the calibration's range); a site without one, or
     *                 with a {@code c} that is not finite and positive, stays float
     * @param keepFp32 site tensors to leave float
     * @param metadata entries added to the model's {@code metadata_props} (replacing those of the same key)
     * @throws IllegalArgumentException when the model's default-domain opset is below 13, or a name in
     *                                  {@code keepFp32} is not a matmul_input site of the model
     */
    public static Result export(ModelProto model, Map<String, Double> clip, Set<String> keepFp32,
                                Map<String, String> metadata) {
        return export(model, clip, keepFp32, metadata, ActivationType.INT8);
    }

    /**
     * Exports {@code model} as static int8 QDQ with the activations encoded as {@code activations}; otherwise as
     * {@link #export(ModelProto, Map, Set, Map)}.
     */
    public static Result export(ModelProto model, Map<String, Double> clip, Set<String> keepFp32,
                                Map<String, String> metadata, ActivationType activations) {
        long opset = defaultOpset(model);
        if (opset < MIN_OPSET) {
            throw new IllegalArgumentException("static int8 export needs opset >= " + MIN_OPSET
                    + " (per-channel DequantizeLinear); the model has opset " + opset);
        }
        return new QdqExport(model.getGraph()).build(model, clip, keepFp32, metadata, activations, false);
    }

    /**
     * The same quantization as {@link #export} with nothing kept float, but each quantized site chosen per run: a
     * scalar BOOL graph input {@code <site tensor>}{@value #SWITCH_SUFFIX} per site in
     * {@link Result#quantizedSites()} selects (with {@code Where}) the site's dequantized activation and its MatMuls'
     * dequantized weights when true, the float tensor and float weights when false. One session of it runs the
     * float model (every switch false), the int8 model of {@link #export} (every switch true, up to float rounding:
     * no integer kernel is fused here) or any site set in between, without a new session per set.
     *
     * @throws IllegalArgumentException when the model's default-domain opset is below 13
     */
    public static Result switchable(ModelProto model, Map<String, Double> clip) {
        long opset = defaultOpset(model);
        if (opset < MIN_OPSET) {
            throw new IllegalArgumentException("static int8 export needs opset >= " + MIN_OPSET
                    + " (per-channel DequantizeLinear); the model has opset " + opset);
        }
        return new QdqExport(model.getGraph()).build(model, clip, Set.of(), Map.of(), ActivationType.INT8, true);
    }

    private Result build(ModelProto model, Map<String, Double> clip, Set<String> keepFp32,
                         Map<String, String> metadata, ActivationType activations, boolean switchable) {
        List<ProbeSite> sites = SiteDiscovery.discover(model).stream()
                .filter(s -> s.kind() == SiteKind.MATMUL_INPUT).toList();
        Set<String> siteNames = new LinkedHashSet<>();
        sites.forEach(s -> siteNames.add(s.tensor()));
        for (String k : keepFp32) {
            if (!siteNames.contains(k)) {
                throw new IllegalArgumentException("keep_fp32 names '" + k + "', which is not a matmul_input site"
                        + " of the model");
            }
        }
        // Nodes to insert before node i (the first consumer of what they produce), and input rewiring per node.
        Map<Integer, List<NodeProto>> before = new HashMap<>();
        Map<Integer, Map<Integer, String>> rewire = new HashMap<>();
        List<TensorProto> added = new ArrayList<>();
        Map<String, String> dequantizedWeight = new HashMap<>();
        List<NodeProto> prefix = new ArrayList<>();
        Set<String> weights = new LinkedHashSet<>();
        List<String> quantized = new ArrayList<>();
        List<String> kept = new ArrayList<>();
        List<ValueInfoProto> switches = new ArrayList<>();
        for (ProbeSite site : sites) {
            String x = site.tensor();
            Double c = clip.get(x);
            List<int[]> consumers = weightConsumers(x);
            boolean plain = site.pattern().equals("MatMul") || site.pattern().equals("Gemm");
            if (!plain) {
                continue; // already quantized in the source model: left as it is
            }
            if (keepFp32.contains(x) || c == null || !(c > 0) || Double.isInfinite(c) || consumers.isEmpty()) {
                kept.add(x);
                continue;
            }
            String scale = x + SUFFIX + "_scale";
            String zero = x + SUFFIX + "_zero_point";
            String q = x + SUFFIX + "_quantized";
            String dq = dequantized(x);
            added.add(floatScalar(scale, (float) (c / 127.0)));
            added.add(activations == ActivationType.UINT8 ? uint8Scalar(zero, 128) : int8Tensor(zero, new byte[1],
                    new long[0]));
            int first = consumers.get(0)[0];
            List<NodeProto> pair = before.computeIfAbsent(first, k -> new ArrayList<>());
            pair.add(node("QuantizeLinear", x + SUFFIX + "_QuantizeLinear", List.of(x, scale, zero), q, -1));
            pair.add(node("DequantizeLinear", x + SUFFIX + "_DequantizeLinear", List.of(q, scale, zero), dq, -1));
            String on = x + SWITCH_SUFFIX;
            String activation = dq;
            if (switchable) {
                switches.add(boolScalarInput(on));
                activation = x + SUFFIX + "_selected";
                pair.add(node("Where", x + SUFFIX + "_Where", List.of(on, dq, x), activation, -1));
            }
            Map<String, String> selectedWeights = new HashMap<>();
            for (int[] use : consumers) {
                rewire.computeIfAbsent(use[0], k -> new HashMap<>()).put(use[1], activation);
                int weightSlot = use[2];
                NodeProto mm = g.node(use[0]);
                String w = in(mm, weightSlot);
                int axis = channelAxis(mm, weightSlot);
                TensorProto init = initializers.get(w);
                if (axis < 0 || init == null || init.getDataType() != TensorProto.DataType.FLOAT_VALUE
                        || init.getDimsCount() != 2) {
                    continue; // a weight computed by nodes, not float or not a matrix: kept float
                }
                String key = w + "#" + axis;
                String wdq = dequantizedWeight.get(key);
                if (wdq == null) {
                    // a weight read along two axes (tied, once transposed by Gemm) gets one int8 copy per axis
                    boolean otherAxis = dequantizedWeight.containsKey(w + "#" + (1 - axis));
                    String base = w + SUFFIX + (otherAxis ? "_axis" + axis : "");
                    wdq = base + "_dequantized";
                    dequantizedWeight.put(key, wdq);
                    weights.add(w);
                    quantizeWeight(init, axis, base, added);
                    // it reads initializers only, so it may come first (a tied weight's readers can be anywhere)
                    prefix.add(node("DequantizeLinear", base + "_DequantizeLinear",
                            List.of(base + "_int8", base + "_scale", base + "_zero_point"), wdq, axis));
                }
                if (switchable) {
                    // one selection per site and weight: a weight tied across two sites follows each site's switch
                    String dequantized = wdq;
                    wdq = selectedWeights.computeIfAbsent(key, k -> {
                        String selected = dequantized.replace("_dequantized", "") + "_for_" + x + "_selected";
                        pair.add(node("Where", selected + "_Where", List.of(on, dequantized, w), selected, -1));
                        return selected;
                    });
                }
                rewire.get(use[0]).put(weightSlot, wdq);
            }
            quantized.add(x);
        }
        before.computeIfAbsent(0, k -> new ArrayList<>()).addAll(0, prefix);
        GraphProto graph = rebuild(model.getGraph(), before, rewire, added);
        if (!switches.isEmpty()) {
            graph = graph.toBuilder().addAllInput(switches).build();
        }
        ModelProto.Builder out = model.toBuilder().setGraph(graph);
        Map<String, String> props = new LinkedHashMap<>();
        for (StringStringEntryProto e : model.getMetadataPropsList()) {
            props.put(e.getKey(), e.getValue());
        }
        props.putAll(metadata);
        out.clearMetadataProps();
        props.forEach((k, v) -> out.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return new Result(out.build(), quantized, kept, new ArrayList<>(weights));
    }

    /**
     * The weight MatMul/Gemm nodes that read {@code x} directly: {node index, slot of x, slot of the weight}, in
     * node order.
     */
    private List<int[]> weightConsumers(String x) {
        List<int[]> out = new ArrayList<>();
        for (GraphIndex.Use use : g.uses(x)) {
            NodeProto n = g.node(use.node());
            if (!(n.getOpType().equals("MatMul") || n.getOpType().equals("Gemm")) || use.slot() > 1) {
                continue;
            }
            int other = 1 - use.slot();
            if (n.getInputCount() > other && g.isConstant(in(n, other)) && !in(n, other).equals(x)) {
                out.add(new int[] {use.node(), use.slot(), other});
            }
        }
        out.sort((a, b) -> Integer.compare(a[0], b[0]));
        return out;
    }

    /** The weight axis that indexes the product's output channels, or -1 when it is not a plain matrix product. */
    private static int channelAxis(NodeProto mm, int weightSlot) {
        if (mm.getOpType().equals("MatMul")) {
            return weightSlot == 1 ? 1 : 0; // x·W[K,N]: columns; W[M,K]·x: rows
        }
        boolean transposed = intAttribute(mm, weightSlot == 1 ? "transB" : "transA") != 0;
        int axis = weightSlot == 1 ? 1 : 0;
        return transposed ? 1 - axis : axis;
    }

    /** Adds {@code base_int8}, {@code base_scale} and {@code base_zero_point} for {@code w} quantized along axis. */
    private static void quantizeWeight(TensorProto w, int axis, String base, List<TensorProto> added) {
        int rows = (int) w.getDims(0);
        int cols = (int) w.getDims(1);
        float[] v = floats(w);
        int channels = axis == 1 ? cols : rows;
        float[] scale = new float[channels];
        for (int r = 0; r < rows; r++) {
            for (int col = 0; col < cols; col++) {
                int ch = axis == 1 ? col : r;
                scale[ch] = Math.max(scale[ch], Math.abs(v[r * cols + col]));
            }
        }
        for (int ch = 0; ch < channels; ch++) {
            // an all-zero channel quantizes exactly with any scale
            scale[ch] = scale[ch] > 0 ? scale[ch] / 127f : 1f;
        }
        byte[] q = new byte[v.length];
        for (int r = 0; r < rows; r++) {
            for (int col = 0; col < cols; col++) {
                float s = scale[axis == 1 ? col : r];
                q[r * cols + col] = (byte) Math.max(-127, Math.min(127, Math.round(v[r * cols + col] / s)));
            }
        }
        added.add(int8Tensor(base + "_int8", q, new long[] {rows, cols}));
        ByteBuffer sb = ByteBuffer.allocate(4 * channels).order(ByteOrder.LITTLE_ENDIAN);
        for (float s : scale) {
            sb.putFloat(s);
        }
        added.add(TensorProto.newBuilder().setName(base + "_scale").setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addDims(channels).setRawData(ByteString.copyFrom(sb.array())).build());
        added.add(int8Tensor(base + "_zero_point", new byte[channels], new long[] {channels}));
    }

    private static GraphProto rebuild(GraphProto graph, Map<Integer, List<NodeProto>> before,
                                      Map<Integer, Map<Integer, String>> rewire, List<TensorProto> added) {
        GraphProto.Builder b = graph.toBuilder().clearNode();
        Set<String> read = new HashSet<>();
        for (int i = 0; i < graph.getNodeCount(); i++) {
            for (NodeProto n : before.getOrDefault(i, List.of())) {
                b.addNode(n);
                read.addAll(n.getInputList());
            }
            NodeProto n = graph.getNode(i);
            Map<Integer, String> inputs = rewire.get(i);
            if (inputs != null) {
                NodeProto.Builder nb = n.toBuilder();
                inputs.forEach(nb::setInput);
                n = nb.build();
            }
            b.addNode(n);
            read.addAll(n.getInputList());
        }
        for (ValueInfoProto o : graph.getOutputList()) {
            read.add(o.getName());
        }
        // Float weights whose every reader now reads their int8 copy are dropped (with their graph input entry).
        b.clearInitializer();
        Set<String> dropped = new HashSet<>();
        for (TensorProto t : graph.getInitializerList()) {
            if (read.contains(t.getName())) {
                b.addInitializer(t);
            } else {
                dropped.add(t.getName());
            }
        }
        b.addAllInitializer(added);
        if (!dropped.isEmpty()) {
            List<ValueInfoProto> inputs = new ArrayList<>(graph.getInputList());
            inputs.removeIf(v -> dropped.contains(v.getName()));
            b.clearInput().addAllInput(inputs);
        }
        return b.build();
    }

    private static ValueInfoProto boolScalarInput(String name) {
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.BOOL_VALUE)
                        .setShape(TensorShapeProto.getDefaultInstance()))).build();
    }

    private static long defaultOpset(ModelProto model) {
        for (OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) {
                return o.getVersion();
            }
        }
        return 0;
    }

    private static long intAttribute(NodeProto n, String name) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        return 0;
    }

    private static float[] floats(TensorProto t) {
        if (t.getFloatDataCount() > 0) {
            float[] v = new float[t.getFloatDataCount()];
            for (int i = 0; i < v.length; i++) {
                v[i] = t.getFloatData(i);
            }
            return v;
        }
        ByteBuffer bb = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[bb.remaining() / 4];
        bb.asFloatBuffer().get(v);
        return v;
    }

    private static TensorProto floatScalar(String name, float value) {
        return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addFloatData(value).build();
    }

    private static TensorProto uint8Scalar(String name, int value) {
        return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.UINT8_VALUE)
                .setRawData(ByteString.copyFrom(new byte[] {(byte) value})).build();
    }

    private static TensorProto int8Tensor(String name, byte[] values, long[] dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT8_VALUE)
                .setRawData(ByteString.copyFrom(values));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    private static NodeProto node(String op, String name, List<String> inputs, String output, int axis) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs)
                .addOutput(output);
        if (axis >= 0) {
            n.addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT)
                    .setI(axis));
        }
        return n.build();
    }
}
