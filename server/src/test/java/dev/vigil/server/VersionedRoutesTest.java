package dev.vigil.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The versioned model routes ({@code /v2/models/{name}/versions/1/...}, as Triton's clients call them after
 * {@code setModelVersion("1")}) and Triton's {@code POST /v2/repository/index}, over real HTTP.
 */
class VersionedRoutesTest {
    private static final String REQUEST = "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\","
            + "\"data\":[1,2,3]}]}";

    @TempDir
    static Path repo;
    private static VigilServer server;
    private static Http http;

    @BeforeAll
    static void start() throws Exception {
        TestModels.writeMlp(repo, "mlp");
        Path corrupt = Files.createDirectories(repo.resolve("corrupt"));
        Files.write(corrupt.resolve("model.onnx"), "not ONNX".getBytes(StandardCharsets.UTF_8));
        server = new VigilServer(TestServers.cpu(repo).intraOpThreads(1).build());
        http = new Http(server.start());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static void assertError(HttpResponse<byte[]> r, int status, String fragment) {
        String body = Http.text(r);
        assertEquals(status, r.statusCode(), body);
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), body);
        assertTrue(Http.json(r).path("error").asText().contains(fragment), body);
    }

    @Test
    void everyModelRouteAnswersTheSameAtVersionOne() {
        for (String route : new String[]{"", "/ready", "/probes", "/calibration"}) {
            HttpResponse<byte[]> plain = http.get("/v2/models/mlp" + route);
            HttpResponse<byte[]> versioned = http.get("/v2/models/mlp/versions/1" + route);
            assertEquals(200, plain.statusCode(), route + ": " + Http.text(plain));
            assertEquals(200, versioned.statusCode(), route + ": " + Http.text(versioned));
            assertEquals(Http.json(plain), Http.json(versioned), route);
        }
        assertEquals("[\"1\"]", Http.json(http.get("/v2/models/mlp/versions/1")).get("versions").toString());
        HttpResponse<byte[]> plain = http.postJson("/v2/models/mlp/infer", REQUEST);
        HttpResponse<byte[]> versioned = http.postJson("/v2/models/mlp/versions/1/infer", REQUEST);
        assertEquals(200, versioned.statusCode(), Http.text(versioned));
        assertEquals(Http.json(plain), Http.json(versioned));
        // relu([1,2,3]·W + b) by hand: [1 + 1 - 3 + 0.1, -2 + 3 + 0.75 - 0.2] = [relu(-0.9), 1.55]
        JsonNode y = Http.json(versioned).get("outputs").get(0).get("data");
        assertEquals(0.0, y.get(0).asDouble(), 1e-6);
        assertEquals(1.55, y.get(1).asDouble(), 1e-6);
    }

    @Test
    void anotherVersionIs404Json() {
        assertError(http.get("/v2/models/mlp/versions/2"), 404, "has no version '2'");
        assertError(http.get("/v2/models/mlp/versions/2/ready"), 404, "has no version '2'");
        assertError(http.postJson("/v2/models/mlp/versions/0/infer", REQUEST), 404, "its only version is 1");
        assertError(http.get("/v2/models/mlp/versions/latest/probes"), 404, "has no version 'latest'");
        assertError(http.get("/v2/models/nope/versions/1"), 404, "unknown model 'nope'");
        assertError(http.postJson("/v2/models/nope/versions/1/infer", REQUEST), 404, "unknown model 'nope'");
        assertError(http.get("/v2/models/mlp/versions/1/nothing"), 404, "not found");
        assertError(http.get("/v2/models/corrupt/versions/1/ready"), 503, "not ready");
    }

    @Test
    void repositoryIndexListsEveryModelWithItsState() {
        for (String body : new String[]{"", "{}", "{\"ready\": false}"}) {
            HttpResponse<byte[]> r = http.postJson("/v2/repository/index", body);
            assertEquals(200, r.statusCode(), Http.text(r));
            JsonNode index = Http.json(r);
            assertEquals(2, index.size(), index.toString());
            JsonNode corrupt = index.get(0);
            assertEquals("corrupt", corrupt.get("name").asText());
            assertEquals("1", corrupt.get("version").asText());
            assertEquals("UNAVAILABLE", corrupt.get("state").asText());
            assertTrue(corrupt.get("reason").asText().contains("cannot load model.onnx"), corrupt.toString());
            JsonNode mlp = index.get(1);
            assertEquals("mlp", mlp.get("name").asText());
            assertEquals("1", mlp.get("version").asText());
            assertEquals("READY", mlp.get("state").asText());
            assertEquals("", mlp.get("reason").asText());
        }
        JsonNode ready = Http.json(http.postJson("/v2/repository/index", "{\"ready\": true}"));
        assertEquals(1, ready.size(), ready.toString());
        assertEquals("mlp", ready.get(0).get("name").asText());
    }

    @Test
    void malformedRepositoryIndexRequestsAre400() {
        assertError(http.postJson("/v2/repository/index", "{\"ready\": "), 400, "repository index request");
        assertError(http.postJson("/v2/repository/index", "{\"ready\": \"yes\"}"), 400, "'ready' is a boolean");
        assertError(http.postJson("/v2/repository/index", "[1]"), 400, "must be a JSON object");
        HttpResponse<byte[]> get = http.get("/v2/repository/index");
        assertError(get, 405, "method GET is not allowed on /v2/repository/index; allowed: POST");
        assertEquals("POST", get.headers().firstValue("Allow").orElse(""), Http.text(get));
    }
}
