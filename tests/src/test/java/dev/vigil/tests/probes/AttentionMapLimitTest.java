package dev.vigil.tests.probes;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.server.Http;
import dev.vigil.server.TestServers;
import dev.vigil.server.VigilServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --max-attention-map-tokens} over HTTP on the real MiniLM: the limit counts the first sequence's tokens
 * (padding left out, token counts from the tokenizer itself), and a request over it is refused before the model runs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AttentionMapLimitTest {
    private static final Path MINILM = Path.of("..", "models", "all-minilm-l6-v2");
    private static final String SHORT = "Paris is lovely in spring.";
    private static final String LONG = "Attention sinks put most of the probability mass on the first token of a text.";
    private static final Pattern RUNS = Pattern.compile(
            "(?m)^vigil_inference_duration_seconds_count\\{model=\"minilm\"} (\\S+)$");

    @TempDir
    static Path repo;
    private VigilServer server;
    private Http http;
    private int shortTokens;
    private int longTokens;

    @BeforeAll
    void serve() throws Exception {
        try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(MINILM.resolve("tokenizer.json"),
                Map.of("padding", "false", "truncation", "false"))) {
            shortTokens = tokenizer.encode(SHORT).getTokens().length;
            longTokens = tokenizer.encode(LONG).getTokens().length;
        }
        assertTrue(shortTokens < longTokens, shortTokens + " vs " + longTokens);
        Path dir = Files.createDirectories(repo.resolve("minilm"));
        for (String file : new String[]{"model.onnx", "tokenizer.json"}) {
            Files.createSymbolicLink(dir.resolve(file), MINILM.resolve(file).toAbsolutePath());
        }
        server = new VigilServer(TestServers.cpu(repo).maxAttentionMapTokens(shortTokens).build());
        http = new Http(server.start());
    }

    @AfterAll
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void aMapAtTheLimitIsServedEvenWhenPaddingMakesTheBatchLonger() {
        HttpResponse<byte[]> r = infer(SHORT, LONG);
        assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
        JsonNode rows = Http.json(r).path("inspect_attention").path("probabilities");
        assertEquals(shortTokens, rows.size());
        assertEquals(shortTokens, rows.path(0).size());
    }

    @Test
    void aMapOverTheLimitIs400NamingItBeforeTheRun() {
        assertEquals(200, infer(SHORT, LONG).statusCode());
        double runs = runs();
        assertTrue(runs >= 1, "runs counted: " + runs);
        HttpResponse<byte[]> r = infer(LONG, SHORT);
        String text = new String(r.body(), StandardCharsets.UTF_8);
        assertEquals(400, r.statusCode(), text.substring(0, Math.min(text.length(), 300)));
        String error = Http.json(r).path("error").asText();
        for (String part : new String[]{"inspect_attention", "at most " + shortTokens + " tokens",
                "--max-attention-map-tokens", "has " + longTokens}) {
            assertTrue(error.contains(part), "'" + part + "' in: " + error);
        }
        assertEquals(runs, runs(), "the refused request did not run the model");
    }

    private HttpResponse<byte[]> infer(String first, String second) {
        return http.postJson("/v2/models/minilm/infer", "{\"inputs\":[{\"name\":\"text\",\"shape\":[2],"
                + "\"datatype\":\"BYTES\",\"data\":[\"" + first + "\",\"" + second + "\"]}],"
                + "\"parameters\":{\"inspect_attention\":{\"layer\":0,\"head\":0}}}");
    }

    private double runs() {
        Matcher m = RUNS.matcher(new String(http.get("/metrics").body(), StandardCharsets.UTF_8));
        assertTrue(m.find(), "vigil_inference_duration_seconds_count of minilm in /metrics");
        return Double.parseDouble(m.group(1));
    }
}
