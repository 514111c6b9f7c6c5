package dev.vigil.probes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The published int8 all-MiniLM-L6-v2 (ONNX Runtime's dynamic quantization: DynamicQuantizeLinear + MatMulInteger)
 * is probed as fully as the float model it was made from.
 */
class QuantizedMiniLmSitesTest {
    static final Path INT8 = Path.of("../models/all-minilm-l6-v2-q/model.onnx");

    static List<ProbeSite> floatSites;
    static List<ProbeSite> int8Sites;

    @BeforeAll
    static void load() {
        assertTrue(Files.exists(INT8) && Files.exists(MiniLmSitesTest.MODEL),
                "the MiniLM models are not unpacked (the probes module's build unpacks them)");
        floatSites = SiteDiscovery.discover(OnnxModels.read(MiniLmSitesTest.MODEL));
        int8Sites = SiteDiscovery.discover(OnnxModels.read(INT8));
    }

    @Test
    void int8SitesAreTheFloatSitesWithoutThePooler() {
        // The int8 export has no pooler (one output, last_hidden_state): every other site is found, under the same
        // tensor name and layer, and the matmul inputs are the DynamicQuantizeLinear inputs.
        List<String> expected = floatSites.stream().filter(s -> !s.tensor().startsWith("/pooler"))
                .map(QuantizedMiniLmSitesTest::key).toList();
        assertEquals(expected, int8Sites.stream().map(QuantizedMiniLmSitesTest::key).toList());
        assertEquals(6 + 6 + 13 + 24, int8Sites.size());
        assertTrue(int8Sites.stream().filter(s -> s.kind() == SiteKind.MATMUL_INPUT)
                .allMatch(s -> s.pattern().equals("MatMulInteger")));
    }

    @Test
    void int8TapsHoldTheFloatModelsValuesUpToQuantizationError() throws Exception {
        // Each tapped tensor of the int8 model is the float tensor of the same name, perturbed only by the int8
        // rounding upstream: its cosine to the float model's tap is close to 1 at every site.
        int t = 12;
        long[] ids = new long[t];
        long[] mask = new long[t];
        for (int i = 0; i < t; i++) {
            ids[i] = i == 0 ? 101 : i == t - 1 ? 102 : 2000 + 53 * i;
            mask[i] = 1;
        }
        Map<String, long[]> inputs = new LinkedHashMap<>();
        inputs.put("input_ids", ids);
        inputs.put("attention_mask", mask);
        inputs.put("token_type_ids", new long[t]);
        Set<String> taps = new LinkedHashSet<>();
        int8Sites.forEach(s -> taps.add(s.tensor()));
        long[] shape = {1, t};
        Map<String, OrtRuns.Output> f = OrtRuns.runLong(
                GraphTaps.tappedModelBytes(Files.readAllBytes(MiniLmSitesTest.MODEL), taps), inputs, shape);
        Map<String, OrtRuns.Output> q = OrtRuns.runLong(
                GraphTaps.tappedModelBytes(Files.readAllBytes(INT8), taps), inputs, shape);
        for (String tap : taps) {
            double c = cosine(f.get(tap).data(), q.get(tap).data());
            assertTrue(c > 0.95, tap + ": cosine " + c);
        }
    }

    private static String key(ProbeSite s) {
        return s.kind().label() + "/" + s.layer() + "/" + s.tensor();
    }

    static double cosine(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double ab = 0;
        double aa = 0;
        double bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb);
    }
}
