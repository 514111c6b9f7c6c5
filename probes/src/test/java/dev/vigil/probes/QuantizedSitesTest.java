package dev.vigil.probes;

import static dev.vigil.probes.TestGraph.in;
import static dev.vigil.probes.TestGraph.sites;
import static dev.vigil.probes.TestGraph.tensors;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnx.proto.OnnxMl.ModelProto;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Discovery through quantized matrix products (SPEC §3): MatMulInteger after DynamicQuantizeLinear, QLinearMatMul,
 * and MatMul fed by QuantizeLinear→DequantizeLinear pairs. Each graph is also run in ONNX Runtime, so that the
 * patterns tested are ones a real runtime accepts, and the tapped site holds the float values that were quantized.
 */
class QuantizedSitesTest {
    /** W [3, 2] as int8, the same for every graph. */
    private static final byte[] W_INT8 = {10, -20, 5, 15, -10, 3};
    private static final float[] X = {1.0f, -2.0f, 0.5f, 0.25f, 3.0f, -1.5f};

    private static Map<String, OrtRuns.Output> input() {
        return Map.of("x", new OrtRuns.Output(new long[] {2, 3}, X));
    }

    @Test
    void matMulIntegerAfterDynamicQuantizeLinear() throws Exception {
        // ORT's dynamic quantization: r = Relu(x); (rq, rs, rz) = DynamicQuantizeLinear(r);
        // y = Cast(MatMulInteger(rq, Wq, rz, wz)) · (rs · ws).
        ModelProto m = new TestGraph().input("x", "B", 3)
                .int8("Wq", W_INT8, 3, 2).int8("wz", new byte[] {0}).scalar("ws", 0.1f)
                .node("Relu", in("x"), "r")
                .node("DynamicQuantizeLinear", in("r"), "rq", "rs", "rz")
                .node("Mul", in("rs", "ws"), "s")
                .node("MatMulInteger", in("rq", "Wq", "rz", "wz"), "acc")
                .nodeWithInts("Cast", in("acc"), new String[] {"accf"}, "to", 1)
                .node("Mul", in("accf", "s"), "y").output("y", "B", 2).build();
        assertEquals(List.of(new ProbeSite(SiteKind.MATMUL_INPUT, 0, "r", List.of(), "MatMulInteger")),
                sites(m, SiteKind.MATMUL_INPUT));
        assertEquals(List.of("r"), tensors(m, SiteKind.MLP), "an activation reaching MatMulInteger is an mlp site");
        assertTapIsRelu(m, "r");
    }

    @Test
    void qLinearMatMulAfterQuantizeLinear() throws Exception {
        ModelProto m = new TestGraph().input("x", "B", 3)
                .int8("Wq", W_INT8, 3, 2).int8("z", new byte[] {0})
                .scalar("xs", 0.05f).scalar("ws", 0.1f).scalar("ys", 0.2f)
                .node("Relu", in("x"), "r")
                .node("QuantizeLinear", in("r", "xs", "z"), "rq")
                .node("QLinearMatMul", in("rq", "xs", "z", "Wq", "ws", "z", "ys", "z"), "yq")
                .node("DequantizeLinear", in("yq", "ys", "z"), "y").output("y", "B", 2).build();
        assertEquals(List.of(new ProbeSite(SiteKind.MATMUL_INPUT, 0, "r", List.of(), "QLinearMatMul")),
                sites(m, SiteKind.MATMUL_INPUT));
        assertEquals(List.of("r"), tensors(m, SiteKind.MLP));
        assertTapIsRelu(m, "r");
    }

    @Test
    void qdqPairsOnActivationAndWeight() throws Exception {
        // Static QDQ: the activation through Q→DQ, the weight an int8 initializer behind its own DequantizeLinear.
        ModelProto m = new TestGraph().input("x", "B", 3)
                .int8("Wq", W_INT8, 3, 2).int8("z", new byte[] {0}).int8("wz", new byte[] {0, 0}, 2)
                .scalar("xs", 0.05f).weight("ws", new float[] {0.1f, 0.2f}, 2)
                .node("Relu", in("x"), "r")
                .node("QuantizeLinear", in("r", "xs", "z"), "rq")
                .node("DequantizeLinear", in("rq", "xs", "z"), "rd")
                .nodeWithInts("DequantizeLinear", in("Wq", "ws", "wz"), new String[] {"W"}, "axis", 1)
                .node("MatMul", in("rd", "W"), "y").output("y", "B", 2).build();
        assertEquals(List.of(new ProbeSite(SiteKind.MATMUL_INPUT, 0, "r", List.of(), "MatMul(QDQ)")),
                sites(m, SiteKind.MATMUL_INPUT));
        assertEquals(List.of("r"), tensors(m, SiteKind.MLP));
        assertTapIsRelu(m, "r");
    }

    @Test
    void dequantizedWeightIsAWeightButADequantizedInputIsNot() {
        // A MatMul of two DequantizeLinear outputs, one from a graph input: only the weight side is constant, and
        // without a QuantizeLinear behind it the site is the float DequantizeLinear output itself.
        ModelProto m = new TestGraph().input("x", "B", 3)
                .int8("Wq", W_INT8, 3, 2).int8("z", new byte[] {0}).scalar("s", 0.1f)
                .valueInfo("xq", 3, "B", 3)
                .node("DequantizeLinear", in("Wq", "s", "z"), "W")
                .node("QuantizeLinear", in("x", "s", "z"), "xq")
                .node("Identity", in("xq"), "xq2")
                .node("DequantizeLinear", in("xq2", "s", "z"), "xd")
                .node("MatMul", in("xd", "W"), "y").output("y", "B", 2).build();
        assertEquals(List.of(new ProbeSite(SiteKind.MATMUL_INPUT, 0, "xd", List.of(), "MatMul")),
                sites(m, SiteKind.MATMUL_INPUT));
    }

    @Test
    void attentionThroughQdqPair() {
        ModelProto m = new TestGraph().input("s", "B", 2, "T", "T").input("v", "B", 2, "T", 4)
                .int8("z", new byte[] {0}).scalar("ps", 1f / 127)
                .node("Softmax", in("s"), "p")
                .node("QuantizeLinear", in("p", "ps", "z"), "pq")
                .node("DequantizeLinear", in("pq", "ps", "z"), "pd")
                .node("MatMul", in("pd", "v"), "ctx").output("ctx").build();
        assertEquals(List.of("p"), tensors(m, SiteKind.ATTENTION));
        assertEquals(List.of(), tensors(m, SiteKind.MATMUL_INPUT), "no weight: not a matmul_input site");
    }

    /** The model runs in ORT with its site tapped, and the tap is Relu(x): the float tensor before quantization. */
    private static void assertTapIsRelu(ModelProto m, String site) throws Exception {
        Map<String, OrtRuns.Output> out = OrtRuns.runFloat(GraphTaps.withOutputs(m, List.of(site)).toByteArray(),
                input());
        float[] relu = new float[X.length];
        for (int i = 0; i < X.length; i++) {
            relu[i] = Math.max(0f, X[i]);
        }
        assertArrayEquals(relu, out.get(site).data());
        assertArrayEquals(new long[] {2, 2}, out.get("y").shape());
    }
}
