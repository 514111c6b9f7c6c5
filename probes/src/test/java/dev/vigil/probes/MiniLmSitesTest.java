package dev.vigil.probes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Discovery and taps on the real all-MiniLM-L6-v2 export (6 layers × 12 heads, hidden 384, FFN 1536). */
class MiniLmSitesTest {
    static final Path MODEL = Path.of("../models/all-minilm-l6-v2/model.onnx");
    static final int LAYERS = 6;

    static ModelProto model;
    static List<ProbeSite> sites;

    @BeforeAll
    static void load() {
        assertTrue(Files.exists(MODEL), "MiniLM is not unpacked at " + MODEL.toAbsolutePath()
                + " (the probes module's build unpacks it)");
        model = OnnxModels.read(MODEL);
        sites = SiteDiscovery.discover(model);
    }

    @Test
    void countsPerKindFollowTheArchitecture() {
        // One Softmax and one GELU per layer; two LayerNorms per layer plus the embeddings LayerNorm; per layer
        // four weight-MatMul inputs (Q/K/V share one, attention output, FFN in, FFN out) plus the pooler's Gemm.
        assertEquals(LAYERS, of(SiteKind.ATTENTION).size());
        assertEquals(LAYERS, of(SiteKind.MLP).size());
        assertEquals(2 * LAYERS + 1, of(SiteKind.RESIDUAL).size());
        assertEquals(4 * LAYERS + 1, of(SiteKind.MATMUL_INPUT).size());
        for (SiteKind k : SiteKind.values()) {
            List<ProbeSite> s = of(k);
            for (int i = 0; i < s.size(); i++) {
                assertEquals(i, s.get(i).layer(), k + " layers are 0..n-1 in order");
            }
        }
    }

    @Test
    void layerOrdinalsFollowTheEncoderLayers() {
        for (int l = 0; l < LAYERS; l++) {
            String layer = "/encoder/layer." + l;
            assertEquals(layer + "/attention/self/Softmax_output_0", of(SiteKind.ATTENTION).get(l).tensor());
            assertEquals(layer + "/intermediate/intermediate_act_fn/Mul_1_output_0",
                    of(SiteKind.MLP).get(l).tensor());
            assertEquals("Erf-GELU", of(SiteKind.MLP).get(l).pattern());
            assertEquals(layer + "/attention/output/Add_output_0", of(SiteKind.RESIDUAL).get(1 + 2 * l).tensor());
            assertEquals(layer + "/output/Add_output_0", of(SiteKind.RESIDUAL).get(2 + 2 * l).tensor());
        }
        assertEquals("/embeddings/Add_1_output_0", of(SiteKind.RESIDUAL).get(0).tensor());
        assertEquals("LayerNorm(decomposed)", of(SiteKind.RESIDUAL).get(0).pattern());
        List<String> mm0 = of(SiteKind.MATMUL_INPUT).subList(0, 4).stream().map(ProbeSite::tensor).toList();
        assertEquals(List.of("/embeddings/LayerNorm/Add_1_output_0",
                "/encoder/layer.0/attention/self/Reshape_3_output_0",
                "/encoder/layer.0/attention/output/LayerNorm/Add_1_output_0",
                "/encoder/layer.0/intermediate/intermediate_act_fn/Mul_1_output_0"), mm0);
        ProbeSite pooler = of(SiteKind.MATMUL_INPUT).get(4 * LAYERS);
        assertEquals("/pooler/Gather_output_0", pooler.tensor());
        assertEquals("Gemm", pooler.pattern());
        // The export declares no value_info, so intermediate shapes are unknown.
        assertTrue(sites.stream().allMatch(s -> s.shape().isEmpty()));
    }

    @Test
    void tappedMiniLmRunsInOrtWithEverySiteAndUnchangedOutputs() throws Exception {
        int b = 2;
        int t = 16;
        long[] ids = new long[b * t];
        long[] mask = new long[b * t];
        for (int s = 0; s < b; s++) {
            int len = s == 0 ? t : 9;
            for (int i = 0; i < len; i++) {
                ids[s * t + i] = i == 0 ? 101 : i == len - 1 ? 102 : 2000 + 37 * i + 11 * s;
                mask[s * t + i] = 1;
            }
        }
        Map<String, long[]> inputs = new LinkedHashMap<>();
        inputs.put("input_ids", ids);
        inputs.put("attention_mask", mask);
        inputs.put("token_type_ids", new long[b * t]);
        long[] shape = {b, t};

        Set<String> taps = new LinkedHashSet<>();
        sites.forEach(s -> taps.add(s.tensor()));
        assertEquals(44, taps.size(), "mlp outputs are also matmul inputs: 6 + 13 + 25 distinct tensors");
        byte[] plainBytes = Files.readAllBytes(MODEL);
        byte[] tappedBytes = GraphTaps.tappedModelBytes(plainBytes, taps);
        Map<String, OrtRuns.Output> plain = OrtRuns.runLong(plainBytes, inputs, shape);
        Map<String, OrtRuns.Output> tapped = OrtRuns.runLong(tappedBytes, inputs, shape);

        for (String name : plain.keySet()) {
            assertArrayEquals(bits(plain.get(name).data()), bits(tapped.get(name).data()), name + " changed");
        }
        for (ProbeSite s : sites) {
            OrtRuns.Output o = tapped.get(s.tensor());
            long[] expected = switch (s.kind()) {
                case ATTENTION -> new long[] {b, 12, t, t};
                case MLP -> new long[] {b, t, 1536};
                case RESIDUAL -> new long[] {b, t, 384};
                case MATMUL_INPUT -> s.tensor().startsWith("/pooler") ? new long[] {b, 384}
                        : s.tensor().contains("intermediate_act_fn") ? new long[] {b, t, 1536} : new long[] {b, t, 384};
            };
            assertArrayEquals(expected, o.shape(), s.toString());
        }
        for (ProbeSite s : of(SiteKind.ATTENTION)) {
            float[] p = tapped.get(s.tensor()).data();
            for (int row = 0; row < p.length / t; row++) {
                double sum = 0;
                for (int k = 0; k < t; k++) {
                    sum += p[row * t + k];
                }
                assertEquals(1.0, sum, 1e-4, "softmax row sums to 1");
            }
        }
        // The last residual tap, layer-normalised by hand with the graph's own weights, is the model's output.
        float[] residual = tapped.get(of(SiteKind.RESIDUAL).get(2 * LAYERS).tensor()).data();
        float[] gamma = initializer("encoder.layer.5.output.LayerNorm.weight");
        float[] beta = initializer("encoder.layer.5.output.LayerNorm.bias");
        float[] out = plain.get("output_0").data();
        int d = 384;
        for (int row = 0; row < b * t; row++) {
            double mean = 0;
            for (int j = 0; j < d; j++) {
                mean += residual[row * d + j];
            }
            mean /= d;
            double var = 0;
            for (int j = 0; j < d; j++) {
                double c = residual[row * d + j] - mean;
                var += c * c;
            }
            var /= d;
            for (int j = 0; j < d; j++) {
                double ln = (residual[row * d + j] - mean) / Math.sqrt(var + 1e-12) * gamma[j] + beta[j];
                assertEquals(ln, out[row * d + j], 2e-4, "row " + row + " channel " + j);
            }
        }
    }

    private static float[] initializer(String name) {
        for (TensorProto tp : model.getGraph().getInitializerList()) {
            if (tp.getName().equals(name)) {
                if (tp.getFloatDataCount() > 0) {
                    float[] v = new float[tp.getFloatDataCount()];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = tp.getFloatData(i);
                    }
                    return v;
                }
                ByteBuffer bb = tp.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                float[] v = new float[bb.remaining() / 4];
                bb.asFloatBuffer().get(v);
                return v;
            }
        }
        throw new AssertionError("no initializer " + name);
    }

    static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = Float.floatToRawIntBits(v[i]);
        }
        return b;
    }

    private static List<ProbeSite> of(SiteKind kind) {
        List<ProbeSite> out = new ArrayList<>();
        for (ProbeSite s : sites) {
            if (s.kind() == kind) {
                out.add(s);
            }
        }
        return out;
    }
}
