package dev.vigil.exporter;

import static dev.vigil.exporter.OnnxGraph.attr;

import ai.djl.nn.Parameter;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;

/**
 * Writes a trained {@link SequenceClassifier} as an ONNX graph (opset 17) with standard operators:
 * Gather, MatMul, Add, Softmax, LayerNormalization, Relu or the Erf-GELU pattern, and DFT for the
 * spectral mixer. Input {@code input_ids} INT64 [batch, seqLen], output {@code logits} FLOAT
 * [batch, classes]; the batch axis is dynamic.
 *
 * <p>The graph is laid out so Vigil's probes find their sites: each attention Softmax output
 * [B, H, T, T] is the left operand of a MatMul, each activation output feeds a MatMul, and every
 * LayerNormalization reads the residual stream.
 */
public final class OnnxExporter {
    public static final String INPUT = "input_ids";
    public static final String OUTPUT = "logits";
    private static final String PRODUCER = "vigil-exporter";

    private OnnxExporter() {
    }

    /** The whole classifier. */
    public static ModelProto export(SequenceClassifier model, String graphName) {
        ModelOptions o = model.options();
        OnnxGraph g = new OnnxGraph(graphName);
        g.input(INPUT, TensorProto.DataType.INT64, o.seqLen());
        String tokens = g.node("Gather", "embeddings.tokens",
                new String[] {weights(g, "embeddings.token_table", model.tokenEmbedding()), INPUT}, attr("axis", 0L));
        String x = g.node("Add", "embeddings.out",
                new String[] {tokens, weights(g, "embeddings.position_table", model.positionEmbedding())});
        int i = 0;
        for (EncoderLayer layer : model.layers()) {
            x = encoderLayer(g, "layer" + i++, layer, o, x);
        }
        if (model.finalNorm() != null) {
            x = layerNorm(g, "final_norm", model.finalNorm(), x);
        }
        String pooled = switch (o.pooling()) {
            case MEAN -> g.node("ReduceMean", "pooled", new String[] {x},
                    attr("axes", new long[] {1}), attr("keepdims", 0L));
            case FIRST -> g.node("Gather", "pooled", new String[] {x, g.longScalar("pooled.index", 0)},
                    attr("axis", 1L));
        };
        dense(g, "head", model.head(), pooled, OUTPUT);
        g.output(OUTPUT, TensorProto.DataType.FLOAT, o.classes());
        return g.model(PRODUCER);
    }

    /**
     * The spectral mixer alone: input {@code x} FLOAT [batch, seqLen, dim], output {@code y} of the
     * same shape. Used to check the DFT formulation against an independent FFT.
     */
    public static ModelProto exportMixer(SpectralMixer mixer, int dim) {
        OnnxGraph g = new OnnxGraph("spectral_mixer");
        g.input("x", TensorProto.DataType.FLOAT, mixer.seqLen(), dim);
        spectralMixer(g, "mixer", mixer, "x", "y");
        g.output("y", TensorProto.DataType.FLOAT, mixer.seqLen(), dim);
        return g.model(PRODUCER);
    }

    private static String encoderLayer(OnnxGraph g, String p, EncoderLayer layer, ModelOptions o, String x) {
        if (o.architecture().preNorm()) {
            String h = layerNorm(g, p + ".mixer_norm", layer.mixerNorm(), x);
            String r = g.node("Add", p + ".mixer_residual", new String[] {x, mixer(g, p, layer, o, h)});
            String h2 = layerNorm(g, p + ".mlp_norm", layer.mlpNorm(), r);
            return g.node("Add", p + ".out", new String[] {r, feedForward(g, p + ".mlp", layer.mlp(), h2)});
        }
        String s = g.node("Add", p + ".mixer_residual", new String[] {x, mixer(g, p, layer, o, x)});
        String h = layerNorm(g, p + ".mixer_norm", layer.mixerNorm(), s);
        String s2 = g.node("Add", p + ".mlp_residual", new String[] {h, feedForward(g, p + ".mlp", layer.mlp(), h)});
        return layerNorm(g, p + ".mlp_norm", layer.mlpNorm(), s2);
    }

    private static String mixer(OnnxGraph g, String p, EncoderLayer layer, ModelOptions o, String h) {
        return switch (o.architecture().mixing()) {
            case ATTENTION -> attention(g, p + ".attention", (MultiHeadSelfAttention) layer.mixer(), o, h);
            case SPECTRAL -> spectralMixer(g, p + ".spectral", (SpectralMixer) layer.mixer(), h, p + ".spectral.out");
        };
    }

    private static String attention(OnnxGraph g, String p, MultiHeadSelfAttention a, ModelOptions o, String h) {
        String split = g.longs(p + ".split_shape", 0, 0, o.heads(), o.headDim());
        String q = heads(g, p + ".query", a.query(), h, split, new long[] {0, 2, 1, 3});
        String k = heads(g, p + ".key", a.key(), h, split, new long[] {0, 2, 3, 1});
        String v = heads(g, p + ".value", a.value(), h, split, new long[] {0, 2, 1, 3});
        String scores = g.node("MatMul", p + ".scores", new String[] {q, k});
        String scaled = g.node("Mul", p + ".scaled_scores", new String[] {scores, g.scalar(p + ".scale", a.scale())});
        String probs = g.node("Softmax", p + ".probs", new String[] {scaled}, attr("axis", -1L));
        String context = g.node("MatMul", p + ".context", new String[] {probs, v});
        String merged = g.node("Transpose", p + ".context_t", new String[] {context}, attr("perm", new long[] {0, 2, 1, 3}));
        String flat = g.node("Reshape", p + ".context_flat",
                new String[] {merged, g.longs(p + ".merge_shape", 0, 0, o.dim())});
        return dense(g, p + ".output", a.output(), flat, p + ".output.out");
    }

    private static String heads(OnnxGraph g, String p, DenseLayer proj, String h, String split, long[] perm) {
        String projected = dense(g, p, proj, h, p + ".out");
        String reshaped = g.node("Reshape", p + ".heads", new String[] {projected, split});
        return g.node("Transpose", p + ".heads_t", new String[] {reshaped}, attr("perm", perm));
    }

    /**
     * rfft over tokens (DFT onesided on [B, T, D, 1]), complex product with the filter, Hermitian
     * extension (bins mirror..1 reversed and conjugated), inverse DFT, real part.
     */
    private static String spectralMixer(OnnxGraph g, String p, SpectralMixer m, String x, String out) {
        int n = m.seqLen();
        int bins = n / 2 + 1;
        int mirror = n - bins;
        long dim = m.filterReal().getArray().getShape().get(1);
        String signal = g.node("Unsqueeze", p + ".signal", new String[] {x, g.longs(p + ".signal_axis", 3)});
        String spectrum = g.node("DFT", p + ".spectrum", new String[] {signal},
                attr("axis", 1L), attr("onesided", 1L));
        String[] parts = g.nodeWithOutputs("Split", new String[] {p + ".spectrum_re", p + ".spectrum_im"},
                new String[] {spectrum}, attr("axis", 3L));
        String wr = g.floats(p + ".filter_real", m.filterReal().getArray().toFloatArray(), bins, dim, 1);
        String wi = g.floats(p + ".filter_imag", m.filterImag().getArray().toFloatArray(), bins, dim, 1);
        String re = g.node("Sub", p + ".filtered_re", new String[] {
            g.node("Mul", p + ".re_wr", new String[] {parts[0], wr}),
            g.node("Mul", p + ".im_wi", new String[] {parts[1], wi})});
        String im = g.node("Add", p + ".filtered_im", new String[] {
            g.node("Mul", p + ".re_wi", new String[] {parts[0], wi}),
            g.node("Mul", p + ".im_wr", new String[] {parts[1], wr})});
        String half = g.node("Concat", p + ".filtered", new String[] {re, im}, attr("axis", 3L));
        String reflected = g.node("Slice", p + ".reflected", new String[] {half,
            g.longs(p + ".reflect_start", mirror), g.longs(p + ".reflect_end", 0),
            g.longs(p + ".reflect_axis", 1), g.longs(p + ".reflect_step", -1)});
        String conjugate = g.node("Mul", p + ".conjugated", new String[] {reflected,
            g.floats(p + ".conjugate_sign", new float[] {1f, -1f}, 2)});
        String full = g.node("Concat", p + ".full_spectrum", new String[] {half, conjugate}, attr("axis", 1L));
        String inverse = g.node("DFT", p + ".inverse", new String[] {full},
                attr("axis", 1L), attr("inverse", 1L), attr("onesided", 0L));
        String real = g.node("Slice", p + ".inverse_re", new String[] {inverse,
            g.longs(p + ".real_start", 0), g.longs(p + ".real_end", 1), g.longs(p + ".real_axis", 3)});
        return g.node("Squeeze", out, new String[] {real, g.longs(p + ".squeeze_axis", 3)});
    }

    private static String feedForward(OnnxGraph g, String p, FeedForward f, String h) {
        String up = dense(g, p + ".up", f.up(), h, p + ".up.out");
        String activated = switch (f.activation()) {
            case RELU -> g.node("Relu", p + ".act", new String[] {up});
            case GELU -> {
                String scaled = g.node("Div", p + ".gelu_div", new String[] {up, g.scalar(p + ".gelu_sqrt2", FeedForward.SQRT2)});
                String erf = g.node("Erf", p + ".gelu_erf", new String[] {scaled});
                String onePlus = g.node("Add", p + ".gelu_add", new String[] {erf, g.scalar(p + ".gelu_one", 1f)});
                String product = g.node("Mul", p + ".gelu_mul", new String[] {up, onePlus});
                yield g.node("Mul", p + ".act", new String[] {product, g.scalar(p + ".gelu_half", 0.5f)});
            }
        };
        return dense(g, p + ".down", f.down(), activated, p + ".down.out");
    }

    private static String layerNorm(OnnxGraph g, String p, LayerNormBlock norm, String x) {
        return g.node("LayerNormalization", p + ".out", new String[] {x,
            weights(g, p + ".gamma", norm.gamma()), weights(g, p + ".beta", norm.beta())},
                attr("axis", -1L), attr("epsilon", ModelOptions.LAYER_NORM_EPSILON));
    }

    private static String dense(OnnxGraph g, String p, DenseLayer d, String x, String out) {
        String product = g.node("MatMul", p + ".matmul", new String[] {x, weights(g, p + ".weight", d.weight())});
        return g.node("Add", out, new String[] {product, weights(g, p + ".bias", d.bias())});
    }

    private static String weights(OnnxGraph g, String name, Parameter parameter) {
        return g.floats(name, parameter.getArray().toFloatArray(), parameter.getArray().getShape().getShape());
    }
}
