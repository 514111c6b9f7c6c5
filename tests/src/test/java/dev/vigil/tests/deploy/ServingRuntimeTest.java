package dev.vigil.tests.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vigil.server.Http;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The KServe runtimes of deploy/kserve as the pod runs them: their container arguments start the real server
 * jar (with the test's model repository, loopback address and a free port in place of /mnt/models, 0.0.0.0 and
 * 8080), and the paths their probes, KServe's metrics annotations and the PodMonitor name answer. The GPU
 * runtime's {@code --device=cuda} here, on the CPU build, falls back to CPU with a warning that says why.
 */
@Timeout(300)
class ServingRuntimeTest {
    private static final String MODEL = "prenorm-256";

    @TempDir
    Path repo;

    @Test
    void theCpuRuntimeStartsVigilAndEveryPathItNamesAnswers() throws Exception {
        try (VigilProcess vigil = start("vigil")) {
            assertTrue(vigil.log().contains("Device: CPU (--device cpu)"), vigil.log());
        }
    }

    @Test
    void theGpuRuntimeFallsBackToCpuHereAndSaysWhy() throws Exception {
        try (VigilProcess vigil = start("vigil-cuda")) {
            assertTrue(vigil.log().contains("CUDA execution provider unavailable for --device cuda:0: this is the "
                    + "CPU build of ONNX Runtime"), vigil.log());
            String ids = "1,".repeat(255) + "2";
            HttpResponse<byte[]> r = new Http(vigil.port()).postJson("/v2/models/" + MODEL + "/infer",
                    "{\"inputs\":[{\"name\":\"input_ids\",\"shape\":[1,256],\"datatype\":\"INT64\",\"data\":[" + ids
                            + "]}]}");
            assertEquals(200, r.statusCode(), Http.text(r));
            assertEquals("[1,4]", Http.json(r).get("outputs").get(0).get("shape").toString());
        }
    }

    /** Starts the runtime's container as the pod would, then checks every path the manifests name. */
    private VigilProcess start(String runtime) throws IOException, InterruptedException {
        ObjectNode rt = ManifestSchemaTest.manifest("ClusterServingRuntime", runtime);
        JsonNode c = rt.at("/spec/containers/0");
        assertEquals("kserve-container", c.get("name").asText());
        int port = c.at("/ports/0/containerPort").asInt();
        assertEquals(8080, port);
        assertEquals(String.valueOf(port), rt.at("/spec/annotations/prometheus.kserve.io~1port").asText());
        List<String> args = new ArrayList<>();
        c.get("args").forEach(a -> args.add(a.asText()));
        for (String expected : List.of("--host=0.0.0.0", "--port=" + port, "--models=/mnt/models")) {
            assertTrue(args.contains(expected), expected + " in " + args);
        }
        copyModel();
        List<String> local = new ArrayList<>();
        for (String a : args) {
            local.add(a.startsWith("--models=") ? "--models=" + repo
                    : a.startsWith("--host=") ? "--host=127.0.0.1"
                    : a.startsWith("--port=") ? "--port=0" : a);
        }
        VigilProcess vigil = VigilProcess.start(local);
        try {
            Http http = new Http(vigil.port());
            for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
                JsonNode get = c.at("/" + probe + "/httpGet");
                assertEquals(port, get.get("port").asInt(), probe);
                HttpResponse<byte[]> r = http.get(get.get("path").asText());
                assertEquals(200, r.statusCode(), probe + " " + get + ": " + Http.text(r));
            }
            String metricsPath = rt.at("/spec/annotations/prometheus.kserve.io~1path").asText();
            JsonNode endpoint = ManifestSchemaTest.manifest("PodMonitor", "vigil").at("/spec/podMetricsEndpoints/0");
            assertEquals(metricsPath, endpoint.get("path").asText());
            assertEquals(port, endpoint.get("portNumber").asInt());
            assertEquals(prometheusJobOfTheAlerts(), jobSetBy(endpoint), "the PodMonitor's job label");
            HttpResponse<byte[]> metrics = http.get(metricsPath);
            assertEquals(200, metrics.statusCode());
            assertTrue(Http.text(metrics).contains("vigil_model_ready{model=\"" + MODEL + "\"} 1"),
                    Http.text(metrics));
            return vigil;
        } catch (AssertionError | RuntimeException e) {
            vigil.close();
            throw e;
        }
    }

    /** The job name the alert rules and dashboards query: grafana/prometheus.yml's scrape job. */
    private static String prometheusJobOfTheAlerts() throws IOException {
        JsonNode config = CrdCatalog.YAML.readTree(Path.of("..", "grafana", "prometheus.yml").toFile());
        return config.at("/scrape_configs/0/job_name").asText();
    }

    private static String jobSetBy(JsonNode endpoint) {
        for (JsonNode r : endpoint.path("relabelings")) {
            if ("job".equals(r.path("targetLabel").asText()) && !r.has("sourceLabels")) {
                return r.path("replacement").asText();
            }
        }
        return "(not set)";
    }

    private void copyModel() throws IOException {
        Path from = Path.of("..", "models", MODEL);
        Path to = Files.createDirectories(repo.resolve(MODEL));
        try (var files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
    }
}
