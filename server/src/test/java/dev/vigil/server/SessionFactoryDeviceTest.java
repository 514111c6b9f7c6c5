package dev.vigil.server;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import dev.vigil.server.serving.Device;
import dev.vigil.server.serving.SessionFactory;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * Device selection with the real ONNX Runtime of the default (CPU) build: CUDA asked for, by name or by default,
 * falls back to CPU with a log line that says why, and the session built on CPU computes the model.
 */
class SessionFactoryDeviceTest {

    /** What the factory logged (slf4j-simple writes to System.err) while building one session and running it. */
    private static String sessionLog(Device device, String[] effective) throws Exception {
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            SessionFactory factory = new SessionFactory(device, 1);
            try (OrtSession session = factory.create(TestModels.mlpBytes(false));
                 OnnxTensor x = OnnxTensor.createTensor(factory.environment(), new float[][]{{1f, 2f, 3f}});
                 OrtSession.Result r = session.run(Map.of("x", x))) {
                // Relu(x·W + b) by hand: (1 + 1 - 3 + 0.1, -2 + 3 + 0.75 - 0.2) = (-0.9 -> 0, 1.55)
                assertArrayEquals(new float[]{0f, 1.55f}, ((float[][]) r.get(0).getValue())[0], 1e-6f);
            }
            effective[0] = factory.effectiveDevice();
        } finally {
            System.setErr(err);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    @Test
    void cudaByNameFallsBackToCpuWithAWarningThatSaysWhy() throws Exception {
        assumeFalse(OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA), "the -Pcuda build");
        String[] effective = new String[1];
        String log = sessionLog(Device.parse("cuda:1"), effective);
        assertEquals("cpu", effective[0]);
        assertTrue(log.contains("WARN dev.vigil.server.serving.SessionFactory - CUDA execution provider unavailable for "
                + "--device cuda:1: this is the CPU build of ONNX Runtime (the GPU build is the Maven profile "
                + "-Pcuda); running on CPU"), log);
    }

    @Test
    void theDefaultTriesCudaAndSaysQuietlyThatItRunsOnCpu() throws Exception {
        assumeFalse(OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA), "the -Pcuda build");
        String[] effective = new String[1];
        String log = sessionLog(Device.parse(null), effective);
        assertEquals("cpu", effective[0]);
        assertTrue(log.contains("INFO dev.vigil.server.serving.SessionFactory - CUDA execution provider unavailable: "
                + "this is the CPU build of ONNX Runtime"), log);
        assertFalse(log.contains("WARN"), log);
    }

    @Test
    void cpuByNameNeverTriesCuda() throws Exception {
        String[] effective = new String[1];
        String log = sessionLog(Device.parse("cpu"), effective);
        assertEquals("cpu", effective[0]);
        assertTrue(log.contains("Device: CPU (--device cpu)"), log);
        assertFalse(log.contains("CUDA"), log);
    }
}
