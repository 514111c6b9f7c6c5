package dev.vigil.probes.reduce;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.vigil.probes.GraphTaps;
import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteKind;
import dev.vigil.probes.stats.ProbeSettings;
import dev.vigil.probes.stats.ReducedOutputs;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Appends the per-request reductions of every probe site to a model's graph, so that they run on the execution
 * device and only small vectors ({@link ReducedOutputs}) leave the run, to be merged by
 * {@link dev.vigil.probes.stats.ModelProbe#observeReduced}. The site tensors stay graph outputs as well (a request
 * that needs them, e.g. an inspected one, asks for them by name). The model's own computation is unchanged.
 *
 * <p>The histogram needs {@code ScatterElements} with {@code reduction="add"} (opset 16): a graph of opset 13–15 is
 * declared opset 16, which changes no operator a transformer uses (only RoiAlign's default mode; a graph with
 * RoiAlign is refused). Opsets below 13 (axes inputs, Pad inputs) are refused.
 */
public final class ReductionGraph {
    static final int MIN_OPSET = 13;
    static final int HISTOGRAM_OPSET = 16;
    private static final String PREFIX = "vigil.reduce/";

    private ReductionGraph() {
    }

    /**
     * A copy of {@code model} whose graph also outputs each site's tensor and reductions, computed from the model's
     * attention-mask input {@code settings.attentionMaskInput()} (a {@code [B,T]} tensor of any numeric type).
     *
     * @throws IllegalArgumentException when the model has no such input, an opset below 13, or a site tensor
     *                                  {@link GraphTaps#withOutputs} refuses
     */
    public static ModelProto withReductions(ModelProto model, List<ProbeSite> sites, ProbeSettings settings) {
        List<String> tensors = new ArrayList<>();
        for (ProbeSite s : sites) {
            tensors.add(s.tensor());
        }
        ModelProto tapped = GraphTaps.withOutputs(model, tensors);
        String mask = settings.attentionMaskInput();
        boolean hasMask = false;
        for (ValueInfoProto in : tapped.getGraph().getInputList()) {
            hasMask |= in.getName().equals(mask);
        }
        if (!hasMask) {
            throw new IllegalArgumentException("the model has no input '" + mask
                    + "' (probe.attention_mask_input): the in-graph reductions need the attention mask");
        }
        ModelProto.Builder out = tapped.toBuilder();
        int opset = upgradeOpset(out);
        GraphProto.Builder graph = out.getGraphBuilder();
        append(graph, opset, mask, sites, settings);
        return out.build();
    }

    /** {@link #withReductions} on serialized model bytes. */
    public static byte[] reducedModelBytes(byte[] modelBytes, List<ProbeSite> sites, ProbeSettings settings) {
        return withReductions(dev.vigil.probes.OnnxModels.parse(modelBytes), sites, settings).toByteArray();
    }

    /**
     * A model that holds only the reductions: its inputs are the site tensors (float32, any shape) and the
     * attention mask (int64 {@code [B,T]}); its outputs are {@link ReducedOutputs#of(List)}. It reduces tensors
     * that were tapped from a model run, e.g. to compare both ways of computing the statistics.
     */
    public static ModelProto standalone(List<ProbeSite> sites, ProbeSettings settings) {
        GraphProto.Builder graph = GraphProto.newBuilder().setName("vigil-reductions");
        graph.addInput(input(settings.attentionMaskInput(), TensorProto.DataType.INT64, 2));
        Map<String, Boolean> seen = new LinkedHashMap<>();
        for (ProbeSite s : sites) {
            if (seen.put(s.tensor(), true) == null) {
                graph.addInput(input(s.tensor(), TensorProto.DataType.FLOAT, -1));
            }
        }
        append(graph, HISTOGRAM_OPSET, settings.attentionMaskInput(), sites, settings);
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("vigil")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(HISTOGRAM_OPSET))
                .setGraph(graph).build();
    }

    private static void append(GraphProto.Builder graph, int opset, String maskInput, List<ProbeSite> sites,
                               ProbeSettings settings) {
        GraphWriter g = new GraphWriter(graph, opset, PREFIX);
        RequestMask mask = new RequestMask(g, maskInput);
        Map<String, RowReductions> rows = new LinkedHashMap<>();
        Map<String, Boolean> attention = new LinkedHashMap<>();
        for (ProbeSite s : sites) {
            if (s.kind() == SiteKind.ATTENTION) {
                if (attention.put(s.tensor(), true) == null) {
                    AttentionReductions.append(g, mask, s.tensor());
                }
                continue;
            }
            RowReductions r = rows.get(s.tensor());
            if (r == null) {
                r = new RowReductions(g, mask, s.tensor());
                rows.put(s.tensor(), r);
                r.quant();
            }
            if (s.kind() == SiteKind.MLP) {
                r.dead();
            } else if (s.kind() == SiteKind.RESIDUAL) {
                r.massive(settings, mask);
                r.cosine();
            }
        }
    }

    /** The default domain's opset after raising 13–15 to 16; IllegalArgumentException when it cannot be used. */
    private static int upgradeOpset(ModelProto.Builder model) {
        for (int i = 0; i < model.getOpsetImportCount(); i++) {
            OperatorSetIdProto id = model.getOpsetImport(i);
            if (!id.getDomain().isEmpty() && !id.getDomain().equals("ai.onnx")) {
                continue;
            }
            long version = id.getVersion();
            if (version < MIN_OPSET) {
                throw new IllegalArgumentException("the model's opset is " + version + "; the in-graph reductions need "
                        + MIN_OPSET + " or later");
            }
            if (version < HISTOGRAM_OPSET) {
                for (NodeProto n : model.getGraph().getNodeList()) {
                    if (n.getOpType().equals("RoiAlign")) {
                        throw new IllegalArgumentException("the model's opset is " + version + " and it uses RoiAlign,"
                                + " whose default changes in opset " + HISTOGRAM_OPSET
                                + " (which the in-graph histogram needs)");
                    }
                }
                model.setOpsetImport(i, id.toBuilder().setVersion(HISTOGRAM_OPSET));
                model.setIrVersion(Math.max(model.getIrVersion(), 8));
                return HISTOGRAM_OPSET;
            }
            return (int) version;
        }
        throw new IllegalArgumentException("the model imports no default-domain opset");
    }

    private static ValueInfoProto input(String name, TensorProto.DataType type, int rank) {
        TypeProto.Tensor.Builder t = TypeProto.Tensor.newBuilder().setElemType(type.getNumber());
        if (rank >= 0) {
            TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
            for (int i = 0; i < rank; i++) {
                shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("d" + i));
            }
            t.setShape(shape);
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(t)).build();
    }
}
