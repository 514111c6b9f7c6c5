package dev.vigil.probes;

import static dev.vigil.probes.TestGraph.in;
import static dev.vigil.probes.TestGraph.sites;
import static dev.vigil.probes.TestGraph.tensors;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnx.proto.OnnxMl.ModelProto;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Residual sites: the input of every normalization, fused or decomposed. */
class NormalizationSitesTest {
    /** x [B,T,4] plus a bias → r (the residual stream); the caller normalises r. */
    private static TestGraph residual() {
        return new TestGraph().input("x", "B", "T", 4)
                .weight("bias", new float[4], 4).weight("gamma", new float[] {1, 1, 1, 1}, 4)
                .weight("beta", new float[4], 4)
                .valueInfo("r", 1, "B", "T", 4)
                .node("Add", in("x", "bias"), "r");
    }

    private static void assertSingleResidual(ModelProto m, String tensor, List<String> shape, String pattern) {
        assertEquals(List.of(new ProbeSite(SiteKind.RESIDUAL, 0, tensor, shape, pattern)), sites(m, SiteKind.RESIDUAL));
    }

    @Test
    void fusedNormalizationOps() {
        List<String> shape = List.of("B", "T", "4");
        assertSingleResidual(residual().node("LayerNormalization", in("r", "gamma", "beta"), "y").output("y").build(),
                "r", shape, "LayerNormalization");
        assertSingleResidual(residual().node("com.microsoft", "SimplifiedLayerNormalization", in("r", "gamma"), "y")
                .output("y").build(), "r", shape, "SimplifiedLayerNormalization");
        assertSingleResidual(residual().node("com.microsoft", "RMSNormalization", in("r", "gamma"), "y")
                .output("y").build(), "r", shape, "RMSNormalization");
        assertSingleResidual(residual().opset(23).node("RMSNormalization", in("r", "gamma"), "y")
                .output("y").build(), "r", shape, "RMSNormalization");
    }

    @Test
    void skipLayerNormTapsItsSumOutputWhenPresent() {
        ModelProto m = residual().input("skip", "B", "T", 4)
                .node("com.microsoft", "SkipLayerNormalization", in("r", "skip", "gamma", "beta"), "y", "", "", "sum")
                .output("y").build();
        assertSingleResidual(m, "sum", List.of(), "SkipLayerNormalization");
        ModelProto simplified = residual().input("skip", "B", "T", 4)
                .node("com.microsoft", "SkipSimplifiedLayerNormalization", in("r", "skip", "gamma"), "y", "", "", "sum")
                .output("y").build();
        assertSingleResidual(simplified, "sum", List.of(), "SkipSimplifiedLayerNormalization");
    }

    @Test
    void skipLayerNormWithoutSumOutputGetsANameForTheTap() {
        ModelProto m = residual().input("skip", "B", "T", 4)
                .node("com.microsoft", "SkipLayerNormalization", in("r", "skip", "gamma", "beta"), "y")
                .output("y").build();
        assertSingleResidual(m, "y/vigil_skip_sum", List.of(), "SkipLayerNormalization");
    }

    /** x → ReduceMean → Sub → square → ReduceMean → Add eps → Sqrt → normalise (Div or Reciprocal·Mul). */
    private static TestGraph decomposedLayerNorm(TestGraph g, String x, String p, boolean powSquare, boolean reciprocal) {
        g.node("ReduceMean", in(x), p + "mean")
                .node("Sub", in(x, p + "mean"), p + "d");
        if (powSquare) {
            g.node("Pow", in(p + "d", "two"), p + "sq");
        } else {
            g.node("Mul", in(p + "d", p + "d"), p + "sq");
        }
        g.node("ReduceMean", in(p + "sq"), p + "var")
                .node("Add", in(p + "var", "eps"), p + "ve")
                .node("Sqrt", in(p + "ve"), p + "sd");
        if (reciprocal) {
            g.node("Reciprocal", in(p + "sd"), p + "inv").node("Mul", in(p + "d", p + "inv"), p + "n");
        } else {
            g.node("Div", in(p + "d", p + "sd"), p + "n");
        }
        return g.node("Mul", in(p + "n", "gamma"), p + "scaled").node("Add", in(p + "scaled", "beta"), p + "out");
    }

    @Test
    void decomposedLayerNormVariants() {
        for (boolean pow : new boolean[] {true, false}) {
            for (boolean recip : new boolean[] {true, false}) {
                TestGraph g = residual().constant("two", 2f).constant("eps", 1e-12f);
                ModelProto m = decomposedLayerNorm(g, "r", "ln_", pow, recip).output("ln_out").build();
                // Exactly one site: the LayerNorm's own variance branch is not mistaken for an RMSNorm of (x - mean).
                assertSingleResidual(m, "r", List.of("B", "T", "4"), "LayerNorm(decomposed)");
            }
        }
    }

    /** LLaMA's RMSNorm: x · rsqrt(mean(x²) + eps), with the reciprocal written three ways. */
    @Test
    void decomposedRmsNormVariants() {
        for (String form : new String[] {"Div", "Reciprocal", "OneOver"}) {
            TestGraph g = residual().scalar("two", 2f).scalar("eps", 1e-6f).scalar("one", 1f)
                    .node("Pow", in("r", "two"), "sq")
                    .node("ReduceMean", in("sq"), "ms")
                    .node("Add", in("ms", "eps"), "mse")
                    .node("Sqrt", in("mse"), "rms");
            switch (form) {
                case "Div" -> g.node("Div", in("r", "rms"), "n");
                case "Reciprocal" -> g.node("Reciprocal", in("rms"), "inv").node("Mul", in("r", "inv"), "n");
                default -> g.node("Div", in("one", "rms"), "inv").node("Mul", in("inv", "r"), "n");
            }
            ModelProto m = g.node("Mul", in("gamma", "n"), "y").output("y").build();
            assertSingleResidual(m, "r", List.of("B", "T", "4"), "RMSNorm(decomposed)");
        }
    }

    @Test
    void squareWithoutTheNormalisationIsNotAnRmsNorm() {
        // mean(x²) + eps, sqrt, but then added rather than divided: an L2-ish feature, not a norm.
        ModelProto m = residual().scalar("two", 2f).scalar("eps", 1e-6f)
                .node("Pow", in("r", "two"), "sq")
                .node("ReduceMean", in("sq"), "ms")
                .node("Add", in("ms", "eps"), "mse")
                .node("Sqrt", in("mse"), "rms")
                .node("Add", in("r", "rms"), "y").output("y").build();
        assertEquals(List.of(), sites(m, SiteKind.RESIDUAL));
    }

    @Test
    void oneResidualFeedingTwoNormsIsOneSiteAtTheFirstNorm() {
        // r0 → LN (node A) and, later, r0 → SimplifiedLN (node C); r1 → LN (node B) sits between them.
        ModelProto m = residual()
                .node("LayerNormalization", in("r", "gamma", "beta"), "a")
                .node("Add", in("a", "x"), "r1")
                .node("LayerNormalization", in("r1", "gamma", "beta"), "b")
                .node("com.microsoft", "SimplifiedLayerNormalization", in("r", "gamma"), "c")
                .output("b").output("c").build();
        List<ProbeSite> res = sites(m, SiteKind.RESIDUAL);
        assertEquals(List.of("r", "r1"), res.stream().map(ProbeSite::tensor).toList());
        assertEquals(List.of(0, 1), res.stream().map(ProbeSite::layer).toList());
        assertEquals("LayerNormalization", res.get(0).pattern());
    }

    @Test
    void decomposedLayerOrderIsTheFirstNodeOfThePattern() {
        // Block 0 decomposed, block 1 fused: the decomposed one's first ReduceMean comes first.
        TestGraph g = residual().constant("two", 2f).constant("eps", 1e-5f);
        decomposedLayerNorm(g, "r", "a_", true, false)
                .node("Add", in("a_out", "x"), "r1")
                .node("LayerNormalization", in("r1", "gamma", "beta"), "y");
        ModelProto m = g.output("y").build();
        assertEquals(List.of("r", "r1"), tensors(m, SiteKind.RESIDUAL));
        assertEquals(List.of("LayerNorm(decomposed)", "LayerNormalization"),
                sites(m, SiteKind.RESIDUAL).stream().map(ProbeSite::pattern).toList());
    }

    @Test
    void nonFloatResidualIsSkipped() {
        // The graph declares the norm's input as float16: Vigil reads float32 only.
        ModelProto m = new TestGraph().input("x", "B", "T", 4)
                .weight("gamma", new float[4], 4)
                .nodeWithInts("Cast", in("x"), new String[] {"h"}, "to", 10)
                .node("com.microsoft", "SimplifiedLayerNormalization", in("h", "gamma"), "y")
                .output("y").build();
        assertEquals(List.of(), sites(m, SiteKind.RESIDUAL));
    }
}
