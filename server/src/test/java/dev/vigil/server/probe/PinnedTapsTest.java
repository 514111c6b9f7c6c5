package dev.vigil.server.probe;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.server.protocol.InferRequest;
import dev.vigil.server.protocol.InferRequestParser;
import dev.vigil.server.protocol.InferResponse;
import dev.vigil.server.serving.Device;
import dev.vigil.server.serving.ModelConfig;
import dev.vigil.server.serving.ModelPreparer;
import dev.vigil.server.serving.SessionFactory;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Taps written by ONNX Runtime into pooled buffers, in real ORT: the model's output stays bit-identical to the
 * unprobed model's, the statistics match a double-precision recomputation of the tapped activation, buffer sets are
 * reused rather than allocated per request, and a wrongly learned shape costs one retried run, not a failed request.
 */
class PinnedTapsTest {
    private static final int D = 3;
    /** Hidden width 5: the first request below has B = 5, so a pattern that ignored the graph would take it for B. */
    private static final int F = 5;
    private static final int OUT = 2;

    @Test
    void pinnedRunsKeepOutputsBitIdenticalAndFeedTheStatistics() throws Exception {
        Random random = new Random(7);
        float[][] w1 = matrix(random, D, F);
        float[] b1 = matrix(random, 1, F)[0];
        float[][] w2 = matrix(random, F, OUT);
        byte[] bytes = model(w1, b1, w2).toByteArray();
        SessionFactory factory = new SessionFactory(Device.parse("cpu"), 1);
        ModelConfig config = new ModelConfig(8, 512,
                new ObjectMapper().readTree("{\"window_tokens\": 100000}"));
        try (ProbeLayer layer = new ProbeLayer(4, 2, 1L << 30, new PrometheusRegistry())) {
            ModelPreparer.Prepared prepared = layer.prepare("m", config, bytes);
            try (PlainAndTapped run = PlainAndTapped.open(factory, bytes, prepared, config, layer)) {
                ProbedModel probed = layer.probed("m");
                assertArrayEquals(new long[]{-1, -1, F}, run.tappedSession().declaredShape("act"),
                        "the graph declares the hidden width");
                // the shapes a graph declaring nothing would teach at (5,3): act as [B,T,B]; (2,3) then fails pinned,
                // is retried and relearns [B,T,5] from what the graph declares
                probed.buffers().learn(Map.of("act", new long[]{5, 3, F}), tap -> null, 5, 3);
                int[][] requests = {{5, 3}, {2, 3}, {2, 3}, {1, 3}, {2, 3}, {1, 3}};
                double absMax = 0;
                double min = Double.POSITIVE_INFINITY;
                long count = 0;
                for (int i = 0; i < requests.length; i++) {
                    int b = requests[i][0];
                    int t = requests[i][1];
                    float[] x = matrix(random, 1, b * t * D)[0];
                    InferRequest request = request(x, b, t);
                    InferResponse expected = run.plainService().infer(run.plain(), request);
                    InferResponse actual = run.tappedService().infer(run.tapped(), request(x, b, t));
                    assertArrayEquals(bytes(expected), bytes(actual), "request " + i + ": y is bit-identical");
                    waitForProbed(probed, i + 1);
                    for (int r = 0; r < b * t; r++) {
                        for (int j = 0; j < F; j++) {
                            double h = b1[j];
                            for (int k = 0; k < D; k++) {
                                h += (double) x[r * D + k] * w1[k][j];
                            }
                            double a = Math.max(0, h);
                            absMax = Math.max(absMax, a);
                            min = Math.min(min, a);
                            count++;
                        }
                    }
                }
                assertTrue(probed.buffers().pinning(), "the relearned shapes hold");
                assertEquals(1, probed.buffers().mismatches(), "one retried run");
                assertEquals(2, probed.buffers().live(),
                        "one buffer set per (B, T) seen since relearning, reused by every later request");
                JsonNode act = null;
                for (JsonNode tensor : layer.calibration("m").path("tensors")) {
                    if (tensor.path("tensor").asText().equals("act")) {
                        act = tensor;
                    }
                }
                assertTrue(act != null, "act has quantization ranges");
                assertEquals(count, act.path("count").asLong(), "every request's act values were observed once");
                assertEquals(absMax, act.path("abs_max").asDouble(), 1e-5 * absMax);
                assertEquals(min, act.path("min").asDouble(), 1e-6);
            }
        }
    }

    private static void waitForProbed(ProbedModel probed, long n) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (probed.probe().snapshot().probedRequests() < n && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertEquals(n, probed.probe().snapshot().probedRequests());
    }

    private static byte[] bytes(InferResponse response) {
        ByteBuffer data = response.outputs().get(0).data().duplicate();
        byte[] out = new byte[data.remaining()];
        data.get(out);
        return out;
    }

    private static InferRequest request(float[] x, int b, int t) {
        StringBuilder sb = new StringBuilder("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[")
                .append(b).append(',').append(t).append(',').append(D).append("],\"data\":[");
        for (int i = 0; i < x.length; i++) {
            sb.append(i > 0 ? "," : "").append(String.format(Locale.ROOT, "%.9g", x[i]));
        }
        return new InferRequestParser().parse(sb.append("]}]}").toString().getBytes(StandardCharsets.UTF_8), -1);
    }

    private static float[][] matrix(Random random, int rows, int cols) {
        float[][] m = new float[rows][cols];
        for (float[] row : m) {
            for (int j = 0; j < cols; j++) {
                row[j] = (float) random.nextGaussian();
            }
        }
        return m;
    }

    /** x[B,T,3] → MatMul W1 → Add b1 → Relu (act: an mlp and a matmul_input site) → MatMul W2 → y. */
    private static ModelProto model(float[][] w1, float[] b1, float[][] w2) {
        GraphProto graph = GraphProto.newBuilder().setName("pinned")
                .addInput(value("x", D)).addOutput(value("y", OUT))
                .addInitializer(floats("W1", w1)).addInitializer(floats("b1", new float[][]{b1}).toBuilder()
                        .clearDims().addDims(F))
                .addInitializer(floats("W2", w2))
                .addNode(node("MatMul", "x", "W1", "xw"))
                .addNode(node("Add", "xw", "b1", "h"))
                .addNode(NodeProto.newBuilder().setOpType("Relu").setName("relu").addInput("h").addOutput("act"))
                .addNode(node("MatMul", "act", "W2", "y"))
                .build();
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("vigil-tests")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).setGraph(graph).build();
    }

    private static NodeProto node(String op, String a, String b, String out) {
        return NodeProto.newBuilder().setOpType(op).setName(out).addInput(a).addInput(b).addOutput(out).build();
    }

    private static TensorProto floats(String name, float[][] m) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addDims(m.length).addDims(m[0].length);
        for (float[] row : m) {
            for (float v : row) {
                t.addFloatData(v);
            }
        }
        return t.build();
    }

    /** A float tensor [batch, seq, last]. */
    private static ValueInfoProto value(String name, int last) {
        TensorShapeProto shape = TensorShapeProto.newBuilder()
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("batch"))
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("seq"))
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(last)).build();
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }
}
