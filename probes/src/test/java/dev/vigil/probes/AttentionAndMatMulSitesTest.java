package dev.vigil.probes;

import static dev.vigil.probes.TestGraph.in;
import static dev.vigil.probes.TestGraph.sites;
import static dev.vigil.probes.TestGraph.tensors;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Attention sites (Softmax → MatMul left operand) and matmul_input sites (the non-weight operand). */
class AttentionAndMatMulSitesTest {
    /** q, k, v [B,H,T,D]: scores = q·kᵀ; Softmax → p; the caller wires p (possibly through nodes) to MatMul(·, v). */
    private static TestGraph scores() {
        return new TestGraph().input("q", "B", 2, "T", 4).input("k", "B", 2, "T", 4).input("v", "B", 2, "T", 4)
                .nodeWithInts("Transpose", in("k"), new String[] {"kt"}, "perm", new long[] {0, 1, 3, 2})
                .node("MatMul", in("q", "kt"), "s")
                .nodeWithInts("Softmax", in("s"), new String[] {"p"}, "axis", -1);
    }

    @Test
    void softmaxAsLeftOperandOfMatMulIsAttention() {
        ModelProto m = scores().valueInfo("p", 1, "B", 2, "T", "T")
                .node("MatMul", in("p", "v"), "ctx").output("ctx", "B", 2, "T", 4).build();
        assertEquals(List.of(new ProbeSite(SiteKind.ATTENTION, 0, "p", List.of("B", "2", "T", "T"), "Softmax->MatMul")),
                sites(m, SiteKind.ATTENTION));
    }

    @Test
    void attentionThroughDropoutAndCast() {
        ModelProto m = scores().node("Dropout", in("p"), "pd", "mask")
                .nodeWithInts("Cast", in("pd"), new String[] {"pc"}, "to", 1)
                .node("MatMul", in("pc", "v"), "ctx").output("ctx").build();
        assertEquals(List.of("p"), tensors(m, SiteKind.ATTENTION));
    }

    @Test
    void flattenedHeadsLayoutIsAttention() {
        ModelProto m = new TestGraph().input("s", "BH", "T", "T").input("v", "BH", "T", 4)
                .valueInfo("p", 1, "BH", "T", "T")
                .node("Softmax", in("s"), "p")
                .node("MatMul", in("p", "v"), "ctx").output("ctx").build();
        assertEquals(List.of(new ProbeSite(SiteKind.ATTENTION, 0, "p", List.of("BH", "T", "T"), "Softmax->MatMul")),
                sites(m, SiteKind.ATTENTION));
    }

    @Test
    void classifierSoftmaxIsNotAttention() {
        // logits = x·W, probabilities = Softmax(logits) as the model's output.
        ModelProto head = new TestGraph().input("x", "B", 4).weight("W", new float[12], 4, 3)
                .node("MatMul", in("x", "W"), "logits")
                .node("Softmax", in("logits"), "probs").output("probs", "B", 3).build();
        assertEquals(List.of(), sites(head, SiteKind.ATTENTION));
        // A Softmax that is the right operand of a MatMul is not attention probabilities either.
        ModelProto right = scores().node("MatMul", in("v", "p"), "z").output("z").build();
        assertEquals(List.of(), sites(right, SiteKind.ATTENTION));
        // Nor is one with a declared rank 2, even feeding a MatMul's left side.
        ModelProto rank2 = new TestGraph().input("x", "B", 4).weight("W", new float[16], 4, 4)
                .valueInfo("p", 1, "B", 4)
                .node("Softmax", in("x"), "p").node("MatMul", in("p", "W"), "y").output("y").build();
        assertEquals(List.of(), sites(rank2, SiteKind.ATTENTION));
    }

    @Test
    void attentionLayersFollowSoftmaxOrder() {
        ModelProto m = scores().node("MatMul", in("p", "v"), "ctx")
                .node("MatMul", in("ctx", "kt"), "s2")
                .node("Softmax", in("s2"), "p2")
                .node("MatMul", in("p2", "v"), "ctx2").output("ctx2").build();
        List<ProbeSite> att = sites(m, SiteKind.ATTENTION);
        assertEquals(List.of("p", "p2"), att.stream().map(ProbeSite::tensor).toList());
        assertEquals(List.of(0, 1), att.stream().map(ProbeSite::layer).toList());
    }

    @Test
    void matmulInputIsTheNonWeightOperand() {
        // Q/K/V projections share one input: one site, at the first consuming MatMul.
        ModelProto m = new TestGraph().input("x", "B", "T", 4)
                .weight("Wq", new float[16], 4, 4).weight("Wk", new float[16], 4, 4).weight("Wv", new float[16], 4, 4)
                .weight("WoT", new float[16], 4, 4).weight("Wg", new float[8], 2, 4).weight("bg", new float[2], 2)
                .constant("cw", 1f)
                .node("MatMul", in("x", "Wq"), "q")
                .node("MatMul", in("x", "Wk"), "k")
                .node("MatMul", in("q", "k"), "qk") // two activations: not a matmul_input
                .nodeWithInts("Transpose", in("WoT"), new String[] {"Wo"}, "perm", new long[] {1, 0})
                .node("MatMul", in("qk", "Wo"), "o") // through a Transpose of an initializer
                .node("MatMul", in("Wv", "o"), "left") // constant on the left
                .nodeWithInts("Cast", in("Wv"), new String[] {"Wv32"}, "to", 1)
                .node("MatMul", in("left", "Wv32"), "cast") // through a Cast of an initializer
                .node("MatMul", in("cast", "cw"), "viaConstant") // a Constant node's output is constant
                .node("MatMul", in("x", "Wv"), "v")
                .nodeWithInts("Gemm", in("pooled", "Wg", "bg"), new String[] {"g"}, "transB", 1)
                .input("pooled", "B", 4)
                .output("v").output("g").output("viaConstant").build();
        List<ProbeSite> mm = sites(m, SiteKind.MATMUL_INPUT);
        assertEquals(List.of("x", "qk", "o", "left", "cast", "pooled"), mm.stream().map(ProbeSite::tensor).toList());
        assertEquals(List.of(0, 1, 2, 3, 4, 5), mm.stream().map(ProbeSite::layer).toList());
        assertEquals(List.of("B", "T", "4"), mm.get(0).shape());
        assertEquals("Gemm", mm.get(5).pattern());
    }

    @Test
    void matmulOfTwoActivationsIsNoSite() {
        ModelProto m = new TestGraph().input("a", "B", 4, 4).input("b", "B", 4, 4)
                .node("Relu", in("a"), "ra")
                .node("MatMul", in("ra", "b"), "y").output("y").build();
        assertEquals(List.of(), sites(m, SiteKind.MATMUL_INPUT));
    }

    @Test
    void nonFloatMatMulInputIsSkipped() {
        ModelProto m = new TestGraph().input("x", "B", 4).weight("W", new float[16], 4, 4)
                .nodeWithInts("Cast", in("x"), new String[] {"x16"}, "to", 10)
                .nodeWithInts("Cast", in("W"), new String[] {"W16"}, "to", 10)
                .node("MatMul", in("x16", "W16"), "y").output("y").build();
        assertEquals(List.of(), sites(m, SiteKind.MATMUL_INPUT));
    }

    @Test
    void shapesKeepNumbersSymbolsAndUnknownDims() {
        ModelProto m = new TestGraph().input("x", "batch", "?", 4).weight("W", new float[16], 4, 4)
                .node("MatMul", in("x", "W"), "y").output("y").build();
        assertEquals(List.of("batch", "?", "4"), sites(m, SiteKind.MATMUL_INPUT).get(0).shape());
    }

    @Test
    void nodesInsideSubgraphsAreIgnored() {
        // An If whose then-branch holds Relu → MatMul(weight): not searched.
        GraphProto body = new TestGraph().weight("Wb", new float[16], 4, 4)
                .node("Relu", in("x"), "rb").node("MatMul", in("rb", "Wb"), "yb").output("yb").build().getGraph();
        ModelProto m = new TestGraph().input("x", "B", 4).input("cond")
                .node("If", in("cond"), "y").output("y").build();
        NodeProto ifNode = m.getGraph().getNode(0).toBuilder()
                .addAttribute(AttributeProto.newBuilder().setName("then_branch").setType(AttributeProto.AttributeType.GRAPH)
                        .setG(body))
                .addAttribute(AttributeProto.newBuilder().setName("else_branch").setType(AttributeProto.AttributeType.GRAPH)
                        .setG(body)).build();
        ModelProto withBodies = m.toBuilder().setGraph(m.getGraph().toBuilder().setNode(0, ifNode)).build();
        assertEquals(List.of(), SiteDiscovery.discover(withBodies));
    }

    @Test
    void malformedNodesAreSkippedNotACrash() {
        // Nodes missing the inputs/outputs their op needs (a broken or truncated export).
        ModelProto m = new TestGraph().input("x", "B", 4).weight("W", new float[16], 4, 4)
                .node("Relu", in("x"))
                .node("Erf", in())
                .node("Softmax", in("x"))
                .node("com.microsoft", "SkipLayerNormalization", in("x", "x", "W"))
                .node("LayerNormalization", in())
                .node("Mul", in("x"), "m")
                .node("Sigmoid", in("m"), "sg")
                .node("Mul", in("sg"), "sm")
                .node("MatMul", in("", "W"), "y")
                .node("MatMul", in("x", "W"), "z").output("z").build();
        assertEquals(List.of(new ProbeSite(SiteKind.MATMUL_INPUT, 0, "x", List.of("B", "4"), "MatMul")),
                SiteDiscovery.discover(m));
    }

    @Test
    void modelWithoutGraphIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SiteDiscovery.discover(ModelProto.getDefaultInstance()));
        assertEquals("the model has no graph", e.getMessage());
    }
}
