package dev.vigil.server;

import dev.vigil.server.probe.ProbeLayer;
import dev.vigil.server.serving.Device;
import dev.vigil.server.serving.ModelRepository;
import dev.vigil.server.serving.SessionFactory;
import dev.vigil.server.startup.ModelTable;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The start-up model table of a real repository loaded through the probe layer: a served model with its sites
 * (the MatMul+Add+Relu model has one: the MatMul's input x), one with probing disabled, and a corrupt file.
 */
class ModelTableTest {

    @Test
    void oneLinePerModelWithStateDeviceSitesOrReason(@TempDir Path repo) throws Exception {
        TestModels.writeMlp(repo, "mlp");
        Path off = TestModels.writeMlp(repo, "unprobed");
        Files.writeString(off.resolve("config.json"), "{\"probe\": {\"enabled\": false}}");
        Path corrupt = Files.createDirectories(repo.resolve("corrupt"));
        Files.write(corrupt.resolve("model.onnx"), "not ONNX".getBytes(StandardCharsets.UTF_8));

        SessionFactory sessions = new SessionFactory(Device.parse("cpu"), 1);
        try (ProbeLayer probes = new ProbeLayer(4, 1, 1 << 20, new PrometheusRegistry());
             ModelRepository models = ModelRepository.load(repo, sessions, 8, 512, probes)) {
            List<String> lines = ModelTable.lines(models.entries().values(), probes::siteCounts,
                    sessions.effectiveDevice());
            String corruptReason = models.get("corrupt").error();
            assertEquals(List.of(
                    "2 of 3 model(s) ready on device cpu",
                    "  model     state        device  probe sites / reason",
                    "  corrupt   UNAVAILABLE  " + corruptReason,
                    "  mlp       READY        cpu     attention 0, mlp 0, residual 0, matmul_input 1",
                    "  unprobed  READY        cpu     not probed"), lines);
            assertEquals(true, corruptReason.startsWith("ONNX Runtime cannot load model.onnx"), corruptReason);
        }
    }
}
