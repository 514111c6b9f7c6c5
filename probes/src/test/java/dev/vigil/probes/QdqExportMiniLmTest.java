package dev.vigil.probes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The static int8 export of the real all-MiniLM-L6-v2, calibrated here by tapping the float model (abs max per
 * matmul_input site): ONNX Runtime runs it, its token embeddings stay close to the float model's, and discovery
 * finds the float model's sites in it. With uint8 activations, ONNX Runtime's CPU graph optimizer turns every
 * quantized encoder MatMul into an integer kernel (read from the optimized model it saves).
 */
class QdqExportMiniLmTest {
    @Test
    void exportedMiniLmRunsCloseToFloatWithTheSameSites() throws Exception {
        assertTrue(Files.exists(MiniLmSitesTest.MODEL), "MiniLM is not unpacked (the probes module's build does it)");
        byte[] bytes = Files.readAllBytes(MiniLmSitesTest.MODEL);
        ModelProto model = OnnxModels.parse(bytes);
        List<ProbeSite> sites = SiteDiscovery.discover(model);
        Set<String> matmulInputs = new LinkedHashSet<>();
        sites.stream().filter(s -> s.kind() == SiteKind.MATMUL_INPUT).forEach(s -> matmulInputs.add(s.tensor()));

        int b = 4;
        int t = 16;
        long[] ids = new long[b * t];
        long[] mask = new long[b * t];
        for (int s = 0; s < b; s++) {
            for (int i = 0; i < t; i++) {
                ids[s * t + i] = i == 0 ? 101 : i == t - 1 ? 102 : 1000 + (7919L * (s * t + i)) % 28000;
                mask[s * t + i] = 1;
            }
        }
        Map<String, long[]> inputs = new LinkedHashMap<>();
        inputs.put("input_ids", ids);
        inputs.put("attention_mask", mask);
        inputs.put("token_type_ids", new long[b * t]);
        long[] shape = {b, t};
        Map<String, OrtRuns.Output> tapped = OrtRuns.runLong(GraphTaps.tappedModelBytes(bytes, matmulInputs),
                inputs, shape);
        Map<String, Double> clip = new HashMap<>();
        for (String x : matmulInputs) {
            double m = 0;
            for (float v : tapped.get(x).data()) {
                m = Math.max(m, Math.abs(v));
            }
            clip.put(x, m);
        }
        QdqExport.Result r = QdqExport.export(model, clip, Set.of(), Map.of("vigil.calibration", "absmax"));
        assertEquals(25, r.quantizedSites().size(), "24 encoder sites and the pooler's");
        assertEquals(36 + 1, r.quantizedWeights().size(), "6 weight MatMuls per layer and the pooler's Gemm");
        byte[] exported = r.model().toByteArray();
        // The MatMul weights shrink 4x; the 47 MB word-embedding table (a Gather, not a MatMul) stays float.
        assertTrue(exported.length < 0.7 * bytes.length, "int8 weights: " + exported.length + " bytes");
        assertEquals(QdqExportTest.keys(sites), QdqExportTest.keys(SiteDiscovery.discover(r.model())));

        float[] f = tapped.get("output_0").data();
        float[] q = OrtRuns.runLong(exported, inputs, shape).get("output_0").data();
        int d = 384;
        double worst = 1;
        double sum = 0;
        for (int row = 0; row < b * t; row++) {
            double ab = 0;
            double aa = 0;
            double bb = 0;
            for (int j = 0; j < d; j++) {
                ab += (double) f[row * d + j] * q[row * d + j];
                aa += (double) f[row * d + j] * f[row * d + j];
                bb += (double) q[row * d + j] * q[row * d + j];
            }
            double c = ab / Math.sqrt(aa * bb);
            worst = Math.min(worst, c);
            sum += c;
        }
        double mean = sum / (b * t);
        System.out.println("MiniLM static int8 (absmax on the same tokens): token cosine mean " + mean + ", worst "
                + worst);
        // int8 changes the output (not a float copy), but stays close to it
        assertTrue(mean > 0.95 && mean < 1 - 1e-6, "mean token cosine " + mean);
        assertTrue(worst > 0.8, "worst token cosine " + worst);
    }

    @Test
    void uint8ActivationsFuseEveryEncoderMatMulIntoAnIntegerKernel(@TempDir Path dir) throws Exception {
        ModelProto model = OnnxModels.read(MiniLmSitesTest.MODEL);
        Map<String, Double> clip = new HashMap<>();
        // which kernels ORT picks depends on the graph's form, not on the ranges
        SiteDiscovery.discover(model).stream().filter(s -> s.kind() == SiteKind.MATMUL_INPUT)
                .forEach(s -> clip.put(s.tensor(), 8.0));
        QdqExport.Result r = QdqExport.export(model, clip, Set.of(), Map.of(), QdqExport.ActivationType.UINT8);
        Path optimized = dir.resolve("optimized.onnx");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setOptimizedModelFilePath(optimized.toString());
            env.createSession(r.model().toByteArray(), opts).close();
        }
        ModelProto m = OnnxModels.read(optimized);
        Map<String, String> producer = new HashMap<>();
        Map<String, Integer> ops = new TreeMap<>();
        for (NodeProto n : m.getGraph().getNodeList()) {
            n.getOutputList().forEach(o -> producer.put(o, n.getOpType()));
            ops.merge(n.getOpType(), 1, Integer::sum);
        }
        // Q, K, V, attention output, FFN in and FFN out of each of the 6 layers
        assertEquals(36, ops.getOrDefault("MatMulIntegerToFloat", 0), ops.toString());
        for (NodeProto n : m.getGraph().getNodeList()) {
            if (n.getOpType().contains("MatMul") && !n.getOpType().equals("MatMulIntegerToFloat")) {
                for (String in : n.getInputList()) {
                    assertTrue(!"DequantizeLinear".equals(producer.get(in)), n.getName() + " reads dequantized "
                            + in + " in float");
                }
            }
        }
    }
}
