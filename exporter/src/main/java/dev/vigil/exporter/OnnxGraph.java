package dev.vigil.exporter;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.Set;

/**
 * Assembles an ONNX graph node by node with the protobuf builders of {@code ai.onnx.proto.OnnxMl}.
 * Every tensor name is unique; nodes are appended in topological order.
 */
final class OnnxGraph {
    /** LayerNormalization and DFT need opset 17. */
    static final int OPSET = 17;
    private static final long IR_VERSION = 8;

    private final GraphProto.Builder graph = GraphProto.newBuilder();
    private final Set<String> names = new HashSet<>();
    private int nodeCount;

    OnnxGraph(String name) {
        graph.setName(name);
    }

    /** A graph input with a dynamic first axis named {@code batch}. */
    void input(String name, TensorProto.DataType type, long... fixedDims) {
        graph.addInput(valueInfo(name, type, fixedDims));
    }

    /** A graph output with a dynamic first axis named {@code batch}. */
    void output(String name, TensorProto.DataType type, long... fixedDims) {
        graph.addOutput(valueInfo(name, type, fixedDims));
    }

    String floats(String name, float[] values, long... dims) {
        ByteBuffer bytes = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        return initializer(name, TensorProto.DataType.FLOAT, bytes, dims);
    }

    String scalar(String name, float value) {
        return floats(name, new float[] {value});
    }

    String longs(String name, long... values) {
        ByteBuffer bytes = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asLongBuffer().put(values);
        return initializer(name, TensorProto.DataType.INT64, bytes, values.length);
    }

    /** A 0-d INT64 tensor, e.g. a Gather index that drops its axis. */
    String longScalar(String name, long value) {
        ByteBuffer bytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(0, value);
        return initializer(name, TensorProto.DataType.INT64, bytes);
    }

    /** Appends a node with one output and returns that output's name. */
    String node(String opType, String output, String[] inputs, AttributeProto... attributes) {
        return nodeWithOutputs(opType, new String[] {output}, inputs, attributes)[0];
    }

    String[] nodeWithOutputs(String opType, String[] outputs, String[] inputs, AttributeProto... attributes) {
        NodeProto.Builder node = NodeProto.newBuilder()
                .setOpType(opType)
                .setName(opType + "_" + nodeCount++);
        for (String in : inputs) {
            node.addInput(in);
        }
        for (String out : outputs) {
            claim(out);
            node.addOutput(out);
        }
        for (AttributeProto a : attributes) {
            node.addAttribute(a);
        }
        graph.addNode(node);
        return outputs;
    }

    static AttributeProto attr(String name, long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    static AttributeProto attr(String name, float value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(value).build();
    }

    static AttributeProto attr(String name, long[] values) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long v : values) {
            a.addInts(v);
        }
        return a.build();
    }

    ModelProto model(String producer) {
        return ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .setProducerName(producer)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setGraph(graph)
                .build();
    }

    private String initializer(String name, TensorProto.DataType type, ByteBuffer bytes, long... dims) {
        claim(name);
        TensorProto.Builder tensor = TensorProto.newBuilder()
                .setName(name)
                .setDataType(type.getNumber())
                .setRawData(ByteString.copyFrom(bytes.array()));
        for (long d : dims) {
            tensor.addDims(d);
        }
        graph.addInitializer(tensor);
        return name;
    }

    private void claim(String name) {
        if (!names.add(name)) {
            throw new IllegalStateException("tensor name used twice: " + name);
        }
    }

    private static ValueInfoProto valueInfo(String name, TensorProto.DataType type, long... fixedDims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder()
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("batch"));
        for (long d : fixedDims) {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder()
                .setName(name)
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
                        .setElemType(type.getNumber())
                        .setShape(shape)))
                .build();
    }
}
