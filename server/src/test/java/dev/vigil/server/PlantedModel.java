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
import java.util.Locale;

/**
 * A model with planted probe properties, and an independent double-precision reference of what it computes.
 *
 * <p>Inputs {@code x[B,T,D]}, {@code attention_mask[B,T]} (INT64, echoed as {@code mask_out}) and attention logits
 * {@code logits[B,H,T,T]}. {@code x} is the input of a LayerNormalization (a {@code residual} site); the norm feeds
 * {@code MatMul W1 → Add b1 → Relu} (an {@code mlp} site) {@code → MatMul W2}. Channel {@link #DEAD} of the Relu has
 * bias −30 and the others +5, while |LN(x)·W1| ≤ √D·0.25·√D &lt; 5, so exactly one of F channels is dead and the rest
 * always alive. {@code Softmax(logits) → MatMul Neg(V)} is an {@code attention} site (the {@code Neg} keeps the
 * value operand non-constant, as in a real P·V, so {@code probs} is no {@code matmul_input} site).
 */
final class PlantedModel {
    static final int D = 4;
    static final int F = 3;
    static final int H = 2;
    static final int T = 4;
    static final int DEAD = 2;
    static final float[][] W1 = {{0.25f, -0.25f, 0.25f}, {-0.25f, 0.25f, 0.25f}, {0.25f, 0.25f, -0.25f},
            {-0.25f, -0.25f, 0.25f}};
    static final float[] B1 = {5f, 5f, -30f};
    static final double EPS = 1e-5;

    private PlantedModel() {
    }

    /** Writes {@code repo/name/model.onnx} and, when given, {@code config.json}. */
    static void write(Path repo, String name, String configJson) throws IOException {
        Path dir = Files.createDirectories(repo.resolve(name));
        Files.write(dir.resolve("model.onnx"), model().toByteArray());
        if (configJson != null) {
            Files.writeString(dir.resolve("config.json"), configJson);
        }
    }

    private static ModelProto model() {
        TensorProto.Builder w1 = floats("W1", D, F);
        for (float[] row : W1) {
            for (float v : row) {
                w1.addFloatData(v);
            }
        }
        TensorProto.Builder b1 = floats("B1", F);
        for (float v : B1) {
            b1.addFloatData(v);
        }
        TensorProto.Builder w2 = floats("W2", F, D);
        for (int i = 0; i < F * D; i++) {
            w2.addFloatData(0.1f * (i % 5) - 0.2f);
        }
        TensorProto.Builder gamma = floats("gamma", D);
        TensorProto.Builder beta = floats("beta", D);
        for (int i = 0; i < D; i++) {
            gamma.addFloatData(1f);
            beta.addFloatData(0f);
        }
        TensorProto.Builder v = floats("V", T, 2);
        for (int i = 0; i < T * 2; i++) {
            v.addFloatData(i);
        }
        NodeProto ln = node("LayerNormalization", "ln", "ln_out", "x", "gamma", "beta").toBuilder()
                .addAttribute(AttributeProto.newBuilder().setName("epsilon").setType(AttributeProto.AttributeType.FLOAT)
                        .setF((float) EPS))
                .addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT)
                        .setI(-1))
                .build();
        NodeProto softmax = node("Softmax", "softmax", "probs", "logits").toBuilder()
                .addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT)
                        .setI(-1))
                .build();
        GraphProto graph = GraphProto.newBuilder().setName("planted")
                .addInput(value("x", TensorProto.DataType.FLOAT_VALUE, "B", "T", D))
                .addInput(value("attention_mask", TensorProto.DataType.INT64_VALUE, "B", "T"))
                .addInput(value("logits", TensorProto.DataType.FLOAT_VALUE, "B", H, "T", "T"))
                .addOutput(value("y", TensorProto.DataType.FLOAT_VALUE, "B", "T", D))
                .addOutput(value("att_out", TensorProto.DataType.FLOAT_VALUE, "B", H, "T", 2))
                .addOutput(value("mask_out", TensorProto.DataType.INT64_VALUE, "B", "T"))
                .addInitializer(w1).addInitializer(b1).addInitializer(w2).addInitializer(gamma).addInitializer(beta)
                .addInitializer(v)
                .addNode(ln)
                .addNode(node("MatMul", "mm1", "h1", "ln_out", "W1"))
                .addNode(node("Add", "add1", "a1", "h1", "B1"))
                .addNode(node("Relu", "relu", "act", "a1"))
                .addNode(node("MatMul", "mm2", "y", "act", "W2"))
                .addNode(softmax)
                .addNode(node("Neg", "neg_v", "values", "V"))
                .addNode(node("MatMul", "pv", "att_out", "probs", "values"))
                .addNode(node("Identity", "mask_id", "mask_out", "attention_mask"))
                .build();
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("vigil-tests")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .setGraph(graph).build();
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

    /** A tensor value; dims are numbers or symbolic names. */
    private static ValueInfoProto value(String name, int elemType, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            shape.addDim(d instanceof String s ? TensorShapeProto.Dimension.newBuilder().setDimParam(s)
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(((Number) d).longValue()));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
    }

    /**
     * One request's inputs: {@code x} from a seeded generator in [−1, 1] with 2000 at channel 0 of every sequence's
     * first position; padded positions (mask 0) hold 5000 at channel 1, which would be massive were they counted;
     * logits favour key 0 in head 0 (4 vs 0), are flat in head 1, and −30 on padded keys.
     *
     * @param valid unmasked positions per sequence (right padding)
     */
    record Request(int batch, int[] valid, float[] x, long[] mask, float[] logits) {
        static Request of(long seed, int... valid) {
            int b = valid.length;
            java.util.Random rnd = new java.util.Random(seed);
            float[] x = new float[b * T * D];
            long[] mask = new long[b * T];
            float[] logits = new float[b * H * T * T];
            for (int s = 0; s < b; s++) {
                for (int t = 0; t < T; t++) {
                    boolean real = t < valid[s];
                    mask[s * T + t] = real ? 1 : 0;
                    for (int c = 0; c < D; c++) {
                        x[(s * T + t) * D + c] = real ? rnd.nextFloat() * 2 - 1 : (c == 1 ? 5000f : 0.5f);
                    }
                }
                x[(s * T) * D] = 2000f;
                for (int h = 0; h < H; h++) {
                    for (int i = 0; i < T; i++) {
                        for (int k = 0; k < T; k++) {
                            logits[((s * H + h) * T + i) * T + k] = k >= valid[s] ? -30f : h == 0 && k == 0 ? 4f : 0f;
                        }
                    }
                }
            }
            return new Request(b, valid, x, mask, logits);
        }

        String json() {
            return String.format(Locale.ROOT, "{\"inputs\":[{\"name\":\"x\",\"shape\":[%d,%d,%d],\"datatype\":\"FP32\","
                            + "\"data\":%s},{\"name\":\"attention_mask\",\"shape\":[%d,%d],\"datatype\":\"INT64\","
                            + "\"data\":%s},{\"name\":\"logits\",\"shape\":[%d,%d,%d,%d],\"datatype\":\"FP32\","
                            + "\"data\":%s}]}", batch, T, D, java.util.Arrays.toString(x), batch, T,
                    java.util.Arrays.toString(mask), batch, H, T, T, java.util.Arrays.toString(logits));
        }

        double x(int s, int t, int c) {
            return x[(s * T + t) * D + c];
        }

        /** The Relu output of a position, in double. */
        double[] act(int s, int t) {
            double mean = 0;
            for (int c = 0; c < D; c++) {
                mean += x(s, t, c);
            }
            mean /= D;
            double var = 0;
            for (int c = 0; c < D; c++) {
                var += (x(s, t, c) - mean) * (x(s, t, c) - mean);
            }
            var /= D;
            double[] a = new double[F];
            for (int j = 0; j < F; j++) {
                double sum = B1[j];
                for (int c = 0; c < D; c++) {
                    sum += (x(s, t, c) - mean) / Math.sqrt(var + EPS) * W1[c][j];
                }
                a[j] = Math.max(0, sum);
            }
            return a;
        }

        /** The softmax probability p[s,h,i,k], in double. */
        double prob(int s, int h, int i, int k) {
            double max = Double.NEGATIVE_INFINITY;
            for (int kk = 0; kk < T; kk++) {
                max = Math.max(max, logits[((s * H + h) * T + i) * T + kk]);
            }
            double sum = 0;
            for (int kk = 0; kk < T; kk++) {
                sum += Math.exp(logits[((s * H + h) * T + i) * T + kk] - max);
            }
            return Math.exp(logits[((s * H + h) * T + i) * T + k] - max) / sum;
        }
    }
}
