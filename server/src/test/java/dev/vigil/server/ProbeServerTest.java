package dev.vigil.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The probe layer end to end over real HTTP: a model with planted dead neurons, massive activations and an attention
 * sink, its metrics compared with a double-precision reference computed here from the same inputs.
 */
class ProbeServerTest {
    @TempDir
    static Path repo;
    private VigilServer server;
    private Http http;

    /** Window R1 + R2 (8 + 6 = 14 tokens closes it), then R3 opens the next one. */
    private static final PlantedModel.Request R1 = PlantedModel.Request.of(1, 4, 4);
    private static final PlantedModel.Request R2 = PlantedModel.Request.of(2, 4, 2);
    private static final PlantedModel.Request R3 = PlantedModel.Request.of(3, 4);

    @BeforeAll
    static void writeRepository() throws Exception {
        PlantedModel.write(repo, "planted", "{\"probe\": {\"window_tokens\": 14}}");
        PlantedModel.write(repo, "unsampled", "{\"probe\": {\"sample_rate\": 0.0}}");
        PlantedModel.write(repo, "plain", "{\"probe\": {\"enabled\": false}}");
        PlantedModel.write(repo, "bad", "{\"probe\": {\"sample_rate\": 2}}");
        PlantedModel.write(repo, "typo", "{\"probe\": {\"sink\": {\"epsilom\": 0.1}}}");
    }

    private void start(int probeQueue) throws Exception {
        start(TestServers.cpu(repo).intraOpThreads(1).maxInflight(8).probeQueue(probeQueue));
    }

    private void start(ServerOptions.Builder options) throws Exception {
        server = new VigilServer(options.build());
        http = new Http(server.start());
    }

    /** Sends {@code sent} copies of R1 to the planted model from 8 clients at once; every response must be 200. */
    private void concurrently(int sent) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Integer>> codes = new ArrayList<>();
            for (int i = 0; i < sent; i++) {
                codes.add(pool.submit(() -> http.postJson("/v2/models/planted/infer", R1.json()).statusCode()));
            }
            for (Future<Integer> f : codes) {
                assertEquals(200, f.get());
            }
        } finally {
            pool.shutdown();
        }
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void metricsMatchTheReferenceOverTheClosedWindow() throws Exception {
        start(16);
        for (PlantedModel.Request r : List.of(R1, R2, R3)) {
            HttpResponse<byte[]> resp = http.postJson("/v2/models/planted/infer", r.json());
            assertEquals(200, resp.statusCode(), new String(resp.body()));
            assertFalse(Http.json(resp).has("probe_summary"), "only inspected requests carry a summary");
        }
        String text = waitForProbed("planted", 3);
        List<PlantedModel.Request> window = List.of(R1, R2);
        String[] residual = {"model", "planted", "kind", "residual", "tensor", "x"};
        String[] mlp = {"model", "planted", "kind", "mlp", "tensor", "act"};
        String[] attention = {"model", "planted", "kind", "attention", "tensor", "probs"};

        assertEquals(4, value(text, "vigil_window_tokens", "model", "planted"), "R3 is in the open window");
        assertEquals(0, value(text, "vigil_probe_dropped_total", "model", "planted"));

        assertEquals(1.0 / PlantedModel.F, value(text, "vigil_neurons_dead_ratio", mlp), 0.0);
        assertEquals(PlantedModel.F, value(text, "vigil_neurons", mlp));
        assertEquals(Reference.dormantRatio(window, 0.025), value(text, "vigil_neurons_dormant_ratio", mlp), 0.0);

        long massive = Reference.massiveCount(List.of(R1, R2, R3));
        assertEquals(5, massive, "one planted 2000 per sequence; the padded 5000s are not counted");
        assertEquals(massive, value(text, "vigil_massive_activations_total", residual));
        assertEquals(massive, value(text, "vigil_massive_channel_hits_total", with(residual, "channel", "0")));
        assertNull(find(text, "vigil_massive_channel_hits_total", with(residual, "channel", "1")),
                "masked rows are ignored");
        assertEquals(1.0, value(text, "vigil_massive_first_token_fraction", residual));
        assertClose(Reference.massiveRatio(window), value(text, "vigil_massive_activation_ratio", residual), 1e-4);
        assertClose(Reference.cosine(window), value(text, "vigil_token_cosine_similarity", residual), 1e-4);

        double[] q = Reference.quant(window);
        assertEquals(q[0], value(text, "vigil_quant_min", residual), 1e-6);
        assertEquals(2000.0, q[2]);
        assertEquals(q[1], value(text, "vigil_quant_max", residual), 1e-6);
        assertEquals(q[2], value(text, "vigil_quant_abs_max", residual), 1e-6);
        assertClose(q[3], value(text, "vigil_quant_kurtosis", residual), 1e-3);
        assertEquals(1, value(text, "vigil_quant_outlier_channels", residual), "only channel 0 has |x| > 6");

        double[] sink = Reference.sinkScores(window);
        for (int h = 0; h < PlantedModel.H; h++) {
            assertClose(sink[h], value(text, "vigil_attention_sink_score", with(attention, "head", "" + h)), 1e-5);
        }
        assertTrue(sink[0] > 0.3 && sink[1] < 0.3, "planted: head 0 is a sink head, head 1 is not");
        assertEquals(0.5, value(text, "vigil_attention_sink_heads_ratio", attention));

        JsonNode cal = Http.json(http.get("/v2/models/planted/calibration"));
        JsonNode x = null;
        for (JsonNode t : cal.path("tensors")) {
            if (t.path("tensor").asText().equals("x")) {
                x = t;
            }
        }
        assertNotNull(x, cal.toString());
        assertEquals(q[2], x.path("abs_max").asDouble(), 1e-6);
        assertEquals(14, x.path("window").path("tokens").asLong());
        assertEquals(2, x.path("window").path("requests").asLong());
        assertTrue(x.path("window").path("closed").asBoolean());
    }

    @Test
    void inspectReturnsTheRequestsOwnSummary() throws Exception {
        start(16);
        // sample_rate 0: only the inspected request is probed
        HttpResponse<byte[]> resp = http.postJson("/v2/models/unsampled/infer?inspect=true", R2.json());
        assertEquals(200, resp.statusCode(), new String(resp.body()));
        JsonNode summary = Http.json(resp).path("probe_summary");
        assertEquals(6, summary.path("unmasked_tokens").asLong());
        JsonNode residual = site(summary, "residual", "x");
        assertEquals(2, residual.path("massive").path("hits").asLong());
        assertEquals(2000.0, residual.path("abs_max").asDouble(), 0.0, "the padded 5000 is masked");
        JsonNode mlp = site(summary, "mlp", "act");
        assertEquals(1, mlp.path("dead").path("dead_count").asInt());
        assertEquals(PlantedModel.F, mlp.path("dead").path("neurons").asInt());
        double[] sink = Reference.sinkScores(List.of(R2));
        JsonNode scores = site(summary, "attention", "probs").path("attention").path("sink_score");
        for (int h = 0; h < PlantedModel.H; h++) {
            assertClose(sink[h], scores.get(h).asDouble(), 1e-5);
        }

        HttpResponse<byte[]> byParam = http.postJson("/v2/models/unsampled/infer",
                R3.json().replaceFirst("^\\{", "{\"parameters\":{\"inspect\":true},"));
        assertEquals(Reference.massiveCount(List.of(R3)),
                site(Http.json(byParam).path("probe_summary"), "residual", "x").path("massive").path("hits").asLong(),
                "the inspect request parameter works like the query parameter");
        assertFalse(Http.json(http.postJson("/v2/models/unsampled/infer", R3.json())).has("probe_summary"));
        String text = waitForProbed("unsampled", 2);
        assertEquals(2, value(text, "vigil_probe_requests_total", "model", "unsampled"),
                "inspected requests join the window; the unsampled one does not");
    }

    @Test
    void concurrentRequestsWaitForTheWorkerInsteadOfBeingDropped() throws Exception {
        // one place in the queue and one worker for 8 clients (fullQueueDropsAndCounts: the same without the wait)
        start(TestServers.cpu(repo).intraOpThreads(1).maxInflight(8).probeQueue(1).probeWorkers(1)
                .probeWaitMs(30_000));
        int sent = 48;
        concurrently(sent);
        String text = waitForProbed("planted", sent);
        assertEquals(0, value(text, "vigil_probe_dropped_total", "model", "planted"));
        assertEquals(sent, value(text, "vigil_probe_requests_total", "model", "planted"));
    }

    @Test
    void fullQueueDropsAndCounts() throws Exception {
        start(TestServers.cpu(repo).intraOpThreads(1).maxInflight(8).probeQueue(1).probeWorkers(1).probeWaitMs(0));
        int sent = 48;
        concurrently(sent);
        long deadline = System.nanoTime() + 20_000_000_000L;
        double probed;
        double dropped;
        do {
            Thread.sleep(50);
            String text = scrape();
            probed = value(text, "vigil_probe_requests_total", "model", "planted");
            dropped = value(text, "vigil_probe_dropped_total", "model", "planted");
        } while (probed + dropped < sent && System.nanoTime() < deadline);
        assertEquals(sent, probed + dropped, "every sampled request is either probed or counted as dropped");
    }

    @Test
    void sitesEndpointsAndProbeConfigErrors() throws Exception {
        start(16);
        JsonNode sites = Http.json(http.get("/v2/models/planted/probes"));
        List<String> kinds = new ArrayList<>();
        for (JsonNode s : sites.path("sites")) {
            kinds.add(s.path("kind").asText() + ":" + s.path("tensor").asText());
        }
        assertEquals(List.of("attention:probs", "mlp:act", "residual:x", "matmul_input:ln_out", "matmul_input:act"),
                kinds);
        assertEquals(14, sites.path("settings").path("window_tokens").asLong());

        HttpResponse<byte[]> plain = http.get("/v2/models/plain/probes");
        assertEquals(200, plain.statusCode());
        assertEquals(0, Http.json(plain).path("sites").size(), "probing disabled: no sites");
        assertEquals(404, http.get("/v2/models/nope/probes").statusCode());
        assertEquals(404, http.get("/v2/models/nope/calibration").statusCode());

        HttpResponse<byte[]> bad = http.get("/v2/models/bad/ready");
        assertEquals(503, bad.statusCode());
        assertTrue(Http.json(bad).path("error").asText().contains("sample_rate"), new String(bad.body()));
        HttpResponse<byte[]> typo = http.get("/v2/models/typo/ready");
        assertTrue(Http.json(typo).path("error").asText().contains("epsilom"), new String(typo.body()));
        String text = scrape();
        assertEquals(0, value(text, "vigil_model_ready", "model", "bad"));
        assertEquals(1, value(text, "vigil_model_ready", "model", "planted"));
    }

    private static JsonNode site(JsonNode summary, String kind, String tensor) {
        for (JsonNode s : summary.path("sites")) {
            if (s.path("kind").asText().equals(kind) && s.path("tensor").asText().equals(tensor)) {
                return s;
            }
        }
        throw new AssertionError("no " + kind + " site " + tensor + " in " + summary);
    }

    private String scrape() {
        return new String(http.get("/metrics").body(), java.nio.charset.StandardCharsets.UTF_8);
    }

    private String waitForProbed(String model, int requests) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (true) {
            String text = scrape();
            Double n = find(text, "vigil_probe_requests_total", "model", model);
            if ((n != null && n >= requests) || System.nanoTime() > deadline) {
                return text;
            }
            Thread.sleep(20);
        }
    }

    private static String[] with(String[] labels, String k, String v) {
        String[] out = Arrays.copyOf(labels, labels.length + 2);
        out[labels.length] = k;
        out[labels.length + 1] = v;
        return out;
    }

    private static double value(String text, String name, String... labels) {
        Double v = find(text, name, labels);
        assertNotNull(v, "no sample " + name + " " + Arrays.toString(labels) + " in\n" + text);
        return v;
    }

    /** The value of the one sample of {@code name} carrying every given label, or null. */
    static Double find(String text, String name, String... labels) {
        Double found = null;
        for (String line : text.split("\n")) {
            if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) {
                continue;
            }
            boolean all = true;
            for (int i = 0; i < labels.length; i += 2) {
                all &= line.contains(labels[i] + "=\"" + labels[i + 1] + "\"");
            }
            if (all) {
                assertNull(found, "two samples match " + name + " " + Arrays.toString(labels));
                found = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return found;
    }

    private static void assertClose(double expected, double actual, double rel) {
        assertEquals(expected, actual, rel * Math.max(1.0, Math.abs(expected)));
    }

    /** Brute-force statistics of the planted model's inputs, in double, over unmasked positions only. */
    private static final class Reference {
        static long massiveCount(List<PlantedModel.Request> requests) {
            long n = 0;
            for (PlantedModel.Request r : requests) {
                for (int s = 0; s < r.batch(); s++) {
                    double median = median(absValues(r, s));
                    for (int t = 0; t < r.valid()[s]; t++) {
                        for (int c = 0; c < PlantedModel.D; c++) {
                            double a = Math.abs(r.x(s, t, c));
                            n += a > 100 && a > 1000 * median ? 1 : 0;
                        }
                    }
                }
            }
            return n;
        }

        static double massiveRatio(List<PlantedModel.Request> requests) {
            double ratio = 0;
            for (PlantedModel.Request r : requests) {
                for (int s = 0; s < r.batch(); s++) {
                    double[] abs = absValues(r, s);
                    ratio = Math.max(ratio, Arrays.stream(abs).max().orElseThrow() / median(abs));
                }
            }
            return ratio;
        }

        private static double[] absValues(PlantedModel.Request r, int s) {
            double[] abs = new double[r.valid()[s] * PlantedModel.D];
            for (int t = 0; t < r.valid()[s]; t++) {
                for (int c = 0; c < PlantedModel.D; c++) {
                    abs[t * PlantedModel.D + c] = Math.abs(r.x(s, t, c));
                }
            }
            return abs;
        }

        private static double median(double[] values) {
            double[] v = values.clone();
            Arrays.sort(v);
            int n = v.length;
            return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
        }

        static double cosine(List<PlantedModel.Request> requests) {
            double sum = 0;
            int sequences = 0;
            for (PlantedModel.Request r : requests) {
                for (int s = 0; s < r.batch(); s++) {
                    int n = r.valid()[s];
                    double pairSum = 0;
                    int pairs = 0;
                    for (int i = 0; i < n; i++) {
                        for (int j = i + 1; j < n; j++) {
                            double dot = 0, ni = 0, nj = 0;
                            for (int c = 0; c < PlantedModel.D; c++) {
                                dot += r.x(s, i, c) * r.x(s, j, c);
                                ni += r.x(s, i, c) * r.x(s, i, c);
                                nj += r.x(s, j, c) * r.x(s, j, c);
                            }
                            pairSum += dot / Math.sqrt(ni * nj);
                            pairs++;
                        }
                    }
                    if (pairs > 0) {
                        sum += pairSum / pairs;
                        sequences++;
                    }
                }
            }
            return sum / sequences;
        }

        /** {min, max, abs max, kurtosis} of the unmasked x values. */
        static double[] quant(List<PlantedModel.Request> requests) {
            List<Double> values = new ArrayList<>();
            for (PlantedModel.Request r : requests) {
                for (int s = 0; s < r.batch(); s++) {
                    for (int t = 0; t < r.valid()[s]; t++) {
                        for (int c = 0; c < PlantedModel.D; c++) {
                            values.add(r.x(s, t, c));
                        }
                    }
                }
            }
            double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY, abs = 0, mean = 0;
            for (double v : values) {
                min = Math.min(min, v);
                max = Math.max(max, v);
                abs = Math.max(abs, Math.abs(v));
                mean += v;
            }
            mean /= values.size();
            double m2 = 0, m4 = 0;
            for (double v : values) {
                double d = v - mean;
                m2 += d * d;
                m4 += d * d * d * d;
            }
            m2 /= values.size();
            m4 /= values.size();
            return new double[]{min, max, abs, m4 / (m2 * m2)};
        }

        static double dormantRatio(List<PlantedModel.Request> requests, double tau) {
            double[] meanAbs = new double[PlantedModel.F];
            long rows = 0;
            for (PlantedModel.Request r : requests) {
                for (int s = 0; s < r.batch(); s++) {
                    for (int t = 0; t < r.valid()[s]; t++) {
                        double[] a = r.act(s, t);
                        for (int j = 0; j < PlantedModel.F; j++) {
                            meanAbs[j] += Math.abs(a[j]);
                        }
                        rows++;
                    }
                }
            }
            double overall = 0;
            for (int j = 0; j < PlantedModel.F; j++) {
                meanAbs[j] /= rows;
                overall += meanAbs[j] / PlantedModel.F;
            }
            int dormant = 0;
            for (double m : meanAbs) {
                dormant += m / overall <= tau ? 1 : 0;
            }
            return (double) dormant / PlantedModel.F;
        }

        static double[] sinkScores(List<PlantedModel.Request> requests) {
            double[] sum = new double[PlantedModel.H];
            long queries = 0;
            for (PlantedModel.Request r : requests) {
                for (int s = 0; s < r.batch(); s++) {
                    for (int i = 0; i < r.valid()[s]; i++) {
                        for (int h = 0; h < PlantedModel.H; h++) {
                            sum[h] += r.prob(s, h, i, 0);
                        }
                        queries++;
                    }
                }
            }
            for (int h = 0; h < PlantedModel.H; h++) {
                sum[h] /= queries;
            }
            return sum;
        }
    }
}
