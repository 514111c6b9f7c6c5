package dev.vigil.tests.probes;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.server.TestServers;
import dev.vigil.server.VigilServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * MiniLM (all-MiniLM-L6-v2) served with probes over real HTTP: text traffic, then {@code /metrics} carries every
 * SPEC §5 probe metric for the real model's 6 attention layers of 12 heads, and passes {@code promtool check metrics}.
 */
class MiniLmProbeTest {
    private static final Path MODEL = Path.of("..", "models", "all-minilm-l6-v2");
    private static final List<String> SENTENCES = List.of(
            "The quick brown fox jumps over the lazy dog.",
            "Vigil serves ONNX models over HTTP.",
            "What is the capital of France?",
            "Machine learning models can exhibit massive activations in specific channels.",
            "Attention sinks put most of the probability mass on the first token.",
            "I can't believe it's not butter.",
            "Hello!",
            "Paris is the capital and most populous city of France.",
            "Quantization ranges are measured from live traffic.",
            "Dead neurons never fire.");
    private static final List<String> SITE_METRICS = List.of(
            "vigil_neurons_dead_ratio", "vigil_neurons_dormant_ratio", "vigil_neurons",
            "vigil_massive_activations_total", "vigil_massive_activation_ratio", "vigil_attention_sink_score",
            "vigil_attention_sink_heads_ratio", "vigil_attention_entropy", "vigil_attention_max_key_mass",
            "vigil_token_cosine_similarity", "vigil_quant_min", "vigil_quant_max", "vigil_quant_abs_max",
            "vigil_quant_abs_percentile", "vigil_quant_kurtosis", "vigil_quant_int8_sqnr_db",
            "vigil_quant_outlier_channels");

    @TempDir
    Path repo;

    @Test
    void textTrafficExportsEveryProbeMetric() throws Exception {
        Path dir = Files.createDirectories(repo.resolve("minilm"));
        Files.createSymbolicLink(dir.resolve("model.onnx"), MODEL.resolve("model.onnx").toAbsolutePath());
        Files.createSymbolicLink(dir.resolve("tokenizer.json"), MODEL.resolve("tokenizer.json").toAbsolutePath());
        Files.writeString(dir.resolve("config.json"), "{\"probe\": {\"window_tokens\": 64}}");
        try (VigilServer server = new VigilServer(TestServers.cpu(repo).build())) {
            HttpClient client = HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + server.start();
            for (String s : SENTENCES) {
                String body = "{\"inputs\":[{\"name\":\"text\",\"shape\":[2],\"datatype\":\"BYTES\",\"data\":[\""
                        + s + "\",\"" + SENTENCES.get(0) + "\"]}]}";
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(base + "/v2/models/minilm/infer"))
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), r.body());
            }
            String metrics = "";
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!metrics.contains("vigil_probe_requests_total{model=\"minilm\"} " + SENTENCES.size() + ".0")
                    && System.nanoTime() < deadline) {
                Thread.sleep(50);
                metrics = client.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
            }
            assertTrue(metrics.contains("vigil_probe_requests_total{model=\"minilm\"} " + SENTENCES.size() + ".0"),
                    metrics);

            Files.writeString(Path.of("target", "minilm-probe-metrics.txt"), metrics);
            Matcher sink = Pattern.compile("(?m)^vigil_attention_sink_score\\{(.*)} (\\S+)$").matcher(metrics);
            List<String> series = new ArrayList<>();
            while (sink.find()) {
                double v = Double.parseDouble(sink.group(2));
                assertTrue(v >= 0 && v <= 1, sink.group());
                series.add(sink.group(1));
            }
            assertEquals(6 * 12, series.size(), "6 attention layers x 12 heads: " + series);
            for (int layer = 0; layer < 6; layer++) {
                for (int head = 0; head < 12; head++) {
                    String l = "layer=\"" + layer + "\"";
                    String h = "head=\"" + head + "\"";
                    assertTrue(series.stream().anyMatch(s -> s.contains(l) && s.contains(h)), l + " " + h);
                }
            }
            for (String name : SITE_METRICS) {
                assertTrue(Pattern.compile("(?m)^" + name + "\\{[^}]*kind=[^}]*model=\"minilm\"").matcher(metrics)
                        .find(), name + " missing");
            }
            for (String name : List.of("vigil_probe_duration_seconds_count", "vigil_probe_dropped_total",
                    "vigil_window_tokens", "vigil_model_ready")) {
                assertTrue(metrics.contains(name + "{"), name + " missing");
            }
            promtoolAccepts(metrics);

            HttpResponse<String> inspected = client.send(HttpRequest.newBuilder(
                            URI.create(base + "/v2/models/minilm/infer?inspect=true"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"inputs\":[{\"name\":\"text\",\"shape\":[1],"
                            + "\"datatype\":\"BYTES\",\"data\":[\"" + SENTENCES.get(1) + "\"]}]}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode summary = new ObjectMapper().readTree(inspected.body()).path("probe_summary");
            int attentionSites = 0;
            for (JsonNode site : summary.path("sites")) {
                if (site.path("kind").asText().equals("attention")) {
                    attentionSites++;
                    assertEquals(12, site.path("attention").path("sink_score").size(), site.toString());
                }
            }
            assertEquals(6, attentionSites, inspected.body());
        }
    }

    /** {@code promtool check metrics} reports nothing (skipped where promtool is not installed). */
    private static void promtoolAccepts(String metrics) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
        } catch (IOException e) {
            return;
        }
        p.getOutputStream().write(metrics.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertEquals("", out.trim(), "promtool check metrics");
    }
}
