package dev.vigil.probes;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;

/** A small builder for hand-made ONNX graphs in tests. Dims are numbers or symbolic names ("B"). */
final class TestGraph {
    private final GraphProto.Builder graph = GraphProto.newBuilder().setName("test");
    private int opset = 17;
    private int nodes;

    TestGraph opset(int version) {
        this.opset = version;
        return this;
    }

    TestGraph input(String name, Object... dims) {
        graph.addInput(info(name, TensorProto.DataType.FLOAT_VALUE, dims));
        return this;
    }

    TestGraph output(String name, Object... dims) {
        graph.addOutput(info(name, TensorProto.DataType.FLOAT_VALUE, dims));
        return this;
    }

    TestGraph valueInfo(String name, int elemType, Object... dims) {
        graph.addValueInfo(info(name, elemType, dims));
        return this;
    }

    /** A float initializer; no dims means a scalar. */
    TestGraph weight(String name, float[] values, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE);
        for (long d : dims) {
            t.addDims(d);
        }
        for (float v : values) {
            t.addFloatData(v);
        }
        graph.addInitializer(t);
        return this;
    }

    /** An int8 initializer (a quantized weight or zero point); no dims means a scalar. */
    TestGraph int8(String name, byte[] values, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT8_VALUE)
                .setRawData(com.google.protobuf.ByteString.copyFrom(values));
        for (long d : dims) {
            t.addDims(d);
        }
        graph.addInitializer(t);
        return this;
    }

    TestGraph scalar(String name, float value) {
        return weight(name, new float[] {value});
    }

    /** A Constant node holding a float scalar. */
    TestGraph constant(String name, float value) {
        TensorProto t = TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT_VALUE).addFloatData(value).build();
        graph.addNode(NodeProto.newBuilder().setOpType("Constant").setName("c" + nodes++).addOutput(name)
                .addAttribute(AttributeProto.newBuilder().setName("value").setType(AttributeProto.AttributeType.TENSOR)
                        .setT(t)));
        return this;
    }

    TestGraph node(String op, String[] inputs, String... outputs) {
        return node("", op, inputs, outputs);
    }

    TestGraph node(String domain, String op, String[] inputs, String... outputs) {
        graph.addNode(nodeProto(domain, op, inputs, outputs));
        return this;
    }

    /** A node with int attributes given as name/value pairs. */
    TestGraph nodeWithInts(String op, String[] inputs, String[] outputs, Object... attrs) {
        NodeProto.Builder n = nodeProto("", op, inputs, outputs).toBuilder();
        for (int i = 0; i < attrs.length; i += 2) {
            Object v = attrs[i + 1];
            AttributeProto.Builder a = AttributeProto.newBuilder().setName((String) attrs[i]);
            if (v instanceof long[] ints) {
                a.setType(AttributeProto.AttributeType.INTS);
                for (long x : ints) {
                    a.addInts(x);
                }
            } else if (v instanceof Float f) {
                a.setType(AttributeProto.AttributeType.FLOAT).setF(f);
            } else {
                a.setType(AttributeProto.AttributeType.INT).setI(((Number) v).longValue());
            }
            n.addAttribute(a);
        }
        graph.addNode(n);
        return this;
    }

    ModelProto build() {
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("vigil-test")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1))
                .setGraph(graph).build();
    }

    static String[] in(String... names) {
        return names;
    }

    /** The sites of one kind, in layer order. */
    static java.util.List<ProbeSite> sites(ModelProto model, SiteKind kind) {
        return SiteDiscovery.discover(model).stream().filter(s -> s.kind() == kind).toList();
    }

    /** The tensor names of the sites of one kind, in layer order. */
    static java.util.List<String> tensors(ModelProto model, SiteKind kind) {
        return sites(model, kind).stream().map(ProbeSite::tensor).toList();
    }

    private NodeProto nodeProto(String domain, String op, String[] inputs, String[] outputs) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setDomain(domain).setName(op + "_" + nodes++);
        for (String i : inputs) {
            n.addInput(i);
        }
        for (String o : outputs) {
            n.addOutput(o);
        }
        return n.build();
    }

    private static ValueInfoProto info(String name, int elemType, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Number n) {
                dim.setDimValue(n.longValue());
            } else if (!"?".equals(d)) {
                dim.setDimParam((String) d);
            }
            shape.addDim(dim);
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
    }
}
