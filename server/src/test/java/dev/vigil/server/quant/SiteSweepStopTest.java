package dev.vigil.server.quant;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OnnxJavaType;
import dev.vigil.server.probe.RecordedRequest;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CancellationException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A quantization sweep stops between model runs once its thread is interrupted (the server is stopping), instead
 * of replaying every recorded run first; uninterrupted, the same pass measures the float model against itself.
 */
class SiteSweepStopTest {
    private static final Path PLANTED = Path.of("..", "models", "planted-outliers", "model.onnx");

    private static RecordedRequest request(Random rnd, int batch, int tokens) {
        ByteBuffer ids = ByteBuffer.allocate(batch * tokens * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer mask = ByteBuffer.allocate(batch * tokens * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        long[][] plain = TokenRequests.plantedIds(rnd, batch, tokens);
        for (long[] row : plain) {
            for (long id : row) {
                ids.putLong(id);
                mask.putLong(1);
            }
        }
        long[] shape = {batch, tokens};
        return new RecordedRequest(Map.of(
                "input_ids", new RecordedRequest.Feed(OnnxJavaType.INT64, shape, ids.array()),
                "attention_mask", new RecordedRequest.Feed(OnnxJavaType.INT64, shape, mask.array())));
    }

    @Test
    void anInterruptedSweepStopsBeforeItsNextRun() throws Exception {
        byte[] model = Files.readAllBytes(PLANTED);
        Random rnd = new Random(3);
        List<RecordedRequest> recorded = List.of(request(rnd, 2, 16), request(rnd, 2, 16), request(rnd, 2, 16));
        try (SiteSweep sweep = new SiteSweep(model, ModelProto.parseFrom(model), recorded, "attention_mask")) {
            OutputFidelity.Summary same = sweep.model(model);
            assertEquals(6, sweep.runs(), "a float reference and the candidate for each of 3 recorded runs");
            assertEquals(1.0, same.cosineMean(), 1e-6, "the float model against itself");

            Thread.currentThread().interrupt();
            try {
                assertThrows(CancellationException.class, () -> sweep.model(model));
            } finally {
                Thread.interrupted();
            }
            assertEquals(6, sweep.runs(), "no run after the interrupt");
        }
    }
}
