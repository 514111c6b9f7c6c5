package dev.vigil.server;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.server.protocol.InferRequest;
import dev.vigil.server.protocol.InferRequestParser;
import dev.vigil.server.protocol.InferResponse;
import dev.vigil.server.serving.Device;
import dev.vigil.server.serving.InferenceService;
import dev.vigil.server.serving.ModelConfig;
import dev.vigil.server.serving.ModelSession;
import dev.vigil.server.serving.RunObserver;
import dev.vigil.server.serving.RunTaps;
import dev.vigil.server.serving.ServedModel;
import dev.vigil.server.serving.ServingMetrics;
import dev.vigil.server.serving.SessionFactory;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The probe seam without HTTP: a session built from a graph with an extra (internal) output hides it from the
 * model's interface, and a {@link RunObserver} that asks for it reads its values during the run.
 */
class RunObserverTest {

    @Test
    void internalOutputsAreHiddenButReachableFromAnObserver() throws Exception {
        SessionFactory factory = new SessionFactory(Device.parse("cpu"), 1);
        try (ModelSession session = ModelSession.open(factory, TestModels.mlpBytes(true), Set.of("h"))) {
            assertEquals(Set.of("y"), session.outputNames());
            assertEquals(Set.of("h"), session.internalOutputs());
            ServedModel model = new ServedModel("tapped", ModelConfig.empty(), session, 8, 512, null, Map.of());
            AtomicReference<float[]> hidden = new AtomicReference<>();
            RunObserver tap = new RunObserver() {
                @Override
                public RunTaps beforeRun(ServedModel m, InferRequest request, Map<String, OnnxTensor> feeds) {
                    return () -> Set.of("h");
                }

                @Override
                public Map<String, JsonNode> onRun(ServedModel m, InferRequest request,
                                                   Map<String, OnnxTensor> feeds, OrtSession.Result result,
                                                   RunTaps taps) {
                    FloatBuffer h = ((OnnxTensor) result.get("h").orElseThrow()).getFloatBuffer();
                    float[] values = new float[h.remaining()];
                    h.get(values);
                    hidden.set(values);
                    return Map.of();
                }
            };
            InferenceService service = new InferenceService(factory.environment(), new ServingMetrics(), tap);
            float[] x = {1f, 2f, 3f, -1f, 0.5f, 4f};
            InferRequest request = new InferRequestParser().parse(("{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],"
                    + "\"datatype\":\"FP32\",\"data\":[1,2,3,-1,0.5,4]}]}").getBytes(StandardCharsets.UTF_8), -1);
            InferResponse response = service.infer(model, request);
            assertEquals(1, response.outputs().size(), "the internal output is not returned");
            assertEquals("y", response.outputs().get(0).name());
            float[] h = hidden.get();
            boolean sawNegative = false;
            for (int r = 0; r < 2; r++) {
                for (int j = 0; j < 2; j++) {
                    double expected = TestModels.B[j];
                    for (int k = 0; k < 3; k++) {
                        expected += (double) x[r * 3 + k] * TestModels.W[k][j];
                    }
                    assertEquals(expected, h[r * 2 + j], 1e-5);
                    sawNegative |= expected < 0;
                }
            }
            assertTrue(sawNegative, "the tap sees the pre-Relu values, negatives included");
            assertFalse(response.outputs().get(0).binary());
        }
    }
}
