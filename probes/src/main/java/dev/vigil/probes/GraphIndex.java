package dev.vigil.probes;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * Look-up tables over the top-level graph: which node produces a tensor, which nodes consume it, which tensors are
 * constant, and what type and shape the graph declares for a tensor. Nodes inside subgraphs (If/Loop/Scan bodies)
 * are not indexed.
 */
final class GraphIndex {
    /** A use of a tensor: the consuming node's index and the input slot it reads the tensor from. */
    record Use(int node, int slot) {
    }

    private final GraphProto graph;
    private final Map<String, Integer> producers = new HashMap<>();
    private final Map<String, List<Use>> consumers = new HashMap<>();
    private final Map<String, TensorProto> initializers = new HashMap<>();
    private final Map<String, TypeProto> declaredTypes = new HashMap<>();

    GraphIndex(GraphProto graph) {
        this.graph = graph;
        for (TensorProto t : graph.getInitializerList()) {
            initializers.put(t.getName(), t);
        }
        // value_info first, then inputs and outputs: the graph's own interface wins where both declare a type.
        for (ValueInfoProto v : graph.getValueInfoList()) {
            declaredTypes.put(v.getName(), v.getType());
        }
        for (ValueInfoProto v : graph.getInputList()) {
            declaredTypes.put(v.getName(), v.getType());
        }
        for (ValueInfoProto v : graph.getOutputList()) {
            declaredTypes.put(v.getName(), v.getType());
        }
        for (int i = 0; i < graph.getNodeCount(); i++) {
            NodeProto n = graph.getNode(i);
            for (String out : n.getOutputList()) {
                if (!out.isEmpty()) {
                    producers.put(out, i);
                }
            }
            for (int s = 0; s < n.getInputCount(); s++) {
                String in = n.getInput(s);
                if (!in.isEmpty()) {
                    consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(new Use(i, s));
                }
            }
        }
    }

    /** Input {@code i} of {@code n}, or "" when the node has no such input (a malformed graph does not crash). */
    static String in(NodeProto n, int i) {
        return i >= 0 && i < n.getInputCount() ? n.getInput(i) : "";
    }

    /** Output {@code i} of {@code n}, or "" when the node has no such output. */
    static String out(NodeProto n, int i) {
        return i >= 0 && i < n.getOutputCount() ? n.getOutput(i) : "";
    }

    int nodeCount() {
        return graph.getNodeCount();
    }

    NodeProto node(int index) {
        return graph.getNode(index);
    }

    /** The producing node of {@code tensor}, or null for graph inputs, initializers and unknown names. */
    NodeProto producer(String tensor) {
        Integer i = producers.get(tensor);
        return i == null ? null : graph.getNode(i);
    }

    List<Use> uses(String tensor) {
        return consumers.getOrDefault(tensor, List.of());
    }

    /**
     * True for an initializer, a Constant node's output, or a Transpose/Cast/Identity/DequantizeLinear of a constant
     * (how exporters store a transposed, down-cast or quantized weight).
     */
    boolean isConstant(String tensor) {
        for (int depth = 0; depth < 8; depth++) {
            if (initializers.containsKey(tensor)) {
                return true;
            }
            NodeProto p = producer(tensor);
            if (p == null) {
                return false;
            }
            switch (p.getOpType()) {
                case "Constant":
                    return true;
                case "Transpose", "Cast", "Identity", "DequantizeLinear":
                    tensor = in(p, 0);
                    break;
                default:
                    return false;
            }
        }
        return false;
    }

    /** The value of a one-element constant (initializer or Constant node, through Cast/Identity), if it is one. */
    OptionalDouble scalar(String tensor) {
        for (int depth = 0; depth < 8; depth++) {
            TensorProto init = initializers.get(tensor);
            if (init != null) {
                return scalarOf(init);
            }
            NodeProto p = producer(tensor);
            if (p == null) {
                return OptionalDouble.empty();
            }
            if (p.getOpType().equals("Constant")) {
                return constantNodeScalar(p);
            }
            if (!p.getOpType().equals("Cast") && !p.getOpType().equals("Identity")) {
                return OptionalDouble.empty();
            }
            tensor = in(p, 0);
        }
        return OptionalDouble.empty();
    }

    /** True when {@code tensor} is a one-element constant within 0.1% (relative) of {@code expected}. */
    boolean isScalar(String tensor, double expected) {
        OptionalDouble v = scalar(tensor);
        return v.isPresent() && Math.abs(v.getAsDouble() - expected) <= 1e-3 * Math.abs(expected);
    }

    /** The elem type the graph declares for {@code tensor} (a Cast's target type counts), or 0 when unknown. */
    int elemType(String tensor) {
        TypeProto t = declaredTypes.get(tensor);
        if (t != null && t.hasTensorType() && t.getTensorType().getElemType() != 0) {
            return t.getTensorType().getElemType();
        }
        NodeProto p = producer(tensor);
        if (p != null && p.getOpType().equals("Cast")) {
            for (AttributeProto a : p.getAttributeList()) {
                if (a.getName().equals("to")) {
                    return (int) a.getI();
                }
            }
        }
        return 0;
    }

    /**
     * The shape the graph declares for {@code tensor}: numbers, symbolic names, "?" for unknown dims; empty when the
     * graph declares no shape.
     */
    List<String> shape(String tensor) {
        TypeProto t = declaredTypes.get(tensor);
        if (t == null || !t.hasTensorType() || !t.getTensorType().hasShape()) {
            return List.of();
        }
        List<String> dims = new ArrayList<>();
        for (TensorShapeProto.Dimension d : t.getTensorType().getShape().getDimList()) {
            if (d.hasDimValue()) {
                dims.add(Long.toString(d.getDimValue()));
            } else if (d.hasDimParam() && !d.getDimParam().isEmpty()) {
                dims.add(d.getDimParam());
            } else {
                dims.add("?");
            }
        }
        return dims;
    }

    /** The declared type of {@code tensor}, or null. */
    TypeProto declaredType(String tensor) {
        return declaredTypes.get(tensor);
    }

    boolean isInitializer(String tensor) {
        return initializers.containsKey(tensor);
    }

    boolean isGraphInput(String tensor) {
        for (ValueInfoProto v : graph.getInputList()) {
            if (v.getName().equals(tensor)) {
                return true;
            }
        }
        return false;
    }

    boolean isProduced(String tensor) {
        return producers.containsKey(tensor);
    }

    private static OptionalDouble constantNodeScalar(NodeProto constant) {
        for (AttributeProto a : constant.getAttributeList()) {
            switch (a.getName()) {
                case "value":
                    return scalarOf(a.getT());
                case "value_float":
                    return OptionalDouble.of(a.getF());
                case "value_int":
                    return OptionalDouble.of(a.getI());
                case "value_floats":
                    return a.getFloatsCount() == 1 ? OptionalDouble.of(a.getFloats(0)) : OptionalDouble.empty();
                case "value_ints":
                    return a.getIntsCount() == 1 ? OptionalDouble.of(a.getInts(0)) : OptionalDouble.empty();
                default:
                    break;
            }
        }
        return OptionalDouble.empty();
    }

    private static OptionalDouble scalarOf(TensorProto t) {
        long n = 1;
        for (long d : t.getDimsList()) {
            n *= d;
        }
        if (n != 1 || t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            return OptionalDouble.empty();
        }
        ByteString raw = t.getRawData();
        ByteBuffer b = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        boolean hasRaw = !raw.isEmpty();
        switch (t.getDataType()) {
            case TensorProto.DataType.FLOAT_VALUE:
                if (hasRaw) {
                    return raw.size() == 4 ? OptionalDouble.of(b.getFloat(0)) : OptionalDouble.empty();
                }
                return t.getFloatDataCount() == 1 ? OptionalDouble.of(t.getFloatData(0)) : OptionalDouble.empty();
            case TensorProto.DataType.DOUBLE_VALUE:
                if (hasRaw) {
                    return raw.size() == 8 ? OptionalDouble.of(b.getDouble(0)) : OptionalDouble.empty();
                }
                return t.getDoubleDataCount() == 1 ? OptionalDouble.of(t.getDoubleData(0)) : OptionalDouble.empty();
            case TensorProto.DataType.FLOAT16_VALUE:
            case TensorProto.DataType.BFLOAT16_VALUE: {
                int bits;
                if (hasRaw) {
                    if (raw.size() != 2) {
                        return OptionalDouble.empty();
                    }
                    bits = b.getShort(0) & 0xFFFF;
                } else if (t.getInt32DataCount() == 1) {
                    bits = t.getInt32Data(0) & 0xFFFF;
                } else {
                    return OptionalDouble.empty();
                }
                boolean bf16 = t.getDataType() == TensorProto.DataType.BFLOAT16_VALUE;
                return OptionalDouble.of(bf16 ? Float.intBitsToFloat(bits << 16) : halfToFloat(bits));
            }
            case TensorProto.DataType.INT32_VALUE:
                if (hasRaw) {
                    return raw.size() == 4 ? OptionalDouble.of(b.getInt(0)) : OptionalDouble.empty();
                }
                return t.getInt32DataCount() == 1 ? OptionalDouble.of(t.getInt32Data(0)) : OptionalDouble.empty();
            case TensorProto.DataType.INT64_VALUE:
                if (hasRaw) {
                    return raw.size() == 8 ? OptionalDouble.of(b.getLong(0)) : OptionalDouble.empty();
                }
                return t.getInt64DataCount() == 1 ? OptionalDouble.of(t.getInt64Data(0)) : OptionalDouble.empty();
            default:
                return OptionalDouble.empty();
        }
    }

    private static float halfToFloat(int h) {
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1F;
        int mant = h & 0x3FF;
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }
}
