package dev.vigil.probes;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Adds intermediate tensors to a model's graph outputs so that one ONNX Runtime run returns them next to the
 * model's own outputs. The model's computation is unchanged.
 */
public final class GraphTaps {
    private GraphTaps() {
    }

    /**
     * A copy of {@code model} whose graph also outputs each of {@code tensorNames}, declared float32 with the shape
     * the graph's value_info gives (else no shape). Names that already are graph outputs are not added twice. The
     * sum tensor of a Skip*LayerNormalization that {@link SiteDiscovery} names (its optional output 3, left out by
     * the graph) is added to that node's outputs.
     *
     * @throws IllegalArgumentException for a name no node produces, an initializer, or a tensor the graph declares
     *                                  with an elem type other than float32
     */
    public static ModelProto withOutputs(ModelProto model, Collection<String> tensorNames) {
        if (model == null || !model.hasGraph()) {
            throw new IllegalArgumentException("the model has no graph");
        }
        GraphProto graph = model.getGraph();
        GraphIndex index = new GraphIndex(graph);
        Set<String> existing = new HashSet<>();
        for (ValueInfoProto v : graph.getOutputList()) {
            existing.add(v.getName());
        }
        Set<String> wanted = new LinkedHashSet<>(tensorNames);
        GraphProto.Builder out = graph.toBuilder();
        Set<String> namedSkipSums = nameSkipSums(out, wanted);
        for (String name : wanted) {
            if (existing.contains(name)) {
                continue;
            }
            if (index.isInitializer(name)) {
                throw new IllegalArgumentException("tensor '" + name + "' is an initializer (a constant), not a tap");
            }
            if (!index.isProduced(name) && !index.isGraphInput(name) && !namedSkipSums.contains(name)) {
                throw new IllegalArgumentException("no node of the graph produces a tensor named '" + name + "'");
            }
            int elemType = index.elemType(name);
            if (elemType != 0 && elemType != TensorProto.DataType.FLOAT_VALUE) {
                throw new IllegalArgumentException("tensor '" + name + "' has elem type "
                        + TensorProto.DataType.forNumber(elemType) + "; only float32 tensors can be tapped");
            }
            TypeProto.Tensor.Builder type = TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE);
            TypeProto declared = index.declaredType(name);
            if (declared != null && declared.hasTensorType() && declared.getTensorType().hasShape()) {
                type.setShape(declared.getTensorType().getShape());
            }
            out.addOutput(ValueInfoProto.newBuilder().setName(name)
                    .setType(TypeProto.newBuilder().setTensorType(type)));
            existing.add(name);
        }
        return model.toBuilder().setGraph(out).build();
    }

    /** {@link #withOutputs} on serialized model bytes, for handing straight to an ONNX Runtime session. */
    public static byte[] tappedModelBytes(byte[] modelBytes, Collection<String> tensorNames) {
        return withOutputs(OnnxModels.parse(modelBytes), tensorNames).toByteArray();
    }

    /** Gives each wanted Skip*LayerNormalization sum without a name its output 3; returns the names given. */
    private static Set<String> nameSkipSums(GraphProto.Builder graph, Set<String> wanted) {
        Set<String> named = new HashSet<>();
        for (int i = 0; i < graph.getNodeCount(); i++) {
            NodeProto n = graph.getNode(i);
            if (!NormalizationPatterns.isSkipNorm(n)) {
                continue;
            }
            String sum = NormalizationPatterns.skipSumTensor(n);
            boolean unnamed = GraphIndex.out(n, 3).isEmpty();
            if (unnamed && !sum.isEmpty() && wanted.contains(sum)) {
                NodeProto.Builder b = n.toBuilder();
                while (b.getOutputCount() < 4) {
                    b.addOutput("");
                }
                b.setOutput(3, sum);
                graph.setNode(i, b);
                named.add(sum);
            }
        }
        return named;
    }
}
