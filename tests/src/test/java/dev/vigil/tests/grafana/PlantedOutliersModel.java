package dev.vigil.tests.grafana;

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
import java.util.Random;

/**
 * A one-block, transformer-shaped ONNX model with planted outliers, the kind Vigil's outlier and int8 alerts exist for:
 * a "BOS" token whose embedding carries a massive value ({@link #MASSIVE} in channel {@link #MASSIVE_CHANNEL}) in
 * a residual stream that feeds a MatMul directly.
 *
 * <p>Inputs {@code input_ids[B,T]} (vocabulary {@link #VOCAB}; {@link #PAD} pads, {@link #BOS} starts every
 * sequence) and {@code attention_mask[B,T]}. Graph: {@code x = Gather(E, ids)} [B,T,{@value #D}];
 * {@code router = x·Wr} (x is a {@code matmul_input} site); {@code n1 = LN(x)}; {@code act = Relu(n1·W1 + c1)}
 * ({@code mlp}); {@code y = x + act·W2}; {@code out = LN(y)}; {@code logits = out·Wo}. Sites: residual x (layer 0)
 * and y (1); matmul_input x (0), n1 (1), act (2), out (3); mlp act (0).
 *
 * <p>Planted, by construction of E (every token row but BOS's channel 0 is "body"): 45% of a row's channels hold
 * ±[4.5, 5.9], the rest ±[0, 0.01], so a sequence's median |x| is below 0.01.
 * <ul>
 *   <li>Massive: 1600 &gt; 100 and &gt; 1000·median, once per sequence, on its first token (x and y).</li>
 *   <li>Outlier channels: only channel 0 of x exceeds 6; LN maps the BOS row's channel 0 to ≈ √D ≈ 19.5, so n1 and
 *       out have one outlier channel too; act stays below 6 (|n1·W1| ≤ 19.5·0.05 on the BOS row).</li>
 *   <li>int8 SQNR of x: absmax scale 1600/127 ≈ 12.6 rounds every body value (&lt; 6.3) to 0, so the noise is the
 *       body's energy, ≈ 0.45·27.2 = 12.2 per element, against 1600² once per sequence: a sequence of L ≥ 12
 *       tokens gives 10·log10(1 + 1600² / (12.2·384·L)) ≤ 16.7 dB, under the alert's 20 dB. LN outputs keep
 *       ≈ 27 dB (unit variance, scale 19.5/127).</li>
 *   <li>Dead neuron: MLP channel {@link #DEAD} has bias −30, while |n1·W1| ≤ 0.05·Σ|n1| ≤ 0.05·√D·‖n1‖ ≈ 20.</li>
 * </ul>
 * Run {@link #main} to (re)write {@code models/planted-outliers/}.
 */
final class PlantedOutliersModel {
    static final int VOCAB = 32;
    static final int PAD = 0;
    static final int BOS = 1;
    static final int D = 384;
    static final int F = 64;
    static final int ROUTER = 16;
    static final int CLASSES = 8;
    static final int MASSIVE_CHANNEL = 0;
    static final float MASSIVE = 1600f;
    static final int DEAD = 5;
    /** The shortest unmasked length {@code main}'s SQNR bound holds for. */
    static final int MIN_TOKENS = 12;
    static final String CONFIG = """
            {
              "max_batch_size": 8,
              "probe": {"window_tokens": 2048}
            }
            """;
    private static final long SEED = 20240611L;

    private PlantedOutliersModel() {
    }

    /** Writes {@code models/planted-outliers/} (model.onnx, config.json) under the given repository root. */
    public static void main(String[] args) throws IOException {
        Path repo = Path.of(args.length > 0 ? args[0] : "models");
        write(repo, "planted-outliers", CONFIG);
    }

    /** Writes {@code repo/name/model.onnx} and {@code config.json}. */
    static void write(Path repo, String name, String configJson) throws IOException {
        Path dir = Files.createDirectories(repo.resolve(name));
        Files.write(dir.resolve("model.onnx"), bytes());
        Files.writeString(dir.resolve("config.json"), configJson);
    }

    /** The serialized model; deterministic (a fixed seed). */
    static byte[] bytes() {
        return model().toByteArray();
    }

    /** The embedding table E[VOCAB][D], as the model holds it. */
    static float[][] embeddings() {
        Random rnd = new Random(SEED);
        float[][] e = new float[VOCAB][D];
        for (float[] row : e) {
            for (int c = 0; c < D; c++) {
                float magnitude = rnd.nextFloat() < 0.45f ? 4.5f + 1.4f * rnd.nextFloat() : 0.01f * rnd.nextFloat();
                row[c] = rnd.nextBoolean() ? magnitude : -magnitude;
            }
        }
        e[BOS][MASSIVE_CHANNEL] = MASSIVE;
        return e;
    }

    private static ModelProto model() {
        Random rnd = new Random(SEED + 1);
        TensorProto.Builder e = floats("E", VOCAB, D);
        for (float[] row : embeddings()) {
            for (float v : row) {
                e.addFloatData(v);
            }
        }
        TensorProto.Builder c1 = floats("c1", F);
        for (int j = 0; j < F; j++) {
            c1.addFloatData(j == DEAD ? -30f : 0.5f);
        }
        GraphProto graph = GraphProto.newBuilder().setName("planted-outliers")
                .addInput(value("input_ids", TensorProto.DataType.INT64_VALUE, "B", "T"))
                .addInput(value("attention_mask", TensorProto.DataType.INT64_VALUE, "B", "T"))
                .addOutput(value("logits", TensorProto.DataType.FLOAT_VALUE, "B", "T", CLASSES))
                .addOutput(value("router", TensorProto.DataType.FLOAT_VALUE, "B", "T", ROUTER))
                .addOutput(value("mask_out", TensorProto.DataType.INT64_VALUE, "B", "T"))
                .addInitializer(e)
                .addInitializer(uniform("Wr", rnd, 0.05f, D, ROUTER))
                .addInitializer(constant("g1", 1f, D)).addInitializer(constant("b1", 0f, D))
                .addInitializer(uniform("W1", rnd, 0.05f, D, F)).addInitializer(c1)
                .addInitializer(uniform("W2", rnd, 0.05f, F, D))
                .addInitializer(constant("g2", 1f, D)).addInitializer(constant("b2", 0f, D))
                .addInitializer(uniform("Wo", rnd, 0.05f, D, CLASSES))
                .addNode(node("Gather", "embed", "x", "E", "input_ids"))
                .addNode(node("MatMul", "route", "router", "x", "Wr"))
                .addNode(layerNorm("ln1", "n1", "x", "g1", "b1"))
                .addNode(node("MatMul", "up", "h1", "n1", "W1"))
                .addNode(node("Add", "up_bias", "a1", "h1", "c1"))
                .addNode(node("Relu", "relu", "act", "a1"))
                .addNode(node("MatMul", "down", "m", "act", "W2"))
                .addNode(node("Add", "residual_add", "y", "x", "m"))
                .addNode(layerNorm("ln2", "out", "y", "g2", "b2"))
                .addNode(node("MatMul", "head", "logits", "out", "Wo"))
                // The mask reaches the graph (Vigil reads it from the request); echoing it keeps it a used input.
                .addNode(node("Identity", "mask_id", "mask_out", "attention_mask"))
                .build();
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("vigil-tests")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .setGraph(graph).build();
    }

    private static NodeProto layerNorm(String name, String output, String input, String gamma, String beta) {
        return node("LayerNormalization", name, output, input, gamma, beta).toBuilder()
                .addAttribute(AttributeProto.newBuilder().setName("epsilon").setType(AttributeProto.AttributeType.FLOAT)
                        .setF(1e-5f))
                .addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT)
                        .setI(-1))
                .build();
    }

    private static TensorProto.Builder uniform(String name, Random rnd, float bound, long... dims) {
        TensorProto.Builder t = floats(name, dims);
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        for (long i = 0; i < n; i++) {
            t.addFloatData((rnd.nextFloat() * 2 - 1) * bound);
        }
        return t;
    }

    private static TensorProto.Builder constant(String name, float v, int n) {
        TensorProto.Builder t = floats(name, n);
        for (int i = 0; i < n; i++) {
            t.addFloatData(v);
        }
        return t;
    }

    private static TensorProto.Builder floats(String name, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE);
        for (long d : dims) {
            t.addDims(d);
        }
        return t;
    }

    private static NodeProto node(String op, String name, String output, String... inputs) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name).addOutput(output);
        for (String in : inputs) {
            n.addInput(in);
        }
        return n.build();
    }

    private static ValueInfoProto value(String name, int elemType, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            shape.addDim(d instanceof String s ? TensorShapeProto.Dimension.newBuilder().setDimParam(s)
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(((Number) d).longValue()));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
    }
}
