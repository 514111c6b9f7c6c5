package dev.vigil.probes;

import static dev.vigil.probes.TestGraph.in;
import static dev.vigil.probes.TestGraph.sites;
import static dev.vigil.probes.TestGraph.tensors;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnx.proto.OnnxMl.ModelProto;
import java.util.List;
import org.junit.jupiter.api.Test;

/** MLP activation sites: single ops, decomposed GELU/SiLU patterns, the reaches-a-MatMul rule, layer order. */
class ActivationSitesTest {
    private static final float SQRT2 = (float) Math.sqrt(2.0);

    /** x [B,T,4] → MatMul W1 → h [B,T,8]; the caller builds the activation from h to {@code act}; act → MatMul W2. */
    private static TestGraph ffn() {
        return new TestGraph()
                .input("x", "B", "T", 4)
                .weight("W1", new float[32], 4, 8)
                .weight("W2", new float[32], 8, 4)
                .node("MatMul", in("x", "W1"), "h");
    }

    private static ModelProto closeFfn(TestGraph g) {
        return g.node("MatMul", in("act", "W2"), "y").output("y", "B", "T", 4).build();
    }

    private static void assertSingleMlp(ModelProto m, String pattern) {
        List<ProbeSite> mlp = sites(m, SiteKind.MLP);
        assertEquals(1, mlp.size(), "one mlp site: " + mlp);
        assertEquals(new ProbeSite(SiteKind.MLP, 0, "act", List.of(), pattern), mlp.get(0));
    }

    @Test
    void singleOpActivations() {
        assertSingleMlp(closeFfn(ffn().node("Relu", in("h"), "act")), "Relu");
        assertSingleMlp(closeFfn(ffn().opset(20).node("Gelu", in("h"), "act")), "Gelu");
        assertSingleMlp(closeFfn(ffn().node("com.microsoft", "Gelu", in("h"), "act")), "Gelu");
        assertSingleMlp(closeFfn(ffn().node("com.microsoft", "FastGelu", in("h"), "act")), "FastGelu");
        assertSingleMlp(closeFfn(ffn().weight("b", new float[8], 8)
                .node("com.microsoft", "BiasGelu", in("h", "b"), "act")), "BiasGelu");
        assertSingleMlp(closeFfn(ffn().node("com.microsoft", "QuickGelu", in("h"), "act")), "QuickGelu");
    }

    @Test
    void erfGeluDivForm() {
        // PyTorch / Hugging Face BERT export: Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5).
        ModelProto m = closeFfn(ffn().constant("sqrt2", SQRT2).constant("one", 1f).constant("half", 0.5f)
                .node("Div", in("h", "sqrt2"), "d")
                .node("Erf", in("d"), "e")
                .node("Add", in("e", "one"), "s")
                .node("Mul", in("h", "s"), "xs")
                .node("Mul", in("xs", "half"), "act"));
        assertSingleMlp(m, "Erf-GELU");
    }

    @Test
    void erfGeluMulFormWithAnyOperandOrder() {
        // 0.5·x first, 1/√2 as a multiplier, constants on the left.
        ModelProto m = closeFfn(ffn().scalar("invsqrt2", (float) (1 / Math.sqrt(2))).scalar("one", 1f)
                .scalar("half", 0.5f)
                .node("Mul", in("invsqrt2", "h"), "d")
                .node("Erf", in("d"), "e")
                .node("Add", in("one", "e"), "s")
                .node("Mul", in("half", "h"), "hx")
                .node("Mul", in("s", "hx"), "act"));
        assertSingleMlp(m, "Erf-GELU");
        // 0.5 applied to (1+erf) first, then x.
        ModelProto m2 = closeFfn(ffn().scalar("invsqrt2", (float) (1 / Math.sqrt(2))).scalar("one", 1f)
                .scalar("half", 0.5f)
                .node("Mul", in("h", "invsqrt2"), "d")
                .node("Erf", in("d"), "e")
                .node("Add", in("e", "one"), "s")
                .node("Mul", in("s", "half"), "sh")
                .node("Mul", in("sh", "h"), "act"));
        assertSingleMlp(m2, "Erf-GELU");
    }

    @Test
    void erfWithWrongConstantsIsNotGelu() {
        // erf(x/2): not the GELU scaling, so not a site.
        ModelProto m = closeFfn(ffn().scalar("two", 2f).scalar("one", 1f).scalar("half", 0.5f)
                .node("Div", in("h", "two"), "d")
                .node("Erf", in("d"), "e")
                .node("Add", in("e", "one"), "s")
                .node("Mul", in("h", "s"), "xs")
                .node("Mul", in("xs", "half"), "act"));
        assertEquals(List.of(), sites(m, SiteKind.MLP));
        // Missing the 0.5 factor.
        ModelProto m2 = closeFfn(ffn().scalar("sqrt2", SQRT2).scalar("one", 1f)
                .node("Div", in("h", "sqrt2"), "d")
                .node("Erf", in("d"), "e")
                .node("Add", in("e", "one"), "s")
                .node("Mul", in("h", "s"), "act"));
        assertEquals(List.of(), sites(m2, SiteKind.MLP));
    }

    @Test
    void tanhGeluWithPowAndWithMulChain() {
        // GPT-2 gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), x³ as Pow(x, 3).
        ModelProto pow = closeFfn(ffn().scalar("three", 3f).scalar("c", 0.044715f)
                .scalar("k", (float) Math.sqrt(2 / Math.PI)).scalar("one", 1f).scalar("half", 0.5f)
                .node("Pow", in("h", "three"), "cube")
                .node("Mul", in("c", "cube"), "cc")
                .node("Add", in("h", "cc"), "inner")
                .node("Mul", in("inner", "k"), "scaled")
                .node("Tanh", in("scaled"), "t")
                .node("Add", in("t", "one"), "s")
                .node("Mul", in("half", "h"), "hx")
                .node("Mul", in("hx", "s"), "act"));
        assertSingleMlp(pow, "tanh-GELU");
        // x³ as x·x·x, the sum's operands swapped.
        ModelProto chain = closeFfn(ffn().scalar("c", 0.044715f)
                .scalar("k", (float) Math.sqrt(2 / Math.PI)).scalar("one", 1f).scalar("half", 0.5f)
                .node("Mul", in("h", "h"), "sq")
                .node("Mul", in("sq", "h"), "cube")
                .node("Mul", in("cube", "c"), "cc")
                .node("Add", in("cc", "h"), "inner")
                .node("Mul", in("k", "inner"), "scaled")
                .node("Tanh", in("scaled"), "t")
                .node("Add", in("one", "t"), "s")
                .node("Mul", in("s", "h"), "xs")
                .node("Mul", in("xs", "half"), "act"));
        assertSingleMlp(chain, "tanh-GELU");
    }

    @Test
    void plainTanhIsNotAnActivationSite() {
        ModelProto m = closeFfn(ffn().node("Tanh", in("h"), "act"));
        assertEquals(List.of(), sites(m, SiteKind.MLP));
    }

    @Test
    void siluBothOperandOrdersAndQuickGeluPattern() {
        assertSingleMlp(closeFfn(ffn().node("Sigmoid", in("h"), "sg").node("Mul", in("h", "sg"), "act")), "SiLU");
        assertSingleMlp(closeFfn(ffn().node("Sigmoid", in("h"), "sg").node("Mul", in("sg", "h"), "act")), "SiLU");
        assertSingleMlp(closeFfn(ffn().scalar("beta", 1.702f)
                .node("Mul", in("h", "beta"), "bh")
                .node("Sigmoid", in("bh"), "sg")
                .node("Mul", in("h", "sg"), "act")), "QuickGelu");
    }

    @Test
    void sigmoidGateOfAnotherTensorIsNotSilu() {
        // GLU-style a·sigmoid(b): not an activation of the same tensor.
        ModelProto m = ffn().weight("W3", new float[32], 4, 8).weight("W2", new float[32], 8, 4)
                .node("MatMul", in("x", "W3"), "g")
                .node("Sigmoid", in("g"), "sg")
                .node("Mul", in("h", "sg"), "act")
                .node("MatMul", in("act", "W2"), "y").output("y", "B", "T", 4).build();
        assertEquals(List.of(), sites(m, SiteKind.MLP));
    }

    @Test
    void gatedMlpTapsTheActivationItselfAndTheGateProductIsAMatmulInput() {
        // LLaMA: down(silu(gate(x)) · up(x)).
        ModelProto m = new TestGraph().input("x", "B", "T", 4)
                .weight("Wg", new float[32], 4, 8).weight("Wu", new float[32], 4, 8).weight("Wd", new float[32], 8, 4)
                .node("MatMul", in("x", "Wg"), "gate")
                .node("MatMul", in("x", "Wu"), "up")
                .node("Sigmoid", in("gate"), "sg")
                .node("Mul", in("gate", "sg"), "silu")
                .node("Mul", in("silu", "up"), "prod")
                .node("MatMul", in("prod", "Wd"), "y").output("y", "B", "T", 4).build();
        assertEquals(List.of(new ProbeSite(SiteKind.MLP, 0, "silu", List.of(), "SiLU")), sites(m, SiteKind.MLP));
        assertEquals(List.of("x", "prod"), tensors(m, SiteKind.MATMUL_INPUT));
    }

    @Test
    void reluReachesMatMulThroughDropoutAndCastButNotOtherwise() {
        ModelProto through = closeFfn(ffn().node("Relu", in("h"), "r")
                .node("Dropout", in("r"), "dr")
                .nodeWithInts("Cast", in("dr"), new String[] {"act"}, "to", 1));
        assertEquals(List.of("r"), tensors(through, SiteKind.MLP));
        // A Relu whose result only feeds an Add and the graph output (e.g. a head) is not an mlp site.
        ModelProto dangling = ffn().weight("bias", new float[8], 8)
                .node("Relu", in("h"), "r").node("Add", in("r", "bias"), "y").output("y", "B", "T", 8).build();
        assertEquals(List.of(), sites(dangling, SiteKind.MLP));
    }

    @Test
    void activationFeedingAWeightMatMulIsTwoSites() {
        ModelProto m = closeFfn(ffn().node("Relu", in("h"), "act"));
        List<ProbeSite> all = SiteDiscovery.discover(m);
        assertEquals(List.of(new ProbeSite(SiteKind.MLP, 0, "act", List.of(), "Relu"),
                new ProbeSite(SiteKind.MATMUL_INPUT, 0, "x", List.of("B", "T", "4"), "MatMul"),
                new ProbeSite(SiteKind.MATMUL_INPUT, 1, "act", List.of(), "MatMul")), all);
    }

    @Test
    void layersFollowTheLastNodeOfEachPatternAcrossPatternKinds() {
        // Block 0 uses Erf-GELU (its last node comes late), block 1 a Relu; node order decides the layer.
        ModelProto m = new TestGraph().input("x", "B", "T", 4)
                .weight("A1", new float[32], 4, 8).weight("A2", new float[32], 8, 4)
                .weight("B1", new float[32], 4, 8).weight("B2", new float[32], 8, 4)
                .scalar("sqrt2", SQRT2).scalar("one", 1f).scalar("half", 0.5f)
                .node("MatMul", in("x", "A1"), "h0")
                .node("Div", in("h0", "sqrt2"), "d")
                .node("Erf", in("d"), "e")
                .node("Add", in("e", "one"), "s")
                .node("Mul", in("h0", "s"), "xs")
                .node("Mul", in("xs", "half"), "g0")
                .node("MatMul", in("g0", "A2"), "y0")
                .node("MatMul", in("y0", "B1"), "h1")
                .node("Relu", in("h1"), "g1")
                .node("MatMul", in("g1", "B2"), "y").output("y", "B", "T", 4).build();
        List<ProbeSite> mlp = sites(m, SiteKind.MLP);
        assertEquals(List.of("g0", "g1"), mlp.stream().map(ProbeSite::tensor).toList());
        assertEquals(List.of(0, 1), mlp.stream().map(ProbeSite::layer).toList());
        assertEquals(List.of("Erf-GELU", "Relu"), mlp.stream().map(ProbeSite::pattern).toList());
    }
}
