package dev.vigil.probes.reduce;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;

import java.util.List;

/**
 * Appends nodes of the default ONNX domain to a graph: fresh value names under one prefix, constants as
 * initializers, and reductions written for the graph's opset (axes an input of ReduceSum from opset 13 and of every
 * reduction from opset 18, an attribute before).
 */
final class GraphWriter {
    private final GraphProto.Builder graph;
    private final int opset;
    private final String prefix;
    private int next;

    GraphWriter(GraphProto.Builder graph, int opset, String prefix) {
        this.graph = graph;
        this.opset = opset;
        this.prefix = prefix;
    }

    /** A node with one output; returns the output's name. */
    String op(String type, List<String> inputs, AttributeProto... attributes) {
        return ops(type, 1, inputs, attributes)[0];
    }

    /** A node with {@code outputs} outputs; returns their names. */
    String[] ops(String type, int outputs, List<String> inputs, AttributeProto... attributes) {
        String[] names = new String[outputs];
        NodeProto.Builder node = NodeProto.newBuilder().setOpType(type).setName(prefix + "node" + next++);
        node.addAllInput(inputs);
        for (int i = 0; i < outputs; i++) {
            names[i] = fresh();
            node.addOutput(names[i]);
        }
        for (AttributeProto a : attributes) {
            node.addAttribute(a);
        }
        graph.addNode(node);
        return names;
    }

    String op(String type, String... inputs) {
        return op(type, List.of(inputs));
    }

    /** {@code op} over {@code axes} (every axis when empty) keeping the reduced dims or not. */
    String reduce(String type, String x, boolean keepDims, long... axes) {
        AttributeProto keep = attr("keepdims", keepDims ? 1 : 0);
        boolean axesInput = opset >= 18 || (opset >= 13 && type.equals("ReduceSum"));
        if (axes.length == 0) {
            return op(type, List.of(x), keep);
        }
        if (axesInput) {
            return op(type, List.of(x, longs(axes)), keep);
        }
        return op(type, List.of(x), keep, attr("axes", axes));
    }

    /** {@code 0, 1, …, n-1} (int64) for a 1-element int64 {@code n}. */
    String range(String n) {
        String scalar = longs();
        return op("Range", op("Reshape", longs(0), scalar), op("Reshape", n, scalar), op("Reshape", longs(1), scalar));
    }

    /**
     * The first {@code index} along {@code axis} where {@code condition} holds, 0 where it never does (float): the
     * smallest index the condition keeps. ArgMax over 0/1 values says the same on the CPU, but its CUDA kernel does
     * not promise the first of equal values.
     */
    String firstIndex(String condition, String index, long axis, boolean keepDims) {
        String first = reduce("ReduceMin", op("Where", condition, index, scalar(Float.POSITIVE_INFINITY)), keepDims,
                axis);
        return op("Where", op("Less", first, scalar(Float.POSITIVE_INFINITY)), first, scalar(0f));
    }

    String cast(String x, TensorProto.DataType to) {
        return op("Cast", List.of(x), attr("to", to.getNumber()));
    }

    /** {@code x[..., start:end]} along {@code axis} with constant bounds. */
    String slice(String x, long start, long end, long axis) {
        return op("Slice", x, longs(start), longs(end), longs(axis));
    }

    /** A 1-D int64 constant. */
    String longs(long... values) {
        String name = fresh();
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE)
                .addDims(values.length);
        for (long v : values) {
            t.addInt64Data(v);
        }
        graph.addInitializer(t);
        return name;
    }

    /** A scalar float constant. */
    String scalar(float value) {
        String name = fresh();
        graph.addInitializer(TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addFloatData(value));
        return name;
    }

    /** Declares {@code value} a graph output named {@code name} of elem type {@code type}, shape left open. */
    void output(String value, String name, TensorProto.DataType type) {
        graph.addNode(NodeProto.newBuilder().setOpType("Identity").setName(prefix + "node" + next++)
                .addInput(value).addOutput(name));
        graph.addOutput(ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(type.getNumber()))));
    }

    private String fresh() {
        return prefix + next++;
    }

    static AttributeProto attr(String name, long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    static AttributeProto attr(String name, long[] values) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long v : values) {
            a.addInts(v);
        }
        return a.build();
    }

    static AttributeProto attr(String name, String value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING)
                .setS(com.google.protobuf.ByteString.copyFromUtf8(value)).build();
    }

    /** A one-element tensor attribute (ConstantOfShape's value). */
    static AttributeProto value(TensorProto.DataType type, long v) {
        TensorProto.Builder t = TensorProto.newBuilder().setDataType(type.getNumber()).addDims(1);
        if (type == TensorProto.DataType.FLOAT) {
            t.addFloatData(v);
        } else if (type == TensorProto.DataType.DOUBLE) {
            t.addDoubleData(v);
        } else {
            t.addInt64Data(v);
        }
        return AttributeProto.newBuilder().setName("value").setType(AttributeProto.AttributeType.TENSOR).setT(t)
                .build();
    }
}
