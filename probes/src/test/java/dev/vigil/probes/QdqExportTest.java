package dev.vigil.probes;

import static dev.vigil.probes.TestGraph.in;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The static int8 QDQ export on a two-layer MLP whose int8 arithmetic the test does by hand: ORT's run of the
 * exported model equals that fake-quantized reference, kept sites stay float, discovery sees the float sites, and
 * the switchable model runs each site set as its reference.
 */
class QdqExportTest {
    // y = Relu(x·W1)·W2, x [B,3], W1 [3,4], W2 [4,2]
    private static final float[] W1 = {0.9f, -0.31f, 0.05f, 1.7f, -0.44f, 0.27f, 0.61f, -1.2f, 0.13f, 0.8f, -0.07f,
        0.33f};
    private static final float[] W2 = {0.5f, -1.1f, 0.02f, 0.76f, -0.3f, 0.41f, 1.3f, -0.09f};
    private static final float[] X = {1.0f, -2.0f, 0.5f, 0.25f, 3.0f, -1.5f, 7.5f, 0.1f, -0.2f};
    private static final double C_X = 4.0;   // clips the 7.5 of the last row
    private static final double C_H = 2.5;

    private static ModelProto mlp() {
        return new TestGraph().input("x", "B", 3).weight("W1", W1, 3, 4).weight("W2", W2, 4, 2)
                .node("MatMul", in("x", "W1"), "h0").node("Relu", in("h0"), "h")
                .node("MatMul", in("h", "W2"), "y").output("y", "B", 2).build();
    }

    @Test
    void ortRunOfTheExportEqualsTheHandQuantizedReference() throws Exception {
        QdqExport.Result r = QdqExport.export(mlp(), Map.of("x", C_X, "h", C_H), Set.of(), Map.of());
        assertEquals(List.of("x", "h"), r.quantizedSites());
        assertEquals(List.of("W1", "W2"), r.quantizedWeights());
        float[] y = run(r.model());
        double[] ref = reference(true, true);
        for (int i = 0; i < y.length; i++) {
            assertEquals(ref[i], y[i], 1e-4, "y[" + i + "]");
        }
        // the float originals of quantized weights are gone; the int8 copies are there
        List<String> inits = r.model().getGraph().getInitializerList().stream().map(t -> t.getName()).toList();
        assertTrue(!inits.contains("W1") && !inits.contains("W2") && inits.contains("W1_vigil_int8"), inits.toString());
    }

    @Test
    void uint8ActivationsRunAsTheSameInt8Grid() throws Exception {
        QdqExport.Result r = QdqExport.export(mlp(), Map.of("x", C_X, "h", C_H), Set.of(), Map.of(),
                QdqExport.ActivationType.UINT8);
        float[] y = run(r.model());
        double[] ref = reference(true, true);
        for (int i = 0; i < y.length; i++) {
            assertEquals(ref[i], y[i], 1e-4, "y[" + i + "]");
        }
        Map<String, TensorProto> inits = new java.util.HashMap<>();
        r.model().getGraph().getInitializerList().forEach(t -> inits.put(t.getName(), t));
        int pairs = 0;
        for (NodeProto n : r.model().getGraph().getNodeList()) {
            if (n.getOpType().equals("QuantizeLinear")) {
                TensorProto zp = inits.get(n.getInput(2));
                assertEquals(TensorProto.DataType.UINT8_VALUE, zp.getDataType(), n.getName());
                assertEquals(128, zp.getRawData().byteAt(0) & 0xff, n.getName());
                pairs++;
            }
        }
        assertEquals(2, pairs, "one pair per site");
        // the weights stay int8, zero point 0
        assertEquals(TensorProto.DataType.INT8_VALUE, inits.get("W1_vigil_zero_point").getDataType());
        assertEquals(keys(SiteDiscovery.discover(mlp())), keys(SiteDiscovery.discover(r.model())));
    }

    @Test
    void keptSiteStaysFloatWithItsWeights() throws Exception {
        QdqExport.Result r = QdqExport.export(mlp(), Map.of("x", C_X, "h", C_H), Set.of("x"), Map.of());
        assertEquals(List.of("h"), r.quantizedSites());
        assertEquals(List.of("x"), r.floatSites());
        assertEquals(List.of("W2"), r.quantizedWeights());
        float[] y = run(r.model());
        double[] ref = reference(false, true);
        for (int i = 0; i < y.length; i++) {
            assertEquals(ref[i], y[i], 1e-4, "y[" + i + "]");
        }
        // a site without a usable range stays float too
        QdqExport.Result noRange = QdqExport.export(mlp(), Map.of("x", C_X, "h", Double.NaN), Set.of(), Map.of());
        assertEquals(List.of("h"), noRange.floatSites());
    }

    @Test
    void exportedSitesAreTheFloatSitesAndMetadataIsRecorded() {
        QdqExport.Result r = QdqExport.export(mlp(), Map.of("x", C_X, "h", C_H), Set.of(),
                Map.of("vigil.calibration", "absmax", "vigil.window", "3"));
        assertEquals(keys(SiteDiscovery.discover(mlp())), keys(SiteDiscovery.discover(r.model())));
        Map<String, String> props = new java.util.HashMap<>();
        for (StringStringEntryProto e : r.model().getMetadataPropsList()) {
            props.put(e.getKey(), e.getValue());
        }
        assertEquals("absmax", props.get("vigil.calibration"));
        assertEquals("3", props.get("vigil.window"));
        long q = r.model().getGraph().getNodeList().stream().map(NodeProto::getOpType)
                .filter("QuantizeLinear"::equals).count();
        assertEquals(2, q, "one QuantizeLinear per site");
    }

    @Test
    void switchableModelRunsEverySiteSetAsItsHandQuantizedReference() throws Exception {
        QdqExport.Result r = QdqExport.switchable(mlp(), Map.of("x", C_X, "h", C_H));
        assertEquals(List.of("x", "h"), r.quantizedSites());
        // the float weights stay (the false branch reads them) beside their int8 copies
        List<String> inits = r.model().getGraph().getInitializerList().stream().map(t -> t.getName()).toList();
        assertTrue(inits.contains("W1") && inits.contains("W2") && inits.contains("W1_vigil_int8"), inits.toString());
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
             OrtSession s = env.createSession(r.model().toByteArray(), opts);
             OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(X), new long[] {3, 3});
             OnnxTensor on = OnnxTensor.createTensor(env, true);
             OnnxTensor off = OnnxTensor.createTensor(env, false)) {
            for (boolean qx : new boolean[] {false, true}) {
                for (boolean qh : new boolean[] {false, true}) {
                    Map<String, OnnxTensor> feeds = Map.of("x", x, "x" + QdqExport.SWITCH_SUFFIX, qx ? on : off,
                            "h" + QdqExport.SWITCH_SUFFIX, qh ? on : off);
                    try (OrtSession.Result out = s.run(feeds)) {
                        float[] y = new float[6];
                        ((OnnxTensor) out.get(0)).getFloatBuffer().get(y);
                        double[] ref = reference(qx, qh);
                        for (int i = 0; i < y.length; i++) {
                            assertEquals(ref[i], y[i], 1e-4, "x " + qx + ", h " + qh + ": y[" + i + "]");
                        }
                    }
                }
            }
        }
    }

    @Test
    void unknownKeepFp32TensorAndOldOpsetAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> QdqExport.export(mlp(), Map.of(), Set.of("h0"), Map.of()));
        assertTrue(e.getMessage().contains("'h0'"), e.getMessage());
        ModelProto old = new TestGraph().opset(11).input("x", "B", 3).weight("W1", W1, 3, 4)
                .node("MatMul", in("x", "W1"), "y").output("y").build();
        e = assertThrows(IllegalArgumentException.class, () -> QdqExport.export(old, Map.of("x", 1.0), Set.of(),
                Map.of()));
        assertTrue(e.getMessage().contains("opset"), e.getMessage());
    }

    static List<String> keys(List<ProbeSite> sites) {
        return sites.stream().map(s -> s.kind().label() + "/" + s.layer() + "/" + s.tensor()).toList();
    }

    private static float[] run(ModelProto m) throws Exception {
        return OrtRuns.runFloat(m.toByteArray(), Map.of("x", new OrtRuns.Output(new long[] {3, 3}, X)))
                .get("y").data();
    }

    /** int8 fake quantization as ONNX defines it: round half to even, saturate to [-128, 127]. */
    private static double fq(double v, double scale) {
        return Math.max(-128, Math.min(127, Math.rint(v / scale))) * scale;
    }

    /** W [rows, cols] quantized per column (output channel) with scale max|w|/127. */
    private static double[] perColumn(float[] w, int rows, int cols) {
        double[] out = new double[w.length];
        for (int c = 0; c < cols; c++) {
            double m = 0;
            for (int r = 0; r < rows; r++) {
                m = Math.max(m, Math.abs(w[r * cols + c]));
            }
            float s = (float) m / 127f;
            for (int r = 0; r < rows; r++) {
                out[r * cols + c] = Math.max(-127, Math.min(127, Math.round(w[r * cols + c] / s))) * (double) s;
            }
        }
        return out;
    }

    private static double[] reference(boolean quantX, boolean quantH) {
        double[] w1 = quantX ? perColumn(W1, 3, 4) : toDouble(W1);
        double[] w2 = quantH ? perColumn(W2, 4, 2) : toDouble(W2);
        double sx = (float) (C_X / 127.0);
        double sh = (float) (C_H / 127.0);
        double[] y = new double[3 * 2];
        for (int b = 0; b < 3; b++) {
            double[] h = new double[4];
            for (int j = 0; j < 4; j++) {
                for (int k = 0; k < 3; k++) {
                    double x = X[b * 3 + k];
                    h[j] += (quantX ? fq(x, sx) : x) * w1[k * 4 + j];
                }
                h[j] = Math.max(0, h[j]);
            }
            for (int o = 0; o < 2; o++) {
                for (int j = 0; j < 4; j++) {
                    y[b * 2 + o] += (quantH ? fq(h[j], sh) : h[j]) * w2[j * 2 + o];
                }
            }
        }
        return y;
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }
}
