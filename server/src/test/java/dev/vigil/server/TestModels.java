package dev.vigil.server;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Small ONNX models written with the ONNX protobuf builders, with weights the tests know. */
final class TestModels {
    /** {@code y = Relu(x · W + b)}, x [batch, 3], W [3, 2], b [2]. */
    static final float[][] W = {{1.0f, -2.0f}, {0.5f, 1.5f}, {-1.0f, 0.25f}};
    static final float[] B = {0.1f, -0.2f};

    private TestModels() {
    }

    /** Writes the MatMul+Add+Relu model as {@code dir/<name>/model.onnx}. */
    static Path writeMlp(Path repo, String name) throws IOException {
        return write(repo, name, mlpGraph(false));
    }

    /** The MatMul+Add+Relu model's bytes; with {@code tapHidden}, the pre-Relu sum h is a graph output too. */
    static byte[] mlpBytes(boolean tapHidden) {
        return model(mlpGraph(tapHidden)).toByteArray();
    }

    private static GraphProto mlpGraph(boolean tapHidden) {
        TensorProto.Builder w = TensorProto.newBuilder().setName("W").setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addDims(3).addDims(2);
        for (float[] row : W) {
            for (float v : row) {
                w.addFloatData(v);
            }
        }
        TensorProto.Builder b = TensorProto.newBuilder().setName("B").setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addDims(2);
        for (float v : B) {
            b.addFloatData(v);
        }
        GraphProto graph = GraphProto.newBuilder().setName("mlp")
                .addInput(value("x", TensorProto.DataType.FLOAT_VALUE, -1, 3))
                .addOutput(value("y", TensorProto.DataType.FLOAT_VALUE, -1, 2))
                .addInitializer(w).addInitializer(b)
                .addNode(node("MatMul", "mm", new String[]{"x", "W"}, "xw"))
                .addNode(node("Add", "add", new String[]{"xw", "B"}, "h"))
                .addNode(node("Relu", "relu", new String[]{"h"}, "y"))
                .build();
        return tapHidden ? graph.toBuilder().addOutput(value("h", TensorProto.DataType.FLOAT_VALUE, -1, 2)).build()
                : graph;
    }

    /**
     * One input and output per datatype: na = -a (INT64), nb = -b (INT32), nc = not c (BOOL),
     * dc = float(d) (FP16 to FP32), si = s (BYTES), all [batch].
     */
    static Path writeTyped(Path repo, String name) throws IOException {
        NodeProto cast = node("Cast", "cast", new String[]{"d"}, "dc").toBuilder()
                .addAttribute(AttributeProto.newBuilder().setName("to").setType(AttributeProto.AttributeType.INT)
                        .setI(TensorProto.DataType.FLOAT_VALUE))
                .build();
        GraphProto graph = GraphProto.newBuilder().setName("typed")
                .addInput(value("a", TensorProto.DataType.INT64_VALUE, -1))
                .addInput(value("b", TensorProto.DataType.INT32_VALUE, -1))
                .addInput(value("c", TensorProto.DataType.BOOL_VALUE, -1))
                .addInput(value("d", TensorProto.DataType.FLOAT16_VALUE, -1))
                .addInput(value("s", TensorProto.DataType.STRING_VALUE, -1))
                .addOutput(value("na", TensorProto.DataType.INT64_VALUE, -1))
                .addOutput(value("nb", TensorProto.DataType.INT32_VALUE, -1))
                .addOutput(value("nc", TensorProto.DataType.BOOL_VALUE, -1))
                .addOutput(value("dc", TensorProto.DataType.FLOAT_VALUE, -1))
                .addOutput(value("si", TensorProto.DataType.STRING_VALUE, -1))
                .addNode(node("Neg", "neg_a", new String[]{"a"}, "na"))
                .addNode(node("Neg", "neg_b", new String[]{"b"}, "nb"))
                .addNode(node("Not", "not_c", new String[]{"c"}, "nc"))
                .addNode(cast)
                .addNode(node("Identity", "id_s", new String[]{"s"}, "si"))
                .build();
        return write(repo, name, graph);
    }

    private static ModelProto model(GraphProto graph) {
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("vigil-tests")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .setGraph(graph).build();
    }

    private static Path write(Path repo, String name, GraphProto graph) throws IOException {
        Path dir = Files.createDirectories(repo.resolve(name));
        Files.write(dir.resolve("model.onnx"), model(graph).toByteArray());
        return dir;
    }

    private static NodeProto node(String op, String name, String[] inputs, String output) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name).addOutput(output);
        for (String in : inputs) {
            n.addInput(in);
        }
        return n.build();
    }

    /** A tensor value; a negative dim is dynamic ("batch"). */
    private static ValueInfoProto value(String name, int elemType, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(d < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam("batch")
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
    }
}
