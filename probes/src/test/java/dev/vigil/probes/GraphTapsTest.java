package dev.vigil.probes;

import static dev.vigil.probes.TestGraph.in;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Taps run in real ONNX Runtime: the model's outputs are bit-identical and the taps hold the hand-computed values. */
class GraphTapsTest {
    private static final int B = 2;
    private static final int T = 3;
    private static final int D = 4;
    private static final int F = 6;
    private static final float EPS = 1e-5f;

    private final Random random = new Random(7);
    private final float[] bias = values(D);
    private final float[] gamma = values(D);
    private final float[] beta = values(D);
    private final float[] w1 = values(D * F);
    private final float[] w2 = values(F * D);
    private final float[] x = values(B * T * D);

    private float[] values(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }

    /**
     * A one-block transformer: r = x + bias; LayerNorm; h = ln·W1; Erf-GELU; y = g·W2; p = Softmax(y·yᵀ);
     * out = p·y.
     */
    private ModelProto block() {
        return new TestGraph().input("x", B, T, D)
                .weight("bias", bias, D).weight("gamma", gamma, D).weight("beta", beta, D)
                .weight("W1", w1, D, F).weight("W2", w2, F, D)
                .constant("sqrt2", (float) Math.sqrt(2)).constant("one", 1f).constant("half", 0.5f)
                .node("Add", in("x", "bias"), "r")
                .nodeWithInts("LayerNormalization", in("r", "gamma", "beta"), new String[] {"ln"}, "axis", -1,
                        "epsilon", EPS)
                .node("MatMul", in("ln", "W1"), "h")
                .node("Div", in("h", "sqrt2"), "d")
                .node("Erf", in("d"), "e")
                .node("Add", in("e", "one"), "s")
                .node("Mul", in("h", "s"), "hs")
                .node("Mul", in("hs", "half"), "g")
                .node("MatMul", in("g", "W2"), "y")
                .nodeWithInts("Transpose", in("y"), new String[] {"yt"}, "perm", new long[] {0, 2, 1})
                .node("MatMul", in("y", "yt"), "scores")
                .nodeWithInts("Softmax", in("scores"), new String[] {"p"}, "axis", -1)
                .node("MatMul", in("p", "y"), "out")
                .output("out", B, T, D).build();
    }

    @Test
    void discoveredSitesOfTheBlock() {
        List<ProbeSite> sites = SiteDiscovery.discover(block());
        assertEquals(List.of(
                new ProbeSite(SiteKind.ATTENTION, 0, "p", List.of(), "Softmax->MatMul"),
                new ProbeSite(SiteKind.MLP, 0, "g", List.of(), "Erf-GELU"),
                new ProbeSite(SiteKind.RESIDUAL, 0, "r", List.of(), "LayerNormalization"),
                new ProbeSite(SiteKind.MATMUL_INPUT, 0, "ln", List.of(), "MatMul"),
                new ProbeSite(SiteKind.MATMUL_INPUT, 1, "g", List.of(), "MatMul")), sites);
    }

    @Test
    void tapsLeaveOutputsBitIdenticalAndHoldTheIntermediateValues() throws Exception {
        ModelProto model = block();
        Set<String> taps = new LinkedHashSet<>();
        SiteDiscovery.discover(model).forEach(s -> taps.add(s.tensor()));
        ModelProto tapped = GraphTaps.withOutputs(model, taps);
        Map<String, OrtRuns.Output> inputs = Map.of("x", new OrtRuns.Output(new long[] {B, T, D}, x));
        Map<String, OrtRuns.Output> plain = OrtRuns.runFloat(model.toByteArray(), inputs);
        Map<String, OrtRuns.Output> run = OrtRuns.runFloat(tapped.toByteArray(), inputs);
        assertEquals(Set.of("out"), plain.keySet());
        assertEquals(Set.of("out", "p", "g", "r", "ln"), run.keySet());
        assertArrayEquals(MiniLmSitesTest.bits(plain.get("out").data()), MiniLmSitesTest.bits(run.get("out").data()));

        // The same block by hand, in double precision.
        double[] r = new double[B * T * D];
        double[] ln = new double[B * T * D];
        for (int row = 0; row < B * T; row++) {
            double mean = 0;
            for (int j = 0; j < D; j++) {
                r[row * D + j] = (double) x[row * D + j] + bias[j];
                mean += r[row * D + j];
            }
            mean /= D;
            double var = 0;
            for (int j = 0; j < D; j++) {
                var += (r[row * D + j] - mean) * (r[row * D + j] - mean);
            }
            var /= D;
            for (int j = 0; j < D; j++) {
                ln[row * D + j] = (r[row * D + j] - mean) / Math.sqrt(var + EPS) * gamma[j] + beta[j];
            }
        }
        double[] g = new double[B * T * F];
        for (int row = 0; row < B * T; row++) {
            for (int f = 0; f < F; f++) {
                double h = 0;
                for (int j = 0; j < D; j++) {
                    h += ln[row * D + j] * w1[j * F + f];
                }
                g[row * F + f] = 0.5 * h * (1 + erf(h / Math.sqrt(2)));
            }
        }
        double[] y = new double[B * T * D];
        for (int row = 0; row < B * T; row++) {
            for (int j = 0; j < D; j++) {
                for (int f = 0; f < F; f++) {
                    y[row * D + j] += g[row * F + f] * w2[f * D + j];
                }
            }
        }
        double[] p = new double[B * T * T];
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < T; i++) {
                double[] s = new double[T];
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < T; k++) {
                    for (int j = 0; j < D; j++) {
                        s[k] += y[(b * T + i) * D + j] * y[(b * T + k) * D + j];
                    }
                    max = Math.max(max, s[k]);
                }
                double z = 0;
                for (int k = 0; k < T; k++) {
                    s[k] = Math.exp(s[k] - max);
                    z += s[k];
                }
                for (int k = 0; k < T; k++) {
                    p[(b * T + i) * T + k] = s[k] / z;
                }
            }
        }
        assertClose(r, run.get("r"), new long[] {B, T, D});
        assertClose(ln, run.get("ln"), new long[] {B, T, D});
        assertClose(g, run.get("g"), new long[] {B, T, F});
        assertClose(p, run.get("p"), new long[] {B, T, T});
    }

    @Test
    void gatedRmsBlockTapsHoldTheHandComputedValues() throws Exception {
        // LLaMA-style: r = x + bias; n = r · rsqrt(mean(r²) + eps) · gamma (decomposed); y = (silu(n·Wg) · n·Wu)·Wd.
        float[] wg = values(D * F);
        float[] wu = values(D * F);
        ModelProto model = new TestGraph().input("x", B, T, D)
                .weight("bias", bias, D).weight("gamma", gamma, D)
                .weight("Wg", wg, D, F).weight("Wu", wu, D, F).weight("Wd", w2, F, D)
                .scalar("two", 2f).scalar("eps", EPS)
                .node("Add", in("x", "bias"), "r")
                .node("Pow", in("r", "two"), "sq")
                .nodeWithInts("ReduceMean", in("sq"), new String[] {"ms"}, "axes", new long[] {-1}, "keepdims", 1)
                .node("Add", in("ms", "eps"), "mse")
                .node("Sqrt", in("mse"), "rms")
                .node("Reciprocal", in("rms"), "inv")
                .node("Mul", in("r", "inv"), "normed")
                .node("Mul", in("normed", "gamma"), "n")
                .node("MatMul", in("n", "Wg"), "gate")
                .node("MatMul", in("n", "Wu"), "up")
                .node("Sigmoid", in("gate"), "sg")
                .node("Mul", in("sg", "gate"), "silu")
                .node("Mul", in("silu", "up"), "prod")
                .node("MatMul", in("prod", "Wd"), "y")
                .output("y", B, T, D).build();
        List<ProbeSite> sites = SiteDiscovery.discover(model);
        assertEquals(List.of(
                new ProbeSite(SiteKind.MLP, 0, "silu", List.of(), "SiLU"),
                new ProbeSite(SiteKind.RESIDUAL, 0, "r", List.of(), "RMSNorm(decomposed)"),
                new ProbeSite(SiteKind.MATMUL_INPUT, 0, "n", List.of(), "MatMul"),
                new ProbeSite(SiteKind.MATMUL_INPUT, 1, "prod", List.of(), "MatMul")), sites);
        Set<String> taps = new LinkedHashSet<>();
        sites.forEach(site -> taps.add(site.tensor()));
        Map<String, OrtRuns.Output> inputs = Map.of("x", new OrtRuns.Output(new long[] {B, T, D}, x));
        Map<String, OrtRuns.Output> plain = OrtRuns.runFloat(model.toByteArray(), inputs);
        Map<String, OrtRuns.Output> run = OrtRuns.runFloat(GraphTaps.withOutputs(model, taps).toByteArray(), inputs);
        assertArrayEquals(MiniLmSitesTest.bits(plain.get("y").data()), MiniLmSitesTest.bits(run.get("y").data()));

        double[] r = new double[B * T * D];
        double[] n = new double[B * T * D];
        double[] silu = new double[B * T * F];
        double[] prod = new double[B * T * F];
        for (int row = 0; row < B * T; row++) {
            double ms = 0;
            for (int j = 0; j < D; j++) {
                r[row * D + j] = (double) x[row * D + j] + bias[j];
                ms += r[row * D + j] * r[row * D + j];
            }
            double inv = 1 / Math.sqrt(ms / D + EPS);
            for (int j = 0; j < D; j++) {
                n[row * D + j] = r[row * D + j] * inv * gamma[j];
            }
            for (int f = 0; f < F; f++) {
                double gate = 0;
                double up = 0;
                for (int j = 0; j < D; j++) {
                    gate += n[row * D + j] * wg[j * F + f];
                    up += n[row * D + j] * wu[j * F + f];
                }
                silu[row * F + f] = gate / (1 + Math.exp(-gate));
                prod[row * F + f] = silu[row * F + f] * up;
            }
        }
        assertClose(r, run.get("r"), new long[] {B, T, D});
        assertClose(n, run.get("n"), new long[] {B, T, D});
        assertClose(silu, run.get("silu"), new long[] {B, T, F});
        assertClose(prod, run.get("prod"), new long[] {B, T, F});
    }

    @Test
    void skipLayerNormSumIsNamedAndTapped() throws Exception {
        float[] skip = values(B * T * D);
        ModelProto model = new TestGraph().input("x", B, T, D).input("skip", B, T, D)
                .weight("gamma", gamma, D).weight("beta", beta, D).weight("bias", bias, D)
                .node("com.microsoft", "SkipLayerNormalization", in("x", "skip", "gamma", "beta", "bias"), "y")
                .output("y", B, T, D).build();
        List<ProbeSite> sites = SiteDiscovery.discover(model);
        assertEquals(List.of(new ProbeSite(SiteKind.RESIDUAL, 0, "y/vigil_skip_sum", List.of(),
                "SkipLayerNormalization")), sites);
        ModelProto tapped = GraphTaps.withOutputs(model, List.of("y/vigil_skip_sum"));
        Map<String, OrtRuns.Output> inputs = new LinkedHashMap<>();
        inputs.put("x", new OrtRuns.Output(new long[] {B, T, D}, x));
        inputs.put("skip", new OrtRuns.Output(new long[] {B, T, D}, skip));
        Map<String, OrtRuns.Output> plain = OrtRuns.runFloat(model.toByteArray(), inputs);
        Map<String, OrtRuns.Output> run = OrtRuns.runFloat(tapped.toByteArray(), inputs);
        assertArrayEquals(MiniLmSitesTest.bits(plain.get("y").data()), MiniLmSitesTest.bits(run.get("y").data()));
        double[] sum = new double[B * T * D];
        for (int i = 0; i < sum.length; i++) {
            sum[i] = (double) x[i] + skip[i] + bias[i % D];
        }
        assertClose(sum, run.get("y/vigil_skip_sum"), new long[] {B, T, D});
    }

    @Test
    void existingOutputsAndRepeatedNamesAreNotDuplicated() {
        ModelProto tapped = GraphTaps.withOutputs(block(), List.of("out", "g", "g", "r"));
        List<String> outputs = tapped.getGraph().getOutputList().stream().map(ValueInfoProto::getName).toList();
        assertEquals(List.of("out", "g", "r"), outputs);
        assertEquals(1, tapped.getGraph().getOutput(1).getType().getTensorType().getElemType());
        // The original is untouched.
        assertEquals(1, block().getGraph().getOutputCount());
    }

    @Test
    void tapTakesTheShapeFromValueInfo() {
        ModelProto m = new TestGraph().input("x", "B", 4).valueInfo("r", 1, "B", 4)
                .node("Relu", in("x"), "r").node("Relu", in("r"), "y").output("y").build();
        ValueInfoProto out = GraphTaps.withOutputs(m, List.of("r")).getGraph().getOutput(1);
        assertEquals("r", out.getName());
        assertEquals("B", out.getType().getTensorType().getShape().getDim(0).getDimParam());
        assertEquals(4, out.getType().getTensorType().getShape().getDim(1).getDimValue());
    }

    @Test
    void badTapsAreClearErrors() {
        ModelProto m = block();
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> GraphTaps.withOutputs(m, List.of("nope")));
        assertTrue(unknown.getMessage().contains("'nope'"), unknown.getMessage());
        IllegalArgumentException weight = assertThrows(IllegalArgumentException.class,
                () -> GraphTaps.withOutputs(m, List.of("W1")));
        assertTrue(weight.getMessage().contains("initializer"), weight.getMessage());
        ModelProto half = new TestGraph().input("x", 4)
                .nodeWithInts("Cast", in("x"), new String[] {"x16"}, "to", 10)
                .nodeWithInts("Cast", in("x16"), new String[] {"y"}, "to", 1).output("y").build();
        IllegalArgumentException fp16 = assertThrows(IllegalArgumentException.class,
                () -> GraphTaps.withOutputs(half, List.of("x16")));
        assertTrue(fp16.getMessage().contains("only float32"), fp16.getMessage());
        IllegalArgumentException garbage = assertThrows(IllegalArgumentException.class,
                () -> GraphTaps.tappedModelBytes(new byte[] {1, 2, 3, 4, 5}, List.of("g")));
        assertTrue(garbage.getMessage().startsWith("not an ONNX model"), garbage.getMessage());
    }

    private static void assertClose(double[] expected, OrtRuns.Output actual, long[] shape) {
        assertArrayEquals(shape, actual.shape());
        assertEquals(expected.length, actual.data().length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual.data()[i], 1e-5 * Math.max(1, Math.abs(expected[i])), "element " + i);
        }
    }

    /** erf as 2/√π ∫₀^z e^(−t²) dt by Simpson's rule (2000 intervals: error far below float precision). */
    private static double erf(double z) {
        int n = 2000;
        double h = z / n;
        double sum = 1 + Math.exp(-z * z);
        for (int i = 1; i < n; i++) {
            double t = i * h;
            sum += (i % 2 == 1 ? 4 : 2) * Math.exp(-t * t);
        }
        return 2 / Math.sqrt(Math.PI) * sum * h / 3;
    }
}
