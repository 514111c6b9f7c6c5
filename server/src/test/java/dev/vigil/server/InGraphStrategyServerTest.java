package dev.vigil.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code probe.strategy}: MiniLM served twice by one CPU server, once with the statistics computed on the host and
 * once reduced in the graph, gets the same padded requests (one of them inspected, which takes the host path in
 * both); every statistic series of the two models agrees. A bad strategy fails the model's load with the key named.
 */
class InGraphStrategyServerTest {
    private static final Path MINILM = Path.of("../models/all-minilm-l6-v2");
    private static final int REQUESTS = 4;
    private static final int B = 3;
    private static final int T = 24;

    @TempDir
    static Path repo;
    static VigilServer server;
    static Http http;

    @BeforeAll
    static void start() throws Exception {
        for (String strategy : new String[] {"host", "graph"}) {
            TestServers.copyModel(MINILM, repo, strategy, "{\"max_batch_size\": 8, \"probe\": {\"strategy\": \""
                    + strategy + "\", \"window_tokens\": 100}}");
        }
        TestServers.copyModel(MINILM, repo, "bad", "{\"probe\": {\"strategy\": \"gpu\"}}");
        server = new VigilServer(TestServers.cpu(repo).intraOpThreads(1).build());
        http = new Http(server.start());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void bothStrategiesGiveTheSameStatistics() throws Exception {
        assertEquals("graph", Http.json(http.get("/v2/models/graph/probes")).path("strategy").asText());
        assertEquals("host", Http.json(http.get("/v2/models/host/probes")).path("strategy").asText());
        Random rnd = new Random(9);
        for (int r = 0; r < REQUESTS; r++) {
            String body = request(rnd, r == 1);
            for (String model : new String[] {"host", "graph"}) {
                HttpResponse<byte[]> resp = http.postJson("/v2/models/" + model + "/infer", body);
                assertEquals(200, resp.statusCode(), new String(resp.body()));
                assertEquals(r == 1, Http.json(resp).has("probe_summary"), model);
            }
        }
        String text = waitForProbed();
        Map<String, Double> host = series(text, "host");
        Map<String, Double> graph = series(text, "graph");
        assertTrue(host.size() > 500, "MiniLM has hundreds of statistic series: " + host.size());
        assertEquals(host.keySet(), graph.keySet());
        for (Map.Entry<String, Double> e : host.entrySet()) {
            double h = e.getValue();
            double g = graph.get(e.getKey());
            if (Double.isNaN(h)) {
                assertTrue(Double.isNaN(g), e.getKey());
            } else {
                assertEquals(h, g, 1e-4 * Math.max(1, Math.abs(h)), e.getKey());
            }
        }
    }

    @Test
    void anUnknownStrategyFailsTheModelWithTheKeyNamed() {
        HttpResponse<byte[]> ready = http.get("/v2/models/bad/ready");
        assertTrue(ready.statusCode() >= 400, "the model with a bad strategy is not served");
    }

    /** B sequences of random token ids, the later ones padded. */
    private static String request(Random rnd, boolean inspect) {
        StringBuilder ids = new StringBuilder();
        StringBuilder mask = new StringBuilder();
        for (int b = 0; b < B; b++) {
            int len = b == 0 ? T : 2 + rnd.nextInt(T - 2);
            for (int i = 0; i < T; i++) {
                long id = i >= len ? 0 : i == 0 ? 101 : i == len - 1 ? 102 : 1000 + rnd.nextInt(20000);
                ids.append(ids.isEmpty() ? "" : ",").append(id);
                mask.append(mask.isEmpty() ? "" : ",").append(i < len ? 1 : 0);
            }
        }
        String shape = "[" + B + "," + T + "]";
        return "{" + (inspect ? "\"parameters\": {\"inspect\": true}, " : "") + "\"inputs\": ["
                + "{\"name\": \"input_ids\", \"shape\": " + shape + ", \"datatype\": \"INT64\", \"data\": [" + ids + "]},"
                + "{\"name\": \"attention_mask\", \"shape\": " + shape + ", \"datatype\": \"INT64\", \"data\": [" + mask
                + "]},"
                + "{\"name\": \"token_type_ids\", \"shape\": " + shape + ", \"datatype\": \"INT64\", \"data\": ["
                + "0,".repeat(B * T - 1) + "0]}]}";
    }

    private static String waitForProbed() throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (true) {
            String text = new String(http.get("/metrics").body());
            Double h = ProbeServerTest.find(text, "vigil_probe_requests_total", "model", "host");
            Double g = ProbeServerTest.find(text, "vigil_probe_requests_total", "model", "graph");
            if ((h != null && g != null && h >= REQUESTS && g >= REQUESTS) || System.nanoTime() > deadline) {
                return text;
            }
            Thread.sleep(50);
        }
    }

    /** The statistic series of {@code model}: sample lines of the site metrics, keyed without the model label. */
    private static Map<String, Double> series(String text, String model) {
        Map<String, Double> out = new LinkedHashMap<>();
        String label = "model=\"" + model + "\"";
        for (String line : text.split("\n")) {
            if (line.startsWith("#") || !line.contains(label) || !statistic(line)) {
                continue;
            }
            int space = line.lastIndexOf(' ');
            out.put(line.substring(0, space).replace(label, ""), Double.parseDouble(line.substring(space + 1)));
        }
        return out;
    }

    private static boolean statistic(String line) {
        for (String prefix : new String[] {"vigil_neurons", "vigil_massive", "vigil_attention", "vigil_token_cosine",
                "vigil_quant", "vigil_window_tokens", "vigil_probe_requests_total", "vigil_tokens_total"}) {
            if (line.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }
}
