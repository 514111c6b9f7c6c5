package dev.vigil.server;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.vigil.probes.OnnxModels;
import dev.vigil.server.serving.Device;
import dev.vigil.server.serving.ModelSession;
import dev.vigil.server.serving.SessionFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A {@link ModelSession} with a plain session: a run that asks for no internal output goes to the plain model, one
 * that asks for an internal output (allocated or pinned) to the edited one. Told apart here by giving the "plain" model
 * another last op (Neg instead of Relu) behind the same interface.
 */
class PlainSessionTest {
    private static final float[] X = {1f, 2f, 3f, -1f, 0.5f, 4f};

    @TempDir
    Path dir;

    @Test
    void runsWithoutInternalOutputsGoToThePlainModel() throws Exception {
        SessionFactory factory = new SessionFactory(Device.parse("cpu"), 1);
        byte[] negated = lastOp(TestModels.mlpBytes(false), "Neg");
        OrtEnvironment env = factory.environment();
        float[] relu = new float[4];
        float[] neg = new float[4];
        for (int r = 0; r < 2; r++) {
            for (int j = 0; j < 2; j++) {
                double h = TestModels.B[j];
                for (int k = 0; k < 3; k++) {
                    h += (double) X[r * 3 + k] * TestModels.W[k][j];
                }
                relu[r * 2 + j] = (float) Math.max(h, 0);
                neg[r * 2 + j] = (float) -h;
            }
        }
        try (ModelSession session = ModelSession.open(factory, TestModels.mlpBytes(true), Set.of("h"), negated);
             OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(X), new long[] {2, 3});
             OnnxTensor pinned = OnnxTensor.createTensor(env, FloatBuffer.allocate(4), new long[] {2, 2})) {
            assertTrue(session.hasPlainSession());
            Map<String, OnnxTensor> feeds = Map.of("x", x);
            try (OrtSession.Result r = session.run(feeds, Set.of())) {
                assertArrayEquals(neg, y(r), 1e-5f, "no internal output asked: the plain model ran");
            }
            try (OrtSession.Result r = session.run(feeds, Set.of("h"))) {
                assertArrayEquals(relu, y(r), 1e-5f, "an internal output asked: the edited model ran");
            }
            try (OrtSession.Result r = session.run(feeds, Set.of("y"), Set.of(), Map.of("h", pinned))) {
                assertArrayEquals(relu, y(r), 1e-5f, "a pinned internal output: the edited model ran");
            }
        }
        try (ModelSession session = ModelSession.open(factory, TestModels.mlpBytes(true), Set.of("h"))) {
            assertFalse(session.hasPlainSession());
        }
    }

    @Test
    void aPlainModelWithAnotherInterfaceIsRefused() throws Exception {
        SessionFactory factory = new SessionFactory(Device.parse("cpu"), 1);
        byte[] typed = Files.readAllBytes(TestModels.writeTyped(dir, "typed").resolve("model.onnx"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelSession.open(factory, TestModels.mlpBytes(true), Set.of("h"), typed));
        assertTrue(e.getMessage().contains("plain model"), e.getMessage());
    }

    private static byte[] lastOp(byte[] model, String op) {
        ModelProto.Builder m = OnnxModels.parse(model).toBuilder();
        int last = m.getGraph().getNodeCount() - 1;
        NodeProto node = m.getGraph().getNode(last);
        m.getGraphBuilder().setNode(last, node.toBuilder().setOpType(op));
        return m.build().toByteArray();
    }

    private static float[] y(OrtSession.Result r) {
        FloatBuffer b = ((OnnxTensor) r.get("y").orElseThrow()).getFloatBuffer();
        float[] out = new float[b.remaining()];
        b.get(out);
        return out;
    }
}
